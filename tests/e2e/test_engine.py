"""End-to-end tests of geoalarm-engine against a private Redis.

Tracks are written straight into geoalarm:positions (with explicit entry
ids, so two runs see identical entries) or sent by a real device through
geoalarm-ingest.  Expected alerts are worked out by hand from the fences
below and SPEC's rules.  The crash tests compare an interrupted run with
an uninterrupted one: same alerts, same ids, same order, nothing twice.
"""

import json
import os
import random
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BIN, PREFIX, Daemon, TcpDevice,  # noqa: E402
                     start_redis, wait_until)

POS = PREFIX + ":positions"
ALERTS = PREFIX + ":alerts"
ERRORS = PREFIX + ":errors"
FENCES = PREFIX + ":fences"
STATE = PREFIX + ":state"
T0 = 1732320000000


def square(fid, lon0, lat0, lon1, lat1, **props):
    """A rectangular Polygon Feature (counter-clockwise, closed)."""
    ring = [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1],
            [lon0, lat0]]
    return json.dumps({"type": "Feature", "id": fid, "properties": props,
                       "geometry": {"type": "Polygon",
                                    "coordinates": [ring]}})


# Three fences well apart; points below are far from every edge.
FENCE_SET = {
    "depot": square("depot", -114.10, 51.09, -114.08, 51.11,
                    name="Main depot"),
    "yard": square("yard", -114.00, 51.09, -113.98, 51.11),
    "school": square("school", -113.90, 51.09, -113.88, 51.11,
                     speed_limit=30),
}
OUTSIDE = (51.00, -114.20)
DEPOT = (51.10, -114.09)
YARD = (51.10, -113.99)
SCHOOL = (51.10, -113.89)

