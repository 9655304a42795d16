"""The fleet simulator at a small scale, against the real ingest and engine.

A few devices (both dialects, TCP and UDP) drive for a few seconds through
a hand-made set of fences (circles, star polygons, a polygon with a hole, a
MultiPolygon, a corridor, a speed zone, a fence for one device only).  The
simulator writes the alerts its tracks should raise (--expect), computed
with its own geometry; the engine's alerts must be exactly those, per
device, in stream order.  The fence shapes here are built from metre
offsets independently of the simulator's code.

Speed figures live in `make bench`, never here.
"""

import collections
import json
import math
import os
import random
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (BIN, Daemon, free_port, run, start_redis,  # noqa: E402
                     tempdir, wait_until)

P = harness.PREFIX
BUILD = os.environ.get("GEOALARM_BUILD", os.path.join(harness.TOP, "build"))
FLEETSIM = os.path.join(BUILD, "tools", "fleetsim")
INGEST = os.path.join(BIN, "geoalarm-ingest")
ENGINE = os.path.join(BIN, "geoalarm-engine")

LON0, LAT0 = 11.5, 48.1
M_LAT = 111320.0
M_LON = 111320.0 * math.cos(math.radians(LAT0))
SEED = 5
TK_DEV0 = "005000000000"


def device_ids(seed, ntcp, nudp):
    """The simulator's naming (fleetsim.c): device i is UDP when
    floor((i+1)M/(N+M)) > floor(iM/(N+M)); the k-th device of its
    transport is TK103 for even k ("0" + seed%100 in 2 digits + i in 9),
    else GPS103 ("86" + seed%100 in 2 digits + i in 11)."""
    n, ids, count = ntcp + nudp, [], {True: 0, False: 0}
    for i in range(n):
        udp = (i + 1) * nudp // n > i * nudp // n
        k = count[udp]
        count[udp] += 1
        ids.append("0%02d%09d" % (seed % 100, i) if k % 2 == 0
                   else "86%02d%011d" % (seed % 100, i))
    return ids

RULES = ("return { defaults = { speed_limit = 100, overspeed_duration = 30,"
         " overspeed_hysteresis = 5 } }\n")
SIM_RULES = ["--speed-limit", "100", "--overspeed-duration", "30",
             "--overspeed-hysteresis", "5"]


def pt(dx, dy):
    return [round(LON0 + dx / M_LON, 7), round(LAT0 + dy / M_LAT, 7)]


def square(cx, cy, half, ccw=True):
    ring = [pt(cx - half, cy - half), pt(cx + half, cy - half),
            pt(cx + half, cy + half), pt(cx - half, cy + half)]
    if not ccw:
        ring.reverse()
    return ring + [ring[0]]


def star(cx, cy, r, n, rng):
    ring = []
    for k in range(n):
        a = 2 * math.pi * k / n
        rr = r * rng.uniform(0.5, 1.0)
        ring.append(pt(cx + rr * math.cos(a), cy + rr * math.sin(a)))
    return ring + [ring[0]]


def feature(fid, geom, **props):
    props["name"] = fid
    return {"type": "Feature", "id": fid, "properties": props, "geometry": geom}


def fence_collection():
    """Fences within 3 km of the centre, so a few minutes of driving
    crosses many of them."""
    rng = random.Random(7)
    feats = []
    for i, (dx, dy, r) in enumerate([(-1800, 900, 450), (1500, 1600, 350),
                                     (600, -1900, 600), (-900, -1200, 300),
                                     (2200, -400, 500)]):
        feats.append(feature("circle%d" % i, {"type": "Point",
                                               "coordinates": pt(dx, dy)},
                             radius=r))
    for i, (dx, dy, r) in enumerate([(0, 0, 700), (-2300, -2100, 500),
                                     (1900, 2400, 650)]):
        feats.append(feature("star%d" % i, {"type": "Polygon",
                                             "coordinates": [star(dx, dy, r, 24, rng)]}))
    feats.append(feature("holed", {"type": "Polygon", "coordinates": [
        square(-400, 2200, 600), square(-400, 2200, 200, ccw=False)]}))
    feats.append(feature("pair", {"type": "MultiPolygon", "coordinates": [
        [square(2600, 900, 250)], [square(2600, -1500, 250)]]}))
    feats.append(feature("road", {"type": "LineString", "coordinates": [
        pt(-3000, 300), pt(0, 500), pt(3000, 200)]}, width=80))
    feats.append(feature("school", {"type": "Point", "coordinates": pt(-600, -300)},
                         radius=400, speed_limit=50))
    feats.append(feature("depot", {"type": "Point", "coordinates": pt(1200, -700)},
                         radius=500, devices=[TK_DEV0]))
    return {"type": "FeatureCollection", "features": feats}


