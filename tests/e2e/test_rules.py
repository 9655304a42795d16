"""End-to-end tests of Lua rules in geoalarm-engine against a private Redis.

Positions are written straight into geoalarm:positions, with the fields
ingest writes, and the alerts, errors and commands the engine produces are
read back from Redis.  Expected alert sequences are worked out by hand from
SPEC's rules and the helpers' contracts (rules/helpers.h); the comments
beside each position give the reasoning.

    (a) sandbox escapes are refused and reported while other devices go on
    (b) helpers combined with built-in settings: exact alert sequences
    (c) dev.state survives SIGKILL + restart, SIGHUP and PUBLISH reload
    (d) a broken reload keeps the old rules and says why in P:errors
    (e) dev.command queues P:commands entries
    (f) geoalarm-engine --check on good and bad files
"""

import json
import os
import re
import signal
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_engine as te  # noqa: E402
from harness import BIN, PREFIX, run, tempdir, wait_until  # noqa: E402

POS = PREFIX + ":positions"
ALERTS = PREFIX + ":alerts"
ERRORS = PREFIX + ":errors"
COMMANDS = PREFIX + ":commands"
CONTROL = PREFIX + ":control"
T0 = te.T0                      # 2024-11-23 00:00:00 UTC, a Saturday
S0 = T0 // 1000                 # the same in seconds (pos.time)


def fields(device, t, where=None, speed=None, alarm=None, **extra):
    """A position t seconds after T0, as ingest writes it."""
    f = te.fields(device, T0 + t * 1000, where, speed, alarm=alarm)
    for k, v in extra.items():
        f += [k, str(v)]
    return f


class RulesCase(te.EngineCase):
    def ids(self, got):
        return [a["id"] for a in got]

    def errors(self):
        return [v for _, v in self.r.xrange(ERRORS)]

    def wait_errors(self, n, timeout=10.0):
        wait_until(lambda: self.r.xlen(ERRORS) >= n, timeout,
                   "%d entries in P:errors" % n)
        return self.errors()

    def wait_log_count(self, d, pattern, n, timeout=10.0):
        rx = re.compile(pattern)
        wait_until(lambda: len(rx.findall(d.log())) >= n, timeout,
                   "%d log lines %r" % (n, pattern))

    def run_track(self, device, track):
        """XADDs (t, fields kwargs) for device; returns the entry ids."""
        return [self.xadd(*fields(device, t, **kw)) for t, kw in track]


# ---- (a) escapes -----------------------------------------------------------

# name -> (Lua statement run when pos.attack == name, what the error says)
ESCAPES = [
    ("io_open", "return io.open('/etc/passwd')", r"global 'io'"),
    ("os_execute", "os.execute('touch /tmp/geoalarm-pwned')",
     r"field 'execute'"),
    ("require_io", "local io = require('io')", r"global 'require'"),
    ("load_code", "load('return 1')()", r"global 'load'"),
    ("rep_1gib", "local s = string.rep('x', 1 << 30)", r"out of memory"),
    ("loop", "while true do end", r"instruction budget of 1000000 exceeded"),
    ("pcall_loop", "pcall(function() while true do end end) "
     "return { type = 'swallowed' }", r"instruction budget"),
    ("recursion", "local function f(n) return 1 + f(n + 1) end f(1)",
     r"stack overflow|instruction budget"),
    ("pos_metatable", "setmetatable(pos, { __index = function() "
     "return 'evil' end })", r"protected metatable"),
    ("pos_write", "pos.speed = 0", r"read-only"),
    ("pattern", "string.rep('a', 50000):find(string.rep('a*', 20) .. 'b')",
     r"pattern too complex"),
]


