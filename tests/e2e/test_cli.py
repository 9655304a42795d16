"""geoalarm (the CLI) end to end: the real binary against a private Redis.

Expected values are written here from SPEC.md ("geoalarm (CLI)", "Fences",
"Common flags"), not taken from the CLI's own output: stored Features are
compared as parsed JSON with the documents this file writes, times with
what Python computes.
"""

import calendar
import glob
import json
import os
import select
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import BIN, run, start_redis, tempdir, wait_until  # noqa: E402

TOP = harness.TOP
P = harness.PREFIX
GA = os.path.join(BIN, "geoalarm")

SQUARE = [[[11.0, 48.0], [11.01, 48.0], [11.01, 48.01], [11.0, 48.01],
           [11.0, 48.0]]]


def feature(fid, geometry, **props):
    return {"type": "Feature", "id": fid, "properties": props,
            "geometry": geometry}


def polygon(rings):
    return {"type": "Polygon", "coordinates": rings}


# Three valid fences (a polygon with a hole, a circle, a corridor) and one
# whose ring crosses itself (a bow tie, crossing at (11.005, 48.005)).
VALID = [
    feature("yard", polygon([SQUARE[0], [[11.004, 48.004], [11.004, 48.006],
                                         [11.006, 48.006], [11.006, 48.004],
                                         [11.004, 48.004]]]),
            name="Yard", speed_limit=20),
    feature("centre", {"type": "Point", "coordinates": [11.5755, 48.1374]},
            name="Centre", radius=2500, speed_limit=50),
    feature("road", {"type": "LineString",
                     "coordinates": [[11.6085, 48.1835], [11.618, 48.213]]},
            width=80),
]
BOWTIE = feature("bowtie", polygon([[[11.0, 48.0], [11.01, 48.01],
                                     [11.01, 48.0], [11.0, 48.01],
                                     [11.0, 48.0]]]))


def collection(features):
    return {"type": "FeatureCollection", "features": features}