def load_fences(r, fc):
    for f in fc["features"]:
        r.command("HSET", P + ":fences", f["id"], json.dumps(f))
    r.command("INCR", P + ":fences:version")
    r.command("PUBLISH", P + ":control", "fences")


def acked(r):
    """Entries the engine has read and acknowledged."""
    try:
        groups = r.command("XINFO", "GROUPS", P + ":positions")
    except harness.RedisError:
        return 0
    for g in groups:
        d = dict(zip(g[0::2], g[1::2]))
        if d.get("name") == "engine":
            return (d.get("entries-read") or 0) - d.get("pending", 0)
    return 0


def by_device(items):
    out = collections.defaultdict(list)
    for j in items:
        out[j["device"]].append((j["time"], j["type"], j.get("fence")))
    return out


def fleetsim(*args, timeout=60):
    return run([FLEETSIM] + [str(a) for a in args], timeout=timeout)


@unittest.skipUnless(os.path.exists(os.path.join(harness.TOP, "engine", "main.c")),
                     "the engine is not in this tree yet")
class FleetAgainstEngine(unittest.TestCase):

    def setUp(self):
        start_redis(self)
        self.fences = os.path.join(self.dir, "fences.geojson")
        self.fc = fence_collection()
        with open(self.fences, "w") as f:
            json.dump(self.fc, f)
        load_fences(self.r, self.fc)
        rules = os.path.join(self.dir, "rules.lua")
        with open(rules, "w") as f:
            f.write(RULES)
        self.ingest = Daemon.ingest(self.redis.url, self.dir)
        self.addCleanup(self.ingest.stop)
        self.engine = Daemon([ENGINE, "--rules", rules, "--redis", self.redis.url,
                              "--from-start"], os.path.join(self.dir, "engine.log"))
        self.addCleanup(self.engine.stop)

    def test_alerts_equal_the_simulators_expectation(self):
        expect = os.path.join(self.dir, "expect.jsonl")
        stats = os.path.join(self.dir, "stats.json")
        start = int(time.time()) // 60 * 60 - 86400
        rc, _, err = fleetsim(
            "--target", "127.0.0.1:%d" % self.ingest.port, "--tcp", 6, "--udp", 2,
            "--rate", 100, "--count", 480, "--duration", 30, "--seed", SEED,
            "--start", start, "--sos-every", 9, "--radius", 3,
            "--fences", self.fences, "--expect", expect, "--stats", stats,
            *SIM_RULES)
        self.assertEqual(rc, 0, err)
        with open(stats) as f:
            st = json.load(f)
        self.assertEqual(st["reports"], 480)
        self.assertEqual(st["lost"], 0)
        self.assertEqual(st["edge_ambiguous"], 0)
        self.assertEqual(st["ready"], 8)
        self.assertEqual(st["tcp"]["tk103"] + st["tcp"]["gps103"], 6 * 60)
        self.assertEqual(st["udp"]["tk103"] + st["udp"]["gps103"], 2 * 60)

        wait_until(lambda: self.r.xlen(P + ":positions") >= 480, 20,
                   "all 480 reports in the positions stream")
        self.assertEqual(self.r.xlen(P + ":positions"), 480)
        wait_until(lambda: acked(self.r) >= 480, 30, "the engine to process 480 reports")

        with open(expect) as f:
            expected = [json.loads(line) for line in f]
        got = [json.loads(fields["json"])
               for _, fields in self.r.xrange(P + ":alerts")]
        kinds = collections.Counter(j["type"] for j in expected)
        # The tracks must exercise every kind, or the test proves little.
        for k in ("sos", "overspeed", "fence_enter", "fence_exit"):
            self.assertGreater(kinds[k], 0, "no %s in the expectation" % k)
        self.assertTrue(any(j.get("fence") == "school" for j in expected))

        exp_dev, got_dev = by_device(expected), by_device(got)
        self.assertEqual(sorted(got_dev), sorted(exp_dev))
        for dev in exp_dev:
            times = [t for t, _, _ in got_dev[dev]]
            self.assertEqual(times, sorted(times), "alerts of %s out of order" % dev)
            self.assertEqual(sorted(got_dev[dev]), sorted(exp_dev[dev]),
                             "alerts of %s" % dev)