class TestEscapes(RulesCase):
    def rules_text(self):
        """The rules file, and the line of each escape's statement."""
        lines = ["return {", "  devices = { evil = { rules = {"]
        where = {}
        for name, stmt, _ in ESCAPES:
            lines.append("    %s = function(pos, dev)" % name)
            lines.append("      if pos.attack == '%s' then" % name)
            where[name] = len(lines) + 1
            lines.append("        " + stmt)
            lines.append("      end")
            lines.append("    end,")
        lines += ["  } } },",
                  "  rules = {",
                  "    tick = function(pos, dev)",
                  "      if pos.tick ~= nil then",
                  "        return { type = 'tick', n = pos.tick,",
                  "                 message = string.format('%s %s', "
                  "dev.id, pos.speed) }",
                  "      end",
                  "    end,",
                  "  },",
                  "}"]
        return "\n".join(lines) + "\n", where

    def test_each_escape_refused_reported_others_served(self):
        text, where = self.rules_text()
        path = self.rules(text)
        d = self.engine("--rules", path)
        want_ids = []
        for i, (name, _, _) in enumerate(ESCAPES):
            bad = self.xadd(*fields("evil", i * 10, speed=10 + i,
                                    attack=name, tick=i))
            good = self.xadd(*fields("good", i * 10, speed=20 + i, tick=i))
            # evil's own tick still runs: one rule failing leaves the
            # others of the device alone.
            want_ids += [bad + ":tick", good + ":tick"]
        self.wait_acked(60)
        got = self.alerts()
        self.assertEqual(self.ids(got), want_ids)
        self.assertEqual([(a["device"], a["n"], a["message"]) for a in got],
                         [(dev, i, "%s %.1f" % (dev, base + i))
                          for i in range(len(ESCAPES))
                          for dev, base in (("evil", 10), ("good", 20))])
        errs = self.errors()
        self.assertEqual(len(errs), len(ESCAPES), errs)
        for (name, _, why), e in zip(ESCAPES, errs):
            self.assertEqual(e["source"], "rules")
            self.assertEqual(e["device"], "evil")
            self.assertTrue(e["message"].startswith("rule '%s': " % name),
                            e["message"])
            self.assertRegex(e["message"], why)
            if name != "rep_1gib":      # out of memory has no line
                self.assertIn("%s:%d:" % (path, where[name]), e["message"])
        self.assertTrue(d.alive())
        self.assertFalse(os.path.exists("/tmp/geoalarm-pwned"))
        # Still serving both devices afterwards.
        a = self.xadd(*fields("evil", 500, speed=1, tick=99))
        b = self.xadd(*fields("good", 500, speed=1, tick=99))
        got = self.wait_alerts(len(want_ids) + 2)
        self.assertEqual(self.ids(got)[-2:], [a + ":tick", b + ":tick"])


# ---- (b) helpers with built-in settings ------------------------------------