class CliCase(unittest.TestCase):
    """A fresh redis-server per test; GEOALARM_REDIS points at it."""

    def setUp(self):
        if not os.access(GA, os.X_OK):
            self.skipTest("bin/geoalarm not built")
        start_redis(self)
        self.env = dict(os.environ, GEOALARM_REDIS=self.redis.url)
        self.procs = []
        self.addCleanup(self._stop_procs)

    def _stop_procs(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=10)
            for f in (p.stdout, p.stderr):
                if f is not None:
                    f.close()

    def ga(self, *args, stdin=b"", timeout=20.0):
        """Runs geoalarm to completion: (status, stdout, stderr)."""
        p = subprocess.run([GA] + list(args), input=stdin,
                           capture_output=True, timeout=timeout,
                           env=self.env)
        return (p.returncode, p.stdout.decode("utf-8", "replace"),
                p.stderr.decode("utf-8", "replace"))

    def ga_ok(self, *args, **kw):
        rc, out, err = self.ga(*args, **kw)
        self.assertEqual(rc, 0, "geoalarm %s: %s" % (" ".join(args), err))
        return out

    def write(self, name, doc):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(doc if isinstance(doc, str) else json.dumps(doc, indent=2))
        return path

    def stored(self):
        """{id: parsed Feature} as in P:fences."""
        return {k: json.loads(v)
                for k, v in self.r.hgetall(P + ":fences").items()}

    def version(self):
        v = self.r.command("GET", P + ":fences:version")
        return None if v is None else int(v)

    def control_listener(self):
        """A client subscribed to P:control."""
        c = self.redis.client()
        self.addCleanup(c.close)
        c.subscribe(P + ":control")
        return c

    def assert_one_line(self, err):
        self.assertEqual(err.count("\n"), 1, repr(err))

    def follow(self, *args, seam_ms=0):
        """geoalarm alerts ... in the background, subscribed when this
        returns; seam_ms is a pause between its subscription and its
        replay."""
        before = self.numsub()
        env = dict(self.env, GEOALARM_TEST_SEAM_DELAY_MS=str(seam_ms))
        p = subprocess.Popen([GA, "alerts"] + list(args), env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.procs.append(p)
        wait_until(lambda: self.numsub() > before or p.poll() is not None,
                   10, "geoalarm alerts to subscribe")
        if p.poll() is not None:
            self.fail("geoalarm alerts exited %d: %s"
                      % (p.returncode, p.stderr.read().decode()))
        return p

    def numsub(self):
        try:
            c = self.redis.client(timeout=1.0)
        except OSError:
            return 0
        try:
            return int(c.command("PUBSUB", "NUMSUB", P + ":alerts")[1])
        finally:
            c.close()

    def wait_lines(self, p, n, timeout=15):
        """Reads the follower's output until it has printed n lines (or
        the deadline passes); the lines are kept for stop()."""
        got = getattr(p, "lines_read", b"")
        deadline = time.monotonic() + timeout
        while got.count(b"\n") < n and time.monotonic() < deadline:
            ready, _, _ = select.select([p.stdout], [], [], 0.1)
            if ready:
                chunk = os.read(p.stdout.fileno(), 65536)
                if not chunk:
                    break
                got += chunk
        p.lines_read = got

    def stop(self, p):
        """Ends a follower (SIGTERM): (stdout lines, stderr)."""
        p.terminate()
        out, err = p.communicate(timeout=10)
        out = getattr(p, "lines_read", b"") + out
        return out.decode().splitlines(), err.decode()

    def emit(self, payload, stream=True, publish=True):
        """What the engine does for one alert: XADD and PUBLISH, in one
        transaction."""
        text = json.dumps(payload, separators=(",", ":"))
        c = self.r
        c.command("MULTI")
        if stream:
            c.command("XADD", P + ":alerts", "*", "type", payload["type"],
                      "device", payload["device"], "json", text)
        if publish:
            c.command("PUBLISH", P + ":alerts", text)
        c.command("EXEC")
        return text


def alert(n, typ="overspeed", device="359710049095095"):
    return {"id": "%d-0:%s" % (1732320000000 + n, typ), "type": typ,
            "device": device, "time": 1732320000000 + n, "lat": 48.1,
            "lon": 11.5, "rule": typ, "message": "alert %d" % n}


# ---- fences -----------------------------------------------------------------

class FenceImport(CliCase):

    def test_one_invalid_fence_stores_none(self):
        path = self.write("f.geojson", collection(VALID[:2] + [BOWTIE] +
                                                  VALID[2:]))
        ctl = self.control_listener()
        rc, out, err = self.ga("fence", "import", path)
        self.assertEqual(rc, 1)
        self.assert_one_line(err)
        self.assertIn("fence 'bowtie'", err)
        self.assertIn("Self-intersection", err)
        self.assertEqual(self.stored(), {})
        self.assertIsNone(self.version())
        with self.assertRaises(harness.Timeout):
            ctl.read_message(timeout=0.3)

    def test_reasons(self):
        bad = [
            # (document, words the message must hold)
            (feature("open", polygon([[[11, 48], [11.01, 48], [11.01, 48.01],
                                       [11, 48.01]]])), ["fence 'open'",
                                                         "not closed"]),
            (feature("north", polygon([[[11, 48], [11.01, 48], [11.01, 91],
                                        [11, 48]]])), ["fence 'north'",
                                                       "latitude"]),
            (feature("dot", {"type": "Point", "coordinates": [11, 48]}),
             ["fence 'dot'", "radius"]),
            (feature("lane", {"type": "LineString",
                              "coordinates": [[11, 48], [11.1, 48.1]]}),
             ["fence 'lane'", "width"]),
        ]
        for doc, words in bad:
            path = self.write("bad.geojson", collection(VALID + [doc]))
            rc, _, err = self.ga("fence", "import", path)
            self.assertEqual(rc, 1, err)
            self.assert_one_line(err)
            for w in words:
                self.assertIn(w, err)
        # Broken JSON: the third line's fourth character is the stray
        # comma (jansson counts columns from 1 and reports the token).
        path = self.write("broken.geojson",
                          '{"type": "FeatureCollection",\n'
                          '"features": [\n'
                          '{}, ,]}\n')
        rc, _, err = self.ga("fence", "import", path)
        self.assertEqual(rc, 1)
        self.assertIn("line 3", err)
        self.assertIn("column", err)
        self.assertEqual(self.stored(), {})

    def test_valid_file_stores_all_at_once(self):
        path = self.write("f.geojson", collection(VALID))
        ctl = self.control_listener()
        out = self.ga_ok("fence", "import", path)
        self.assertIn("3 fences", out)
        self.assertEqual(self.stored(), {f["id"]: f for f in VALID})
        self.assertEqual(self.version(), 1)
        self.assertEqual(ctl.read_message(), ["message", P + ":control",
                                              "fences"])
        with self.assertRaises(harness.Timeout):
            ctl.read_message(timeout=0.3)

    def test_single_feature_and_missing_file(self):
        self.ga_ok("fence", "import", self.write("one.json", VALID[1]))
        self.assertEqual(self.stored(), {"centre": VALID[1]})
        rc, _, err = self.ga("fence", "import", "/nonexistent.geojson")
        self.assertEqual(rc, 1)
        self.assert_one_line(err)
        self.assertIn("/nonexistent.geojson", err)

    def test_export_import_round_trip(self):
        self.ga_ok("fence", "import",
                   os.path.join(TOP, "fences.example.geojson"))
        first = self.stored()
        exported = self.ga_ok("fence", "export")
        doc = json.loads(exported)
        self.assertEqual(doc["type"], "FeatureCollection")
        # The export holds the example file's fences, as written there.
        with open(os.path.join(TOP, "fences.example.geojson")) as f:
            source = {x["id"]: x for x in json.load(f)["features"]}
        self.assertEqual({x["id"]: x for x in doc["features"]}, source)

        self.r.command("DEL", P + ":fences")
        self.ga_ok("fence", "import", self.write("exp.geojson", exported))
        self.assertEqual(self.stored(), first)
        self.assertEqual(self.ga_ok("fence", "export"), exported)
        self.assertEqual(self.version(), 2)

    def test_ls(self):
        self.ga_ok("fence", "import", self.write("f.geojson",
                                                 collection(VALID)))
        lines = self.ga_ok("fence", "ls").splitlines()
        self.assertEqual(lines[0].split(), ["ID", "KIND", "NAME", "SPEED",
                                            "LIMIT"])
        rows = [ln.split() for ln in lines[1:]]
        self.assertEqual(rows, [
            ["centre", "circle", "Centre", "50", "km/h"],
            ["road", "corridor", "-", "-"],
            ["yard", "polygon", "Yard", "20", "km/h"],
        ])
        # Aligned: every row's kind starts in the same column.
        col = lines[0].index("KIND")
        for ln in lines[1:]:
            self.assertNotEqual(ln[col], " ")
            self.assertEqual(ln[col - 1], " ")


class FenceSetGetRm(CliCase):

    def test_set_wkt_then_get(self):
        ctl = self.control_listener()
        out = self.ga_ok("fence", "set", "lot", "--wkt",
                         "POLYGON((11 48, 11.01 48, 11.01 48.01, 11 48.01, "
                         "11 48))", "--name", "Parking lot",
                         "--speed-limit", "15")
        self.assertIn("lot", out)
        got = json.loads(self.ga_ok("fence", "get", "lot"))
        self.assertEqual(got, feature("lot", polygon(SQUARE),
                                      name="Parking lot", speed_limit=15))
        self.assertEqual(self.version(), 1)
        self.assertEqual(ctl.read_message()[2], "fences")

        # Replacing it keeps one fence, bumps the version again.
        self.ga_ok("fence", "set", "lot", "--wkt", "POINT(11.5 48.1)",
                   "--radius", "300")
        got = json.loads(self.ga_ok("fence", "get", "lot"))
        self.assertEqual(got, feature("lot", {"type": "Point",
                                              "coordinates": [11.5, 48.1]},
                                      radius=300))
        self.assertEqual(list(self.stored()), ["lot"])
        self.assertEqual(self.version(), 2)
        self.assertEqual(ctl.read_message()[2], "fences")

    def test_set_geojson(self):
        path = self.write("road.json", VALID[2]["geometry"])
        self.ga_ok("fence", "set", "r1", "--geojson", path, "--width", "80",
                   "--name", "Road")
        self.assertEqual(self.stored(), {"r1": feature(
            "r1", VALID[2]["geometry"], width=80, name="Road")})

    def test_set_refused(self):
        rc, _, err = self.ga("fence", "set", "tie", "--wkt",
                             "POLYGON((11 48, 11.01 48.01, 11.01 48, "
                             "11 48.01, 11 48))")
        self.assertEqual(rc, 1)
        self.assert_one_line(err)
        self.assertIn("fence 'tie'", err)
        self.assertIn("Self-intersection", err)
        rc, _, err = self.ga("fence", "set", "x", "--wkt",
                             "POLYGON((11 48, 12 48, 12 49))")
        self.assertEqual(rc, 1)
        self.assertIn("closed", err)
        self.assertEqual(self.stored(), {})
        self.assertIsNone(self.version())

    def test_set_usage(self):
        for args, word in [
                (["fence", "set", "x"], "--wkt"),
                (["fence", "set", "x", "--wkt", "POINT(1 1)", "--geojson",
                  "f"], "--wkt"),
                (["fence", "set", "--wkt", "POINT(1 1)"], "ID"),
                (["fence", "set", "x", "--wtk", "POINT(1 1)"], "--wtk"),
                (["fence", "set", "x", "--wkt", "POINT(1 1)",
                  "--speed-limit", "fast"], "--speed-limit"),
                (["fence", "get"], "ID"),
                (["fence", "frobnicate"], "frobnicate"),
                (["fence"], "subcommand")]:
            rc, _, err = self.ga(*args)
            self.assertEqual(rc, 2, args)
            self.assert_one_line(err)
            self.assertIn(word, err)

    def test_rm(self):
        self.ga_ok("fence", "import", self.write("f.geojson",
                                                 collection(VALID)))
        ctl = self.control_listener()
        self.ga_ok("fence", "rm", "road")
        self.assertEqual(sorted(self.stored()), ["centre", "yard"])
        self.assertEqual(self.version(), 2)
        self.assertEqual(ctl.read_message()[2], "fences")

        rc, _, err = self.ga("fence", "rm", "road")
        self.assertEqual(rc, 1)
        self.assertIn("road", err)
        # An unknown id among several removes nothing.
        rc, _, err = self.ga("fence", "rm", "yard", "nope")
        self.assertEqual(rc, 1)
        self.assertIn("nope", err)
        self.assertEqual(sorted(self.stored()), ["centre", "yard"])
        self.assertEqual(self.version(), 2)

        rc, _, err = self.ga("fence", "get", "road")
        self.assertEqual(rc, 1)
        self.assertIn("road", err)

    def test_prefix_and_unreachable_redis(self):
        self.ga_ok("fence", "import", "--prefix", "other",
                   self.write("f.geojson", collection(VALID)))
        self.assertEqual(self.stored(), {})
        self.assertEqual(len(self.r.hgetall("other:fences")), 3)
        self.assertEqual(self.r.command("GET", "other:fences:version"), "1")

        rc, _, err = self.ga("fence", "ls", "--redis",
                             "unix://" + os.path.join(self.dir, "no.sock"))
        self.assertEqual(rc, 1)
        self.assert_one_line(err)
        rc, _, err = self.ga("fence", "ls", "--redis", "http://x")
        self.assertEqual(rc, 2)
        self.assertIn("--redis", err)


# ---- alerts -----------------------------------------------------------------

class Alerts(CliCase):

    def test_follow_with_filters(self):
        every = self.follow()
        speed = self.follow("--type", "overspeed")
        dev = self.follow("--device", "D2")
        sent = [self.emit(alert(1)), self.emit(alert(2, "sos")),
                self.emit(alert(3, device="D2")),
                self.emit(alert(4, "sos", "D2"))]
        time.sleep(0.5)
        self.assertEqual(self.stop(every)[0], sent)
        self.assertEqual(self.stop(speed)[0], [sent[0], sent[2]])
        self.assertEqual(self.stop(dev)[0], [sent[2], sent[3]])

    def test_since_replays_then_follows_without_repeats(self):
        # An alert two hours old (explicit stream id) is outside --since 1h.
        old_ms = int(time.time() * 1000) - 2 * 3600 * 1000
        self.r.command("XADD", P + ":alerts", "%d-0" % old_ms, "type", "sos",
                       "device", "x", "json", json.dumps(alert(0, "sos")))
        history = [self.emit(alert(n), publish=False) for n in range(1, 4)]

        # An engine publishing all the time, so that alerts also land
        # between the follower's SUBSCRIBE and its XRANGE (held 300 ms
        # apart): those are both replayed and waiting on the channel.
        sent, stop = [], threading.Event()

        def engine():
            c = self.redis.client()
            n = 100
            while not stop.is_set():
                text = json.dumps(alert(n), separators=(",", ":"))
                c.command("MULTI")
                c.command("XADD", P + ":alerts", "*", "type", "overspeed",
                          "device", "d", "json", text)
                c.command("PUBLISH", P + ":alerts", text)
                c.command("EXEC")
                sent.append(text)
                n += 1
                time.sleep(0.002)
            c.close()

        t = threading.Thread(target=engine)
        t.start()
        try:
            time.sleep(0.2)
            p = self.follow("--since", "1h", seam_ms=300)
            time.sleep(0.8)
        finally:
            stop.set()
            t.join()
        # However busy the machine, wait for every alert to be printed (and
        # a little longer, so that a repeat would show) before stopping.
        self.wait_lines(p, len(history + sent))
        self.wait_lines(p, len(history + sent) + 1, timeout=0.5)
        lines, err = self.stop(p)
        self.assertEqual(lines, history + sent, err)

    def test_survives_redis_restart(self):
        p = self.follow()
        first = self.emit(alert(1))
        wait_until(lambda: self.numsub() == 1, 5, "subscription")
        self.r.close()
        self.redis.stop()
        self.redis.start()
        self.r = self.redis.client()
        self.addCleanup(self.r.close)
        # Published at once: the follower is perhaps not back yet, so this
        # one comes from the stream (or the channel), once either way.
        gap = self.emit(alert(2))
        wait_until(lambda: self.numsub() == 1, 15, "resubscription")
        after = self.emit(alert(3))
        self.wait_lines(p, 3)
        self.wait_lines(p, 4, timeout=0.5)
        lines, err = self.stop(p)
        self.assertEqual(lines, [first, gap, after], err)
        self.assertIn("lost Redis", err)
        self.assertIn("reconnected", err)

    def test_usage_and_unreachable(self):
        rc, _, err = self.ga("alerts", "--since", "1 week")
        self.assertEqual(rc, 2)
        self.assertIn("--since", err)
        rc, _, err = self.ga("alerts", "--redis",
                             "unix://" + os.path.join(self.dir, "no.sock"))
        self.assertEqual(rc, 1)
        self.assert_one_line(err)


# ---- devices ----------------------------------------------------------------

class Devices(CliCase):

    def test_table_and_json(self):
        now = int(time.time() * 1000)
        seen = now - 42000
        self.r.command("HSET", P + ":device:359710049095095", "proto",
                       "gps103", "transport", "tcp", "peer", "10.0.0.7:4100",
                       "last_seen", str(seen), "online", "1", "lat",
                       "48.117300", "lon", "11.516667", "speed", "24.5",
                       "imei", "359710049095095")
        self.r.command("HSET", P + ":device:027028241337", "proto", "tk103",
                       "transport", "udp", "peer", "10.0.0.8:5000",
                       "last_seen", str(now - 3600000), "online", "0")
        self.r.command("SET", P + ":positions-not-a-device", "x")

        lines = self.ga_ok("devices").splitlines()
        self.assertEqual(len(lines), 3)
        self.assertTrue(lines[0].startswith("ID"))
        iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seen // 1000))
        tk, gps = lines[1].split(), lines[2].split()
        self.assertEqual(gps[:4], ["359710049095095", "gps103", "yes", iso])
        self.assertIn(int(gps[4]), (42, 43, 44))
        self.assertEqual(gps[5:], ["s", "ago", "48.117300", "11.516667",
                                   "24.5"])
        self.assertEqual(tk[:3], ["027028241337", "tk103", "no"])
        self.assertEqual(tk[-3:], ["-", "-", "-"])

        doc = json.loads(self.ga_ok("devices", "--json"))
        by_id = {d["id"]: d for d in doc}
        self.assertEqual(sorted(by_id), ["027028241337", "359710049095095"])
        d = by_id["359710049095095"]
        self.assertIs(d["online"], True)
        self.assertEqual(d["last_seen"], seen)
        self.assertEqual(d["lat"], 48.1173)
        self.assertEqual(d["imei"], "359710049095095")
        self.assertIs(by_id["027028241337"]["online"], False)

    def test_many_devices_through_scan(self):
        for i in range(1200):
            self.r.send("HSET", "%s:device:dev%04d" % (P, i), "proto",
                        "tk103", "online", "1")
        for i in range(1200):
            self.r._read()
        doc = json.loads(self.ga_ok("devices", "--json"))
        self.assertEqual([d["id"] for d in doc],
                         ["dev%04d" % i for i in range(1200)])

    def test_device_through_real_ingest(self):
        try:
            ingest = harness.Daemon.ingest(self.redis.url, self.dir)
        except AssertionError as e:
            self.skipTest("geoalarm-ingest does not run here: %s" % e)
        self.addCleanup(ingest.stop)
        dev = harness.TcpDevice(ingest.port)
        self.addCleanup(dev.close)
        # TK103 BP05 login at 2018-03-12 09:56:12 UTC, then its ack.
        dev.send(b"(076543210987BP05354321076543210180312A4807.0380N01131.0000E"
                 b"045.3095612087.2501000000L0001E240)")
        dev.expect(b"(076543210987AP05)")
        wait_until(lambda: self.r.hgetall(P + ":device:076543210987"), 5,
                   "the device hash")
        rows = [ln.split() for ln in self.ga_ok("devices").splitlines()[1:]]
        self.assertEqual(len(rows), 1)
        # 48°07.0380' N, 11°31.0000' E.
        self.assertEqual(rows[0][:3], ["076543210987", "tk103", "yes"])
        self.assertEqual(rows[0][-3:-1], ["48.117300", "11.516667"])


# ---- command ----------------------------------------------------------------

class Command(CliCase):

    def test_queues_entry(self):
        out = self.ga_ok("command", "359710049095095", "position_periodic",
                         "30", "--ttl", "600")
        entries = self.r.xrange(P + ":commands")
        self.assertEqual(len(entries), 1)
        self.assertEqual(out.strip(), entries[0][0])
        self.assertEqual(entries[0][1], {"device": "359710049095095",
                                         "command": "position_periodic",
                                         "param": "30", "ttl": "600"})
        self.ga_ok("command", "027028241337", "engine_stop")
        self.ga_ok("command", "027028241337", "custom", "**,imei:1,C,02m")
        e = self.r.xrange(P + ":commands")
        self.assertEqual(e[1][1], {"device": "027028241337",
                                   "command": "engine_stop"})
        self.assertEqual(e[2][1]["param"], "**,imei:1,C,02m")

    def test_refuses_bad_commands(self):
        for args, word in [
                (["d", "self_destruct"], "self_destruct"),
                (["d", "position_periodic"], "PARAM"),
                (["d", "position_periodic", "often"], "often"),
                (["d", "custom"], "PARAM"),
                (["d", "arm", "now"], "arm"),
                (["d"], "NAME"),
                (["d", "arm", "--ttl", "0"], "--ttl")]:
            rc, _, err = self.ga("command", *args)
            self.assertEqual(rc, 2, args)
            self.assert_one_line(err)
            self.assertIn(word, err)
        self.assertEqual(self.r.xlen(P + ":commands"), 0)


# ---- decode, check, usage ----------------------------------------------------

class Offline(unittest.TestCase):

    def setUp(self):
        if not os.access(GA, os.X_OK):
            self.skipTest("bin/geoalarm not built")

    def test_decode_matches_ingest(self):
        files = sorted(glob.glob(os.path.join(TOP, "tests/data/tk103/*.raw")))
        self.assertGreater(len(files), 10)
        start = int(time.time() * 1000)
        rc, out, err = run([GA, "decode"] + files)
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertGreaterEqual(len(lines), len(files))
        for ln in lines:
            self.assertEqual(sorted(json.loads(ln)),
                             ["error", "frame", "reply", "report"])
        rc, ing, err = run([os.path.join(BIN, "geoalarm-ingest"), "--decode"]
                           + files)
        if rc != 0:
            self.skipTest("geoalarm-ingest --decode not available: %s" % err)
        # A report without a fix time carries its receive time, the
        # wall clock of each run: the same text once that is set aside.
        self.assertEqual(self.clockless(out, start),
                         self.clockless(ing, start))
        self.assertEqual(len(out.splitlines()), len(ing.splitlines()))

    @staticmethod
    def clockless(text, start):
        out = []
        for ln in text.splitlines():
            doc = json.loads(ln)
            if doc["report"] and doc["report"].get("time", 0) >= start:
                ln = ln.replace('"time":%d' % doc["report"]["time"],
                                '"time":NOW')
            out.append(ln)
        return out

    def test_decode_stdin_and_udp(self):
        frame = (b"(076543210987BP05354321076543210180312A4807.0380N01131."
                 b"0000E045.3095612087.2501000000L0001E240)")
        rc, out, err = run([GA, "decode"], stdin=frame)
        self.assertEqual(rc, 0, err)
        doc = json.loads(out)
        self.assertEqual(doc["reply"], "(076543210987AP05)")
        self.assertEqual(doc["report"]["time"],
                         calendar.timegm((2018, 3, 12, 9, 56, 12)) * 1000)
        self.assertEqual(doc["report"]["lat"], 48.1173)
        rc, _, err = run([GA, "decode", "/nonexistent.raw"])
        self.assertEqual(rc, 1)

    def test_check(self):
        example = os.path.join(TOP, "rules.example.lua")
        rc, out, err = run([GA, "check", example])
        self.assertEqual(rc, 0, out + err)
        self.assertIn("ok", out)
        d = tempdir(self)
        bad = os.path.join(d, "bad.lua")
        with open(bad, "w") as f:
            f.write("return {\n  defaults = { speed_limit = 80 \n")
        rc, out, err = run([GA, "check", bad])
        self.assertEqual(rc, 1)
        self.assertIn("bad.lua", out + err)
        rc, _, err = run([GA, "check"])
        self.assertEqual(rc, 2)
        self.assertIn("RULES.lua", err)

    def test_usage(self):
        rc, out, _ = run([GA, "--help"])
        self.assertEqual(rc, 0)
        for name in ("fence", "alerts", "decode", "command", "devices",
                     "check"):
            self.assertIn(name, out)
            rc, out2, err = run([GA, name, "--help"])
            self.assertEqual(rc, 0, name + err)
            self.assertIn("usage:", out2)
        for sub in ("import", "set", "ls", "get", "rm", "export"):
            rc, out2, _ = run([GA, "fence", sub, "--help"])
            self.assertEqual(rc, 0)
            self.assertIn("geoalarm fence " + sub, out2)
        rc, _, err = run([GA])
        self.assertEqual(rc, 2)
        rc, _, err = run([GA, "fly"])
        self.assertEqual(rc, 2)
        self.assertIn("fly", err)
        rc, _, err = run([GA, "devices", "--color"])
        self.assertEqual(rc, 2)
        self.assertIn("--color", err)


if __name__ == "__main__":
    unittest.main()