class FleetOnItsOwn(unittest.TestCase):
    """What the simulator guarantees without a server."""

    def setUp(self):
        self.dir = tempdir(self)

    def test_refuses_any_target_but_loopback(self):
        for target in ("192.0.2.1:8888", "10.0.0.1:8888", "example.com:80",
                       "[2001:db8::1]:8888", "0.0.0.0:8888"):
            rc, _, err = fleetsim("--target", target, "--duration", 1)
            self.assertEqual(rc, 2, target)
            self.assertIn("--target", err)
        rc, _, err = fleetsim("--tcp", 1, "--no-such-flag")
        self.assertEqual(rc, 2)
        self.assertIn("--no-such-flag", err)

    def test_bounded_when_nothing_listens(self):
        port = free_port()
        t0 = time.monotonic()
        rc, _, err = fleetsim("--target", "127.0.0.1:%d" % port, "--tcp", 3,
                              "--duration", 1, "--connect-timeout", 1, timeout=30)
        self.assertLess(time.monotonic() - t0, 15)
        self.assertEqual(rc, 1, err)
        self.assertIn("0 of 3 devices ready", err)

    def dump(self, name, *extra):
        prefix = os.path.join(self.dir, name)
        rc, _, err = fleetsim("--dump", prefix, "--tcp", 4, "--udp", 2, "--count", 120,
                              "--seed", 9, "--start", 1700000000, "--sos-every", 5,
                              "--heartbeat-every", 7, "--stats", prefix + ".json", *extra)
        self.assertEqual(rc, 0, err)
        with open(prefix + ".tk103", "rb") as a, open(prefix + ".gps103", "rb") as b:
            return prefix, a.read(), b.read()

    def test_same_seed_same_bytes(self):
        _, tk1, gps1 = self.dump("a")
        _, tk2, gps2 = self.dump("b")
        self.assertEqual(tk1, tk2)
        self.assertEqual(gps1, gps2)
        self.assertNotEqual(self.dump("c", "--start", 1700000600)[1], tk1)

    @unittest.skipUnless(os.path.exists(INGEST), "geoalarm-ingest is not built")
    def test_every_frame_decodes(self):
        """The decoder accepts all the simulator sends: 120 records, of which
        every 5th report of a device (6 devices, 20 reports each) is an SOS,
        device i's reports k with (k + i) % 5 == 0 (each device in its own
        phase; the first report is never one), at the fix times the
        simulator chose (--start + 10 s per report)."""
        prefix, _, _ = self.dump("d")
        rc, out, err = run([INGEST, "--decode", prefix + ".tk103", prefix + ".gps103"])
        self.assertEqual(rc, 0, err)
        lines = [json.loads(x) for x in out.splitlines() if x.strip()]
        self.assertEqual([x for x in lines if x["error"] is not None], [])
        reports = [x["report"] for x in lines if x["report"] is not None]
        self.assertEqual(len(reports), 120)
        sos = sorted((r["device"], r["time"]) for r in reports
                     if "sos" in r.get("alarm", "").split(","))
        ids = device_ids(9, 4, 2)
        # TCP: 0 1 3 4, UDP: 2 5 -> TK103, GPS103, TK103, GPS103, TK103, GPS103
        self.assertEqual(ids, ["009000000000", "860900000000001", "009000000002",
                               "009000000003", "860900000000004", "860900000000005"])
        want = sorted((dev, (1700000000 + 10 * k) * 1000)
                      for i, dev in enumerate(ids) for k in range(1, 20)
                      if (k + i) % 5 == 0)
        self.assertEqual(sos, want)
        self.assertTrue(all(r["valid"] == 1 for r in reports))


if __name__ == "__main__":
    unittest.main()