class TestHelpersWithBuiltins(RulesCase):
    def test_every_overspeed_hysteresis_end_cooldown(self):
        path = self.rules("""
return {
  defaults = { speed_limit = 80, overspeed_duration = 20,
               overspeed_hysteresis = 10, overspeed_end = true,
               cooldown = 60 },
  rules = {
    ping = function(pos, dev)
      if every(dev, pos, "p", 30) then
        return { type = "ping", n = pos.n }
      end
    end,
  },
}
""")
        self.engine("--rules", path)
        def at(t, speed, n):
            return t, dict(where=te.OUTSIDE, speed=speed, n=n)
        ids = self.run_track("car", [
            at(0, 50, 1),       # ping: every's first call
            at(10, 85, 2),      # episode starts at 10
            at(30, 90, 3),      # overspeed (20 s); ping muted by the 60 s
                                # cooldown (last ping at 0)
            at(40, 75, 4),      # 70 < 75 <= 80: the episode goes on
            at(60, 95, 5),      # ping (60 - 0 >= 60); max 95
            at(70, 60, 6),      # 60 <= 70: end, max 95, 60 s
            at(80, 85, 7),      # a new episode starts at 80
            at(100, 85, 8),     # overspeed (70 s after the one at 30);
                                # ping muted (40 s after 60)
            at(110, 50, 9),     # end muted (40 s after the end at 70)
            at(130, 50, 10),    # ping (70 s after the kept one at 60)
        ])
        self.wait_acked()
        got = self.alerts()
        self.assertEqual(self.ids(got), [
            ids[0] + ":ping", ids[2] + ":overspeed", ids[4] + ":ping",
            ids[5] + ":overspeed_end", ids[7] + ":overspeed",
            ids[9] + ":ping"])
        self.assertEqual([(a["type"], a["rule"]) for a in got], [
            ("ping", "ping"), ("overspeed", "overspeed"), ("ping", "ping"),
            ("overspeed_end", "overspeed_end"), ("overspeed", "overspeed"),
            ("ping", "ping")])
        self.assertEqual([got[i]["n"] for i in (0, 2, 5)], [1, 5, 10])
        self.assertEqual(got[1]["message"], "90 km/h over limit 80 for 20 s")
        self.assertEqual(got[3]["message"],
                         "overspeed ended: max 95 km/h over limit 80 for 60 s")
        self.assertEqual((got[3]["max_speed"], got[3]["duration"]), (95, 60))
        self.assertEqual(got[4]["message"], "85 km/h over limit 80 for 20 s")
        self.assertEqual(got[0]["time"], T0)
        self.assertEqual(got[2]["speed"], 95)

    def test_held_edge_within_hours_fences_dwell(self):
        self.load_fences()
        path = self.rules("""
return {
  defaults = { fences = { "depot" }, fence_dwell = 30 },
  rules = {
    hours = function(pos, dev)
      if #pos.entered > 0 and within_hours(pos.time, "sat", "00:00", "06:00") then
        return { type = "night_entry", fence = pos.entered[1] }
      end
    end,
    stay = function(pos, dev)
      local in_depot = false
      for _, id in ipairs(pos.inside) do
        if id == "depot" then in_depot = true end
      end
      local long, secs = held(dev, pos, "depot", in_depot, 60)
      local e = edge(dev, "depot", long)
      if e == "start" then return { type = "parked", secs = secs } end
      if e == "end" then return { type = "left_park" } end
    end,
  },
}
""")
        self.engine("--rules", path)
        ids = self.run_track("van", [
            (0, dict(where=te.OUTSIDE)),
            (10, dict(where=te.DEPOT)),    # crossing pending since 10
            (20, dict(where=te.OUTSIDE)),  # back before 30 s: jitter
            (30, dict(where=te.DEPOT)),    # pending since 30
            (50, dict(where=te.DEPOT)),    # 20 s: not yet
            (60, dict(where=te.DEPOT)),    # 30 s: enter; a Saturday
                                           # 00:01: night_entry; held
                                           # starts (0 s)
            (100, dict(where=te.DEPOT)),   # held 40 s
            (120, dict(where=te.DEPOT)),   # held 60 s: parked
            (130, dict(where=te.YARD)),    # yard is not watched; exit
                                           # pending, still inside
            (170, dict(where=te.YARD)),    # 40 s: exit; held ends: left
        ])
        self.wait_acked()
        got = self.alerts()
        self.assertEqual(self.ids(got), [
            ids[5] + ":fence_enter:depot", ids[5] + ":hours",
            ids[7] + ":stay", ids[9] + ":fence_exit:depot",
            ids[9] + ":stay"])
        self.assertEqual([a["type"] for a in got], [
            "fence_enter", "night_entry", "parked", "fence_exit",
            "left_park"])
        self.assertEqual([a["rule"] for a in got], [
            "fence_enter", "hours", "stay", "fence_exit", "stay"])
        self.assertEqual((got[1]["fence"], got[1]["fence_name"]),
                         ("depot", "Main depot"))
        self.assertEqual(got[2]["secs"], 60)
        self.assertEqual((got[2]["lat"], got[2]["lon"]), te.DEPOT)
        self.assertNotIn("secs", got[4])

    def test_within_hours_outside_the_window(self):
        self.load_fences()
        path = self.rules("""
return {
  rules = {
    hours = function(pos, dev)
      if #pos.entered > 0 and within_hours(pos.time, "mon-fri", "08:00", "18:00", "+02:00") then
        return { type = "work_entry" }
      end
    end,
  },
}
""")
        self.engine("--rules", path)
        # Saturday 00:00 UTC: no.  Monday 2024-11-25 07:30 UTC is 09:30
        # at +02:00: yes.  16:30 UTC is 18:30 there: no.
        mon = 2 * 86400
        ids = self.run_track("bus", [
            (0, dict(where=te.DEPOT)),
            (10, dict(where=te.OUTSIDE)),
            (mon + 7 * 3600 + 1800, dict(where=te.DEPOT)),
            (mon + 7 * 3600 + 1900, dict(where=te.OUTSIDE)),
            (mon + 16 * 3600 + 1800, dict(where=te.DEPOT)),
        ])
        self.wait_acked()
        self.assertEqual(self.ids(self.alerts()), [
            ids[0] + ":fence_enter:depot", ids[1] + ":fence_exit:depot",
            ids[2] + ":fence_enter:depot", ids[2] + ":hours",
            ids[3] + ":fence_exit:depot", ids[4] + ":fence_enter:depot"])

    def test_latch_forget_alarms_cooldown_per_type(self):
        path = self.rules("""
return {
  defaults = { cooldown = 100 },
  rules = {
    hot = function(pos, dev)
      if pos.temp1 == nil then return nil end
      if pos.temp1 < 5 then forget(dev, "hot") end
      if latch(dev, "hot", pos.temp1 > 30, pos.temp1 < 20) then
        return { type = "hot", temp = pos.temp1, message = "hot " .. pos.temp1 }
      end
    end,
  },
}
""")
        self.engine("--rules", path)
        ids = self.run_track("box", [
            (0, dict(temp1=25)),
            (10, dict(temp1=35, alarm="sos")),      # sos; hot fires
            (20, dict(temp1=40)),                   # latched
            (30, dict(temp1=15)),                   # re-armed (< 20)
            (40, dict(temp1=33, alarm="sos,power_cut")),
            # sos muted (30 s < 100), power_cut kept, hot fires but is
            # muted (30 s after the hot at 10)
            (150, dict(temp1=36)),                  # latched since 40
            (160, dict(temp1=3)),                   # forget: unlatched
            (170, dict(temp1=31, alarm="sos")),     # sos (160 s), hot
                                                    # (160 s since 10)
        ])
        self.wait_acked()
        got = self.alerts()
        self.assertEqual(self.ids(got), [
            ids[1] + ":sos", ids[1] + ":hot", ids[4] + ":power_cut",
            ids[7] + ":sos", ids[7] + ":hot"])
        self.assertEqual([(a["type"], a.get("temp"), a.get("message"))
                          for a in got], [
            ("sos", None, "SOS alarm"), ("hot", 35, "hot 35"),
            ("power_cut", None, "external power cut"),
            ("sos", None, "SOS alarm"), ("hot", 31, "hot 31")])

    def test_device_rules_override_and_several_alerts(self):
        path = self.rules("""
return {
  defaults = { speed_limit = 100 },
  devices = {
    a = { speed_limit = 50, rules = { pair = function(pos, dev)
            return { { type = "one", v = dev.settings.speed_limit },
                     { type = "two", m = "x" } }
          end, off = false } },
  },
  rules = {
    pair = function(pos, dev) return { type = "shared", v = dev.settings.speed_limit } end,
    off = function(pos, dev) return { type = "off" } end,
  },
}
""")
        self.engine("--rules", path)
        x = self.xadd(*fields("a", 0, where=te.OUTSIDE, speed=60))
        y = self.xadd(*fields("b", 0, where=te.OUTSIDE, speed=60))
        self.wait_acked()
        got = self.alerts()
        self.assertEqual(self.ids(got), [
            x + ":overspeed", x + ":pair:1", x + ":pair:2",
            y + ":off", y + ":pair"])
        self.assertEqual([(a["type"], a.get("v")) for a in got], [
            ("overspeed", None), ("one", 50), ("two", None), ("off", None),
            ("shared", 100)])
        self.assertEqual(got[2]["m"], "x")