# A self-intersecting ring (a bow tie): GEOS says it is invalid.
BOWTIE = json.dumps({"type": "Feature", "properties": {}, "geometry": {
    "type": "Polygon",
    "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}})


def fields(device, t_ms, where=None, speed=None, valid=1, alarm=None):
    f = ["device", device, "proto", "gps103", "time", str(t_ms),
         "recv", str(t_ms), "valid", str(valid)]
    if where is not None:
        f += ["lat", "%.6f" % where[0], "lon", "%.6f" % where[1]]
    if speed is not None:
        f += ["speed", "%.1f" % speed]
    if alarm is not None:
        f += ["alarm", alarm]
    return f


class EngineCase(unittest.TestCase):
    def setUp(self):
        start_redis(self)
        self.daemons = []
        self.addCleanup(self.stop_all)
        self.seq = 0

    def stop_all(self):
        for d in self.daemons:
            if d.alive():
                d.proc.kill()
                d.proc.wait(timeout=10)
            d.logfile.close()

    def load_fences(self, fences=FENCE_SET):
        for fid, feature in fences.items():
            self.r.command("HSET", FENCES, fid, feature)
        self.r.command("INCR", FENCES + ":version")

    def rules(self, text):
        path = os.path.join(self.dir, "rules%d.lua" % len(self.daemons))
        with open(path, "w") as f:
            f.write(text)
        return path

    def engine(self, *extra, env=None, wait=True):
        argv = [os.path.join(BIN, "geoalarm-engine"), "--redis",
                self.redis.url, "--block", "100", "--log-level", "debug"]
        argv += list(extra)
        e = dict(os.environ)
        e.update(env or {})
        d = Daemon(argv, os.path.join(self.dir, "engine%d.log"
                                      % len(self.daemons)), env=e)
        self.daemons.append(d)
        if wait:
            d.wait_log(r"up to date, reading new positions")
        return d

    def xadd(self, *f):
        """Appends one position with the next explicit id; returns it."""
        self.seq += 1
        eid = "%d-0" % (T0 + self.seq)
        self.r.command("XADD", POS, eid, *f)
        return eid

    def alerts(self):
        return [json.loads(v["json"]) for _, v in self.r.xrange(ALERTS)]

    def wait_acked(self, timeout=20.0):
        """Waits until the group has delivered and acked every entry."""
        last = self.r.command("XREVRANGE", POS, "+", "-", "COUNT", "1")
        last_id = last[0][0] if last else "0-0"

        def done():
            for g in self.r.command("XINFO", "GROUPS", POS):
                g = dict(zip(g[0::2], g[1::2]))
                if g["name"] == "engine":
                    return g["pending"] == 0 and \
                        g["last-delivered-id"] == last_id
            return False
        wait_until(done, timeout, "every position acked")

    def wait_alerts(self, n, timeout=10.0):
        wait_until(lambda: self.r.xlen(ALERTS) >= n, timeout,
                   "%d alerts" % n)
        return self.alerts()


class TestTracks(EngineCase):
    def test_track_through_fences(self):
        self.load_fences()
        self.engine()
        sub = self.redis.client()
        self.addCleanup(sub.close)
        sub.subscribe(ALERTS)
        d = "359710049095095"
        ids = [self.xadd(*fields(d, T0, OUTSIDE, 10)),
               self.xadd(*fields(d, T0 + 10000, DEPOT, 10)),
               self.xadd(*fields(d, T0 + 20000, DEPOT, 10)),
               self.xadd(*fields(d, T0 + 30000, OUTSIDE, 10)),
               self.xadd(*fields(d, T0 + 40000, YARD, 10)),
               self.xadd(*fields(d, T0 + 50000, DEPOT, 10)),
               self.xadd(*fields(d, T0 + 60000, None, None,
                                 alarm="sos"))]
        want = [ids[1] + ":fence_enter:depot",
                ids[3] + ":fence_exit:depot",
                ids[4] + ":fence_enter:yard",
                ids[5] + ":fence_exit:yard",
                ids[5] + ":fence_enter:depot",
                ids[6] + ":sos"]
        got = self.wait_alerts(len(want))
        self.assertEqual([a["id"] for a in got], want)
        published = [json.loads(sub.read_message()[2]) for _ in want]
        self.assertEqual(published, got)

        enter = got[0]
        self.assertEqual(enter["type"], "fence_enter")
        self.assertEqual(enter["rule"], "fence_enter")
        self.assertEqual(enter["device"], d)
        self.assertEqual(enter["time"], T0 + 10000)
        self.assertEqual((enter["lat"], enter["lon"]), DEPOT)
        self.assertEqual(enter["fence"], "depot")
        self.assertEqual(enter["fence_name"], "Main depot")
        self.assertEqual(enter["position"], ids[1])
        self.assertNotIn("fence_name", got[2])
        # The SOS had no fix: it is placed at the last known one.
        self.assertEqual((got[5]["lat"], got[5]["lon"]), DEPOT)
        self.assertNotIn("fence", got[5])
        # The stream entry carries type and device beside the JSON.
        first = self.r.xrange(ALERTS)[0][1]
        self.assertEqual((first["type"], first["device"]),
                         ("fence_enter", d))
        self.wait_acked()
        self.assertIn(d, self.r.hgetall(STATE))

    def test_out_of_order_and_invalid_fixes_keep_fence_state(self):
        self.load_fences()
        self.engine()
        d = "dev-ooo"
        a = self.xadd(*fields(d, T0 + 100000, DEPOT, 5))
        # Older than the last fix, and an invalid fix: no exit.
        self.xadd(*fields(d, T0 + 50000, OUTSIDE, 5))
        self.xadd(*fields(d, T0 + 110000, OUTSIDE, 5, valid=0))
        b = self.xadd(*fields(d, T0 + 120000, OUTSIDE, 5))
        got = self.wait_alerts(2)
        self.wait_acked()
        self.assertEqual([x["id"] for x in self.alerts()],
                         [a + ":fence_enter:depot", b + ":fence_exit:depot"])
        self.assertEqual(len(got), 2)

    def test_overspeed_and_fence_limit_with_rules(self):
        self.load_fences()
        rules = self.rules("""
return {
  defaults = { speed_limit = 80, overspeed_duration = 30,
               overspeed_end = true },
  devices = { ["car2"] = { fences = {"yard"} } },
}
""")
        self.engine("--rules", rules)
        a = "car1"
        self.xadd(*fields(a, T0, OUTSIDE, 70))
        self.xadd(*fields(a, T0 + 10000, OUTSIDE, 85))
        self.xadd(*fields(a, T0 + 20000, OUTSIDE, 78))   # hysteresis band
        over = self.xadd(*fields(a, T0 + 40000, OUTSIDE, 92.4))
        self.xadd(*fields(a, T0 + 50000, OUTSIDE, 97))
        end = self.xadd(*fields(a, T0 + 70000, OUTSIDE, 60))
        # car2 ignores depot (not in its fences) but the school's 30
        # km/h limit applies to it anyway.
        b = "car2"
        self.xadd(*fields(b, T0, DEPOT, 10))
        self.xadd(*fields(b, T0 + 1000, SCHOOL, 45))
        # The school episode starts at T0+1 s and reaches 30 s here.
        third = self.xadd(*fields(b, T0 + 40000, SCHOOL, 45))
        self.wait_acked()
        got = {x["id"]: x for x in self.alerts()}
        self.assertEqual(sorted(got), sorted([
            over + ":overspeed", end + ":overspeed_end",
            third + ":overspeed"]))
        self.assertEqual(got[third + ":overspeed"]["message"],
                         "45 km/h over limit 30 for 39 s")
        self.assertEqual(got[third + ":overspeed"]["fence"], "school")
        o = got[over + ":overspeed"]
        self.assertEqual(o["message"], "92 km/h over limit 80 for 30 s")
        self.assertEqual(o["speed"], 92.4)
        e = got[end + ":overspeed_end"]
        self.assertEqual(e["max_speed"], 97)
        self.assertEqual(e["duration"], 60)


class TestCrashes(EngineCase):
    RULES = """
return {
  defaults = { speed_limit = 80, overspeed_duration = 20,
               overspeed_end = true, fence_dwell = 5 },
  rules = {
    tenth = function(pos, dev)
      dev.state.n = (dev.state.n or 0) + 1
      if dev.state.n % 10 == 0 then
        return { type = "tenth", message = "report " .. dev.state.n,
                 n = dev.state.n }
      end
    end,
  },
}
"""

    def track(self, devices=4, steps=60):
        """Loops through outside, depot, yard, school at varying speed."""
        places = [OUTSIDE, OUTSIDE, DEPOT, DEPOT, DEPOT, OUTSIDE, YARD,
                  YARD, SCHOOL, SCHOOL, OUTSIDE]
        rng = random.Random(7)
        for i in range(steps):
            for k in range(devices):
                where = places[(i + k) % len(places)]
                speed = rng.choice([20, 50, 85, 95, 120])
                alarm = "sos" if (i * devices + k) % 37 == 0 else None
                self.xadd(*fields("dev%d" % k, T0 + i * 4000, where, speed,
                                  alarm=alarm))

    def reference(self):
        """Alerts of an uninterrupted run over the same entries."""
        self.load_fences()
        self.track()
        self.engine("--rules", self.rules(self.RULES), "--from-start")
        self.wait_acked()
        return [v["json"] for _, v in self.r.xrange(ALERTS)]

    def fresh(self):
        """Drops every key: the next run starts from scratch."""
        for d in self.daemons:
            if d.alive():
                d.stop()
        self.r.command("FLUSHALL")
        self.seq = 0
        self.load_fences()
        self.track()

    def test_crash_before_exec_repeats_nothing_loses_nothing(self):
        ref = self.reference()
        self.assertGreater(len(ref), 20)
        self.assertEqual(len(set(ref)), len(ref))
        # The custom rule's dev.state counter is part of what must survive.
        self.assertTrue(any('"type":"tenth"' in a for a in ref))
        self.fresh()
        rules = self.rules(self.RULES)
        # Each run dies right before the EXEC of its n-th batch.
        for n in (1, 3, 2, 5):
            d = self.engine("--rules", rules, "--from-start", "--batch",
                            "7", wait=False,
                            env={"GEOALARM_TEST_CRASH_BEFORE_EXEC": str(n)})
            wait_until(lambda: not d.alive(), 20, "the crash hook")
            self.assertEqual(d.proc.returncode, 99)
        self.engine("--rules", rules, "--from-start", "--batch", "7")
        self.wait_acked()
        got = [v["json"] for _, v in self.r.xrange(ALERTS)]
        self.assertEqual(got, ref)

    def test_refused_transactions_lose_nothing(self):
        # A transaction Redis refuses as a whole (EXECABORT: here HSET is
        # not allowed to the engine's user) while the next batch has been
        # read and evaluated on top of it: both are dropped and redone from
        # what Redis holds, once HSET is allowed again.
        ref = self.reference()
        self.fresh()
        rules = self.rules(self.RULES)
        self.r.command("ACL", "SETUSER", "default", "-hset")
        d = self.engine("--rules", rules, "--from-start", "--batch", "7",
                        wait=False)
        d.wait_log(r"batch transaction: EXECABORT", timeout=10)
        self.assertEqual(self.r.xlen(ALERTS), 0)
        self.r.command("ACL", "SETUSER", "default", "+hset")
        self.wait_acked(30)
        got = [v["json"] for _, v in self.r.xrange(ALERTS)]
        self.assertEqual(got, ref)

    def group(self):
        for g in self.r.command("XINFO", "GROUPS", POS):
            g = dict(zip(g[0::2], g[1::2]))
            if g["name"] == "engine":
                return g
        return None

    def test_sigkill_anywhere_repeats_nothing_loses_nothing(self):
        ref = self.reference()
        self.fresh()
        total = self.r.xlen(POS)
        rules = self.rules(self.RULES)
        rng = random.Random(11)
        mid_run = 0
        for _ in range(5):
            # Batches of one: many transactions, so the kill lands at an
            # arbitrary point of one of them.
            d = self.engine("--rules", rules, "--from-start", "--batch", "1",
                            wait=False)
            target = rng.randint(10, total - 10)
            wait_until(lambda: ((self.group() or {}).get("entries-read")
                                or 0) >= target, 20, "progress",
                       interval=0.001)
            d.proc.kill()
            d.proc.wait(timeout=10)
            g = self.group()
            if g["lag"] != 0 or g["pending"] != 0:
                mid_run += 1
        self.assertGreater(mid_run, 0, "no kill landed mid-run")
        self.engine("--rules", rules, "--from-start", "--batch", "1")
        self.wait_acked(60)
        got = [v["json"] for _, v in self.r.xrange(ALERTS)]
        self.assertEqual(got, ref)

    def test_inside_before_crash_does_not_enter_again(self):
        self.load_fences()
        d = self.engine()
        enter = self.xadd(*fields("d1", T0, DEPOT, 5))
        self.wait_alerts(1)
        self.wait_acked()
        d.proc.kill()
        d.proc.wait(timeout=10)
        self.engine()
        self.xadd(*fields("d1", T0 + 10000, DEPOT, 5))
        leave = self.xadd(*fields("d1", T0 + 20000, OUTSIDE, 5))
        self.wait_acked()
        self.assertEqual([a["id"] for a in self.wait_alerts(2)],
                         [enter + ":fence_enter:depot",
                          leave + ":fence_exit:depot"])

    def test_trimmed_pending_entries_are_acked_and_skipped(self):
        self.load_fences()
        a = self.xadd(*fields("d1", T0, DEPOT, 5))
        b = self.xadd(*fields("d2", T0, DEPOT, 5))
        d = self.engine("--from-start", wait=False,
                        env={"GEOALARM_TEST_CRASH_BEFORE_EXEC": "1"})
        wait_until(lambda: not d.alive(), 10, "the crash hook")
        self.r.command("XDEL", POS, a)
        self.engine("--from-start")
        self.wait_acked()
        self.assertEqual([x["id"] for x in self.alerts()],
                         [b + ":fence_enter:depot"])


class TestReload(EngineCase):
    def test_invalid_fence_at_runtime_is_refused_others_fire(self):
        self.load_fences()
        self.engine()
        self.r.command("HSET", FENCES, "bowtie", BOWTIE)
        self.r.command("INCR", FENCES + ":version")
        self.r.command("PUBLISH", PREFIX + ":control", "fences")
        errs = wait_until(lambda: self.r.xrange(ERRORS), 5,
                          "an entry in P:errors")
        self.assertEqual(errs[0][1]["source"], "fence")
        self.assertIn("bowtie", errs[0][1]["message"])
        e = self.xadd(*fields("d1", T0, YARD, 5))
        self.assertEqual([x["id"] for x in self.wait_alerts(1)],
                         [e + ":fence_enter:yard"])

    def test_fence_change_seen_by_version_poll(self):
        self.load_fences({"depot": FENCE_SET["depot"]})
        self.engine()
        # No PUBLISH: the once-a-second version poll must notice.
        self.r.command("HSET", FENCES, "yard", FENCE_SET["yard"])
        self.r.command("INCR", FENCES + ":version")
        self.engine_log_wait(r"fences: 2 loaded")
        e = self.xadd(*fields("d1", T0, YARD, 5))
        self.assertEqual([x["id"] for x in self.wait_alerts(1)],
                         [e + ":fence_enter:yard"])

    def engine_log_wait(self, pattern):
        self.daemons[-1].wait_log(pattern, timeout=5)

    def test_broken_rules_on_sighup_keep_the_old_ones(self):
        self.load_fences()
        path = self.rules("return { defaults = { speed_limit = 50 } }\n")
        d = self.engine("--rules", path)
        with open(path, "w") as f:
            f.write("return { defaults = { speed_limit = \n")
        d.signal(signal.SIGHUP)
        errs = wait_until(lambda: self.r.xrange(ERRORS), 5,
                          "an entry in P:errors")
        self.assertEqual(errs[0][1]["source"], "rules")
        e = self.xadd(*fields("d1", T0, OUTSIDE, 60))
        self.assertEqual([x["id"] for x in self.wait_alerts(1)],
                         [e + ":overspeed"])


class TestIngest(EngineCase):
    def test_device_through_ingest(self):
        self.load_fences()
        self.engine()
        ingest = Daemon.ingest(self.redis.url, self.dir)
        self.daemons.append(ingest)
        dev = TcpDevice(ingest.port)
        imei = "359710049095095"
        # 5106.0000N 11405.4000W is 51.1, -114.09: inside the depot.
        dev.send(b"##,imei:" + imei.encode() + b",A;")
        dev.expect(b"LOAD")
        dev.send(b"imei:" + imei.encode() + b",tracker,181203020001,,F,"
                 b"020001.000,A,5106.0000,N,11405.4000,W,0.00,0;")
        got = self.wait_alerts(1)
        self.assertEqual(got[0]["type"], "fence_enter")
        self.assertEqual(got[0]["device"], imei)
        self.assertEqual(got[0]["fence"], "depot")
        self.assertAlmostEqual(got[0]["lat"], 51.1, places=6)
        self.assertAlmostEqual(got[0]["lon"], -114.09, places=6)
        dev.close()


if __name__ == "__main__":
    unittest.main()
