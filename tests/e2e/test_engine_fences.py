"""A running engine follows `geoalarm fence set` and `fence rm` within a
second (SPEC "Fences": "the engine picks up every change within a second").

While the CLI changes the fences, a probe is written every 50 ms: each one
a position of a device never seen before, inside the yard.  A fresh device
inside a fence gets fence_enter for it, and nothing when there is no such
fence, so each probe tells which fences the engine evaluated it with,
whatever came before.  Probes written before the change must see the old
fences; probes written a second or more after the CLI returned must see
the new ones.
"""

import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN  # noqa: E402
from test_engine import (DEPOT, FENCE_SET, T0, YARD,  # noqa: E402
                         EngineCase, fields)

GA = os.path.join(BIN, "geoalarm")
# The yard of test_engine's FENCE_SET, as WKT (lon lat).
YARD_WKT = ("POLYGON((-114.00 51.09, -113.98 51.09, -113.98 51.11, "
            "-114.00 51.11, -114.00 51.09))")
PROBE_EVERY = 0.05
FOLLOW_WITHIN = 1.0


class TestLiveFences(EngineCase):
    def setUp(self):
        if not os.access(GA, os.X_OK):
            self.skipTest("bin/geoalarm not built")
        super().setUp()
        self.probes = []        # (wall time written, entry id)

    def ga(self, *args):
        p = subprocess.run([GA] + list(args) + ["--redis", self.redis.url],
                           capture_output=True, timeout=20)
        self.assertEqual(p.returncode, 0, "geoalarm %s: %s" % (
            " ".join(args), p.stderr.decode("utf-8", "replace")))

    def probe_for(self, seconds):
        """Writes a fresh device's position in the yard every 50 ms."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            n = len(self.probes)
            eid = self.xadd(*fields("probe%d" % n, T0 + 1000 * n, YARD, 5))
            self.probes.append((time.monotonic(), eid))
            time.sleep(PROBE_EVERY)

    def entered_yard(self):
        """Entry ids that raised fence_enter:yard."""
        return {a["position"] for a in self.alerts()
                if a["type"] == "fence_enter" and a.get("fence") == "yard"}

    def assert_follows(self, changed_at, start, before, want_after):
        """Probes start..before-1 saw the old fences, and every probe
        written FOLLOW_WITHIN after changed_at saw the new ones."""
        self.wait_acked()
        entered = self.entered_yard()
        late = [(t, eid) for t, eid in self.probes[before:]
                if t >= changed_at + FOLLOW_WITHIN]
        self.assertGreater(len(late), 5)
        for t, eid in self.probes[start:before]:
            self.assertEqual(eid in entered, not want_after, eid)
        for t, eid in late:
            self.assertEqual(eid in entered, want_after,
                             "probe %s written %.2f s after the change"
                             % (eid, t - changed_at))

    def test_fence_set_and_rm_reach_a_running_engine(self):
        self.load_fences({"depot": FENCE_SET["depot"]})
        # A long BLOCK: the change must not wait for the read in flight.
        self.engine("--block", "5000")

        self.probe_for(0.5)
        before = len(self.probes)
        self.ga("fence", "set", "yard", "--wkt", YARD_WKT)
        set_at = time.monotonic()
        self.probe_for(FOLLOW_WITHIN + 0.5)
        self.assert_follows(set_at, 0, before, want_after=True)
        self.assertEqual(self.daemons[-1].proc.poll(), None)

        # The late probes of the set phase, checked above, saw the yard.
        before = len(self.probes)
        self.ga("fence", "rm", "yard")
        rm_at = time.monotonic()
        self.probe_for(FOLLOW_WITHIN + 0.5)
        self.assert_follows(rm_at, before, before, want_after=False)

        # The fence left in place still works.
        e = self.xadd(*fields("late", T0 + 10 ** 7, DEPOT, 5))
        self.wait_acked()
        self.assertIn(e + ":fence_enter:depot",
                      [a["id"] for a in self.alerts()])


if __name__ == "__main__":
    unittest.main()