# ---- (c) dev.state across restarts and reloads -----------------------------

COUNTER = """
return {
  rules = {
    count = function(pos, dev)
      dev.state.n = (dev.state.n or 0) + 1
      dev.state.seen = dev.state.seen or {}
      dev.state.seen[#dev.state.seen + 1] = pos.time - %d
      return { type = "%s", n = dev.state.n, seen = #dev.state.seen }
    end,
  },
}
"""


class TestStatePersists(RulesCase):
    def test_state_survives_sigkill_sighup_and_publish_reload(self):
        path = self.rules(COUNTER % (S0, "count"))
        d = self.engine("--rules", path)
        self.xadd(*fields("c1", 0))
        self.xadd(*fields("c1", 1))
        self.xadd(*fields("c2", 1))
        self.xadd(*fields("c1", 2))
        self.wait_acked()
        d.proc.kill()
        d.proc.wait(timeout=10)
        d = self.engine("--rules", path)
        self.xadd(*fields("c1", 3))
        self.wait_acked()
        # A new version of the rule under the same name keeps the state.
        with open(path, "w") as f:
            f.write(COUNTER % (S0, "count_v2"))
        d.signal(signal.SIGHUP)
        self.wait_log_count(d, r"rules: reloaded", 1)
        self.xadd(*fields("c1", 4))
        self.xadd(*fields("c2", 4))
        self.wait_acked()
        with open(path, "w") as f:
            f.write(COUNTER % (S0, "count_v3"))
        self.r.command("PUBLISH", CONTROL, "reload")
        self.wait_log_count(d, r"rules: reloaded", 2)
        self.xadd(*fields("c1", 5))
        self.wait_acked()
        got = [(a["device"], a["type"], a["n"], a["seen"])
               for a in self.alerts()]
        self.assertEqual(got, [
            ("c1", "count", 1, 1), ("c1", "count", 2, 2),
            ("c2", "count", 1, 1), ("c1", "count", 3, 3),
            ("c1", "count", 4, 4),
            ("c1", "count_v2", 5, 5), ("c2", "count_v2", 2, 2),
            ("c1", "count_v3", 6, 6)])
        self.assertEqual(self.errors(), [])
        # What P:state holds for c1: the rule's table, as JSON text.
        st = json.loads(self.r.command("HGET", PREFIX + ":state", "c1"))
        self.assertEqual(json.loads(st["lua"]),
                         {"count": {"n": 6, "seen": [0, 1, 2, 3, 4, 5]}})


# ---- (d) broken reloads ----------------------------------------------------

class TestBrokenReload(RulesCase):
    def test_broken_files_keep_the_old_rules(self):
        path = self.rules(COUNTER % (S0, "count"))
        d = self.engine("--rules", path)
        self.xadd(*fields("c1", 0))
        self.wait_acked()
        # A syntax error on line 3.
        with open(path, "w") as f:
            f.write("return {\n  rules = {\n    x = function(pos dev) end,\n"
                    "  },\n}\n")
        d.signal(signal.SIGHUP)
        errs = self.wait_errors(1)
        self.assertEqual((errs[0]["source"], errs[0]["device"]),
                         ("rules", ""))
        self.assertIn("%s:3:" % path, errs[0]["message"])
        # A rule that fails the self-check (line 4), through PUBLISH.
        with open(path, "w") as f:
            f.write("return {\n  rules = {\n    x = function(pos, dev)\n"
                    "      return pos.speed + nil\n    end,\n  },\n}\n")
        self.r.command("PUBLISH", CONTROL, "reload")
        errs = self.wait_errors(2)
        self.assertIn("%s:4:" % path, errs[1]["message"])
        self.assertIn("self-check", errs[1]["message"])
        self.assertIn("rule 'x'", errs[1]["message"])
        # A file that does not return a table.
        with open(path, "w") as f:
            f.write("return 42\n")
        d.signal(signal.SIGHUP)
        errs = self.wait_errors(3)
        self.assertIn("must return a table", errs[2]["message"])
        self.assertTrue(d.alive())
        # The old rule still runs, with its state.
        self.xadd(*fields("c1", 1))
        self.wait_acked()
        self.assertEqual([(a["type"], a["n"]) for a in self.alerts()],
                         [("count", 1), ("count", 2)])
        self.assertNotIn("rules: reloaded", d.log())


# ---- (e) dev.command -------------------------------------------------------

class TestCommands(RulesCase):
    def test_commands_queued_and_rolled_back_with_their_rule(self):
        path = self.rules("""
return {
  rules = {
    stop = function(pos, dev)
      if pos.alarm == "tampering" then
        dev.command("engine_stop")
        dev.command("position_periodic", "30")
        dev.command("custom", "hello, " .. dev.id)
        return { type = "stopped" }
      end
    end,
    wrong = function(pos, dev)
      if pos.alarm == "tampering" then
        dev.command("arm")
        dev.command("self_destruct")
      end
    end,
  },
}
""")
        self.engine("--rules", path)
        self.xadd(*fields("t1", 0, speed=5))
        e = self.xadd(*fields("t1", 10, speed=5, alarm="tampering"))
        self.wait_acked()
        cmds = [v for _, v in self.r.xrange(COMMANDS)]
        self.assertEqual(cmds, [
            {"device": "t1", "command": "engine_stop"},
            {"device": "t1", "command": "position_periodic", "param": "30"},
            {"device": "t1", "command": "custom", "param": "hello, t1"}])
        self.assertEqual(self.ids(self.alerts()), [e + ":stop"])
        # wrong's arm went with its failure.
        errs = self.errors()
        self.assertEqual(len(errs), 1)
        self.assertIn("rule 'wrong'", errs[0]["message"])
        self.assertIn("self_destruct: unknown command", errs[0]["message"])


# ---- (f) --check -----------------------------------------------------------

class TestCheck(unittest.TestCase):
    def setUp(self):
        self.dir = tempdir(self)

    def check(self, text):
        path = os.path.join(self.dir, "r%d.lua" % len(os.listdir(self.dir)))
        with open(path, "w") as f:
            f.write(text)
        rc, out, err = run([os.path.join(BIN, "geoalarm-engine"), "--check",
                            path])
        return path, rc, out + err

    def test_good_file(self):
        path, rc, out = self.check(COUNTER % (S0, "count"))
        self.assertEqual(rc, 0, out)
        self.assertEqual(out, "%s: ok (0 devices, 1 rules)\n" % path)

    def test_example_file(self):
        path = os.path.join(te.__file__.rsplit("/tests/", 1)[0],
                            "rules.example.lua")
        rc, out, err = run([os.path.join(BIN, "geoalarm-engine"), "--check",
                            path])
        self.assertEqual(rc, 0, out + err)
        self.assertIn(": ok (2 devices, ", out)

    def test_syntax_error(self):
        path, rc, out = self.check(
            "return {\n  rules = {\n"
            "    a = function(pos) return { type = 'x' end,\n  },\n}\n")
        self.assertNotEqual(rc, 0)
        self.assertIn("%s:3:" % path, out)

    def test_runtime_error_in_a_rule(self):
        path, rc, out = self.check("return {\n  devices = { d1 = {} },\n"
                                   "  rules = {\n    a = function(pos, dev)\n"
                                   "      local t = nil\n"
                                   "      return t.x\n    end,\n  },\n}\n")
        self.assertNotEqual(rc, 0)
        self.assertIn("%s:6:" % path, out)
        self.assertIn("rule 'a'", out)
        self.assertIn("attempt to index a nil value", out)

    def test_escape_is_a_runtime_error(self):
        path, rc, out = self.check("return { rules = {\n"
                                   "  a = function(pos, dev)\n"
                                   "    os.execute('true')\n  end } }\n")
        self.assertNotEqual(rc, 0)
        self.assertIn("%s:3:" % path, out)


if __name__ == "__main__":
    unittest.main()
