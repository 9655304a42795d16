"""geoalarm-ingest downlink end to end: P:commands entries reach scripted
TK103 and GPS103 devices over TCP and UDP, byte-exact, once, and their
outcome lands on P:command-results.

The expected bytes are written out by hand from protocols/TK103.md 2.7 and
3.9 (60 s = 0x003C, 300 s = 5 minutes, ...), not taken from the daemon.
"""

import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (Daemon, TcpDevice, UdpDevice, escape,  # noqa: E402
                     start_redis, wait_until)

P = harness.PREFIX
CMDS = P + ":commands"
RESULTS = P + ":command-results"

TK_ID = "076543210987"
TK_IMEI = "354321076543210"
# Fixed layout: 12-character id, IMEI in the BP05 body.
TK_BP05 = (b"(076543210987BP05354321076543210180312A4807.0380N01131.0000E"
           b"045.3095612087.2501000000L0001E240)")
TK_BP05_ACK = b"(076543210987AP05)"
# The same unit in the comma layout, under its IMEI.
TK_COMMA = (b"(354321076543210,ZC11,120318,A,4807.0380,N,01131.0000,E,0.00,"
            b"095612,0.00)")
IMEI = "864123456789012"
GPS_LOGIN = b"##,imei:864123456789012,A;"
GPS_HEARTBEAT = b"864123456789012;"


class DownlinkCase(unittest.TestCase):
    """A fresh redis-server and one geoalarm-ingest per test."""

    ingest_args = ()

    def setUp(self):
        start_redis(self)
        self.ingest = self.start_ingest(*self.ingest_args)

    def start_ingest(self, *args, name="ingest"):
        d = Daemon.ingest(self.redis.url, self.dir, *args, metrics=True,
                          name=name)
        self.addCleanup(self.stop_ingest, d)
        # Its command reader is up once Redis says it has two more clients
        # than before; simpler: wait for both downlink connections' log.
        d.wait_log(r"redis-commands: connected")
        d.wait_log(r"redis-claims: connected")
        return d

    def stop_ingest(self, d):
        if d.proc.poll() is None:
            self.assertEqual(d.stop(), 0, "ingest exit status\n" + d.log())
        d.logfile.close()

    def tcp(self, ingest=None):
        d = TcpDevice((ingest or self.ingest).port)
        self.addCleanup(d.close)
        return d

    def udp(self, ingest=None):
        d = UdpDevice((ingest or self.ingest).port)
        self.addCleanup(d.close)
        return d

    def command(self, device, name, param=None, ttl=None):
        """What `geoalarm command DEVICE NAME [PARAM] [--ttl S]` writes;
        returns the entry id."""
        args = ["XADD", CMDS, "*", "device", device, "command", name]
        if param is not None:
            args += ["param", param]
        if ttl is not None:
            args += ["ttl", str(ttl)]
        return self.r.command(*args)

    def results(self):
        return [e for _, e in self.r.xrange(RESULTS)]

    def result(self, cmd_id, timeout=5.0):
        """Waits for the one result of command cmd_id and returns it."""
        def found():
            got = [e for e in self.results() if e.get("id") == cmd_id]
            return got or None
        got = wait_until(found, timeout, "result of command %s" % cmd_id)
        self.assertEqual(len(got), 1, "results for %s: %r" % (cmd_id, got))
        return got[0]

    def metric(self, ingest, name):
        status, body = ingest.http_get("/metrics")
        m = re.search(r"^%s (\S+)$" % re.escape(name), body, re.M)
        return float(m.group(1)) if m else None

    def wait_pending(self, ingest, n, timeout=5.0):
        """Waits until ingest holds n commands (it has read them)."""
        wait_until(lambda: self.metric(ingest, "geoalarm_ingest_commands_pending") == n,
                   timeout, "%d commands pending" % n)

    def sent(self, dev, cmd_id, want, transport="tcp"):
        """Asserts dev got exactly `want` and the result says so."""
        if isinstance(dev, UdpDevice):
            data, src = dev.recv()
            self.assertEqual(data, want)
            self.assertEqual(src, dev.dest)
        else:
            dev.expect(want)
        res = self.result(cmd_id)
        self.assertEqual(res["status"], "sent", res)
        self.assertEqual(res["raw"], escape(want))
        self.assertEqual(res["transport"], transport)
        self.assertEqual(res["peer"], dev.name)
        return res


class TcpTest(DownlinkCase):

    def test_tk103_receives_each_command_exactly(self):
        dev = self.tcp()
        dev.send(TK_BP05)
        dev.expect(TK_BP05_ACK)
        cases = [
            ("position_single", None, b"(076543210987AP00)"),
            ("position_periodic", "60", b"(076543210987AR00003C0000)"),
            ("position_periodic", "300", b"(076543210987AR00012C0000)"),
            ("stop_tracking", None, b"(076543210987AR0000000000)"),
            ("engine_stop", None, b"(076543210987AV010)"),
            ("engine_resume", None, b"(076543210987AV011)"),
            ("custom", "AA00", b"(076543210987AA00)"),
        ]
        for name, param, want in cases:
            cid = self.command(TK_ID, name, param)
            res = self.sent(dev, cid, want)
            self.assertEqual(res["device"], TK_ID)
            self.assertEqual(res["command"], name)
            self.assertNotIn("reason", res)
        # Addressed by its IMEI, it still gets its 12-character id.
        cid = self.command(TK_IMEI, "position_single")
        res = self.sent(dev, cid, b"(076543210987AP00)")
        self.assertEqual(res["device"], TK_IMEI)
        self.assertTrue(dev.nothing_more(), "one copy of each command")
        self.assertEqual(self.metric(self.ingest,
                                     "geoalarm_ingest_commands_sent_total"), 8)

    def test_tk103_fixed_id_wins_over_the_comma_id(self):
        dev = self.tcp()
        dev.send(TK_BP05)
        dev.expect(TK_BP05_ACK)
        dev.send(TK_COMMA)
        cid = self.command(TK_IMEI, "engine_stop")
        self.sent(dev, cid, b"(076543210987AV010)")

    def test_tk103_comma_layout_device_is_addressed_by_its_own_id(self):
        dev = self.tcp()
        dev.send(TK_COMMA)
        wait_until(lambda: self.r.xlen(P + ":positions") == 1, 5, "position")
        cid = self.command(TK_IMEI, "position_single")
        self.sent(dev, cid, b"(354321076543210AP00)")

    def test_gps103_receives_each_command_exactly(self):
        dev = self.tcp()
        dev.send(GPS_LOGIN)
        dev.expect(b"LOAD")
        cases = [
            ("position_single", None, b"**,imei:864123456789012,B"),
            ("position_periodic", "30", b"**,imei:864123456789012,C,30s"),
            ("position_periodic", "90", b"**,imei:864123456789012,C,01m"),
            ("position_periodic", "7200", b"**,imei:864123456789012,C,02h"),
            ("stop_tracking", None, b"**,imei:864123456789012,D"),
            ("engine_stop", None, b"**,imei:864123456789012,J"),
            ("engine_resume", None, b"**,imei:864123456789012,K"),
            ("arm", None, b"**,imei:864123456789012,L"),
            ("disarm", None, b"**,imei:864123456789012,M"),
            ("custom", "H,080", b"**,imei:864123456789012,H,080"),
        ]
        for name, param, want in cases:
            cid = self.command(IMEI, name, param)
            self.sent(dev, cid, want)
        self.assertTrue(dev.nothing_more(), "no terminator, no extra bytes")

    def test_unsupported_commands_are_reported_not_sent(self):
        tk = self.tcp()
        tk.send(TK_BP05)
        tk.expect(TK_BP05_ACK)
        gps = self.tcp()
        gps.send(GPS_LOGIN)
        gps.expect(b"LOAD")
        cases = [
            (TK_ID, "arm", None, "tk103 has no standard form"),
            (TK_ID, "disarm", None, "tk103 has no standard form"),
            (TK_ID, "position_periodic", "70000", "4 hex digits"),
            (IMEI, "position_periodic", "abc", "not a positive number"),
            (IMEI, "position_periodic", None, "needs an interval"),
            (IMEI, "custom", None, "needs the text"),
            (IMEI, "self_destruct", None, "unknown command"),
            (IMEI, "engine_stop", "", None),    # param ignored: sent
        ]
        for dev_id, name, param, why in cases:
            cid = self.command(dev_id, name, param)
            res = self.result(cid)
            if why is None:
                self.assertEqual(res["status"], "sent")
                gps.expect(b"**,imei:864123456789012,J")
                continue
            self.assertEqual(res["status"], "unsupported", res)
            self.assertIn(why, res["reason"])
            self.assertEqual(res["raw"], "")
            self.assertEqual(res["device"], dev_id)
            self.assertEqual(res["command"], name)
        # A bad ttl and a missing device are refused too.
        cid = self.r.command("XADD", CMDS, "*", "device", IMEI, "command",
                             "engine_stop", "ttl", "soon")
        self.assertIn("ttl", self.result(cid)["reason"])
        cid = self.r.command("XADD", CMDS, "*", "command", "engine_stop")
        self.assertEqual(self.result(cid)["reason"], "no device")
        self.assertTrue(tk.nothing_more(), "nothing sent to the TK103")
        self.assertTrue(gps.nothing_more(), "nothing more sent to the GPS103")
        self.assertEqual(self.metric(
            self.ingest, "geoalarm_ingest_commands_unsupported_total"), 9)

    def test_offline_device_gets_the_command_when_it_connects(self):
        cid = self.command(IMEI, "position_periodic", "300")
        self.wait_pending(self.ingest, 1)
        time.sleep(0.3)
        self.assertEqual(self.results(), [], "nothing to report yet")
        dev = self.tcp()
        dev.send(GPS_LOGIN)
        # The login's reply first, then the command.
        dev.expect(b"LOAD")
        self.sent(dev, cid, b"**,imei:864123456789012,C,05m")
        self.wait_pending(self.ingest, 0)

    def test_commands_keep_their_order(self):
        ids = [self.command(TK_ID, n) for n in
               ("engine_stop", "position_single", "engine_resume")]
        self.wait_pending(self.ingest, 3)
        dev = self.tcp()
        dev.send(TK_BP05)
        dev.expect(TK_BP05_ACK + b"(076543210987AV010)(076543210987AP00)"
                   b"(076543210987AV011)")
        for cid in ids:
            self.assertEqual(self.result(cid)["status"], "sent")

    def test_device_that_left_gets_it_on_its_next_connection(self):
        dev = self.tcp()
        dev.send(GPS_LOGIN)
        dev.expect(b"LOAD")
        dev.close()
        wait_until(lambda: self.metric(self.ingest,
                                       "geoalarm_ingest_connections") == 0,
                   5, "connection closed")
        cid = self.command(IMEI, "engine_stop")
        self.wait_pending(self.ingest, 1)
        time.sleep(0.5)
        self.assertEqual(self.results(), [], "not sent to a closed peer")
        dev2 = self.tcp()
        dev2.send(GPS_HEARTBEAT)
        dev2.expect(b"ON")
        self.sent(dev2, cid, b"**,imei:864123456789012,J")

    def test_short_ttl_expires(self):
        cid = self.command(IMEI, "engine_stop", ttl=1)
        t0 = time.monotonic()
        res = self.result(cid, timeout=5)
        self.assertGreaterEqual(time.monotonic() - t0, 0.5)
        self.assertEqual(res["status"], "expired")
        self.assertEqual(res["device"], IMEI)
        self.assertEqual(res["command"], "engine_stop")
        self.assertEqual(res["raw"], "")
        # Connecting now brings nothing.
        dev = self.tcp()
        dev.send(GPS_LOGIN)
        dev.expect(b"LOAD")
        self.assertTrue(dev.nothing_more(0.5))
        self.assertEqual(self.metric(
            self.ingest, "geoalarm_ingest_commands_expired_total"), 1)

    def test_commands_wait_while_redis_is_down(self):
        cid = self.command(IMEI, "engine_resume")
        self.wait_pending(self.ingest, 1)
        self.redis.kill()
        self.ingest.wait_log(r"redis-claims: disconnected")
        dev = self.tcp()
        dev.send(GPS_LOGIN)
        dev.expect(b"LOAD")
        # No claim can be taken: nothing goes out yet.
        self.assertTrue(dev.nothing_more(0.5))
        self.redis.start()
        dev.expect(b"**,imei:864123456789012,K", timeout=10)
        self.r = self.redis.client()
        self.addCleanup(self.r.close)
        res = self.result(cid, timeout=10)
        self.assertEqual(res["status"], "sent")

    def test_restart_reads_commands_back_and_does_not_repeat(self):
        done = self.command(IMEI, "engine_stop")
        dev = self.tcp()
        dev.send(GPS_LOGIN)
        dev.expect(b"LOAD")
        dev.expect(b"**,imei:864123456789012,J")
        self.result(done)
        dev.close()
        self.stop_ingest(self.ingest)
        # Issued while no ingest runs.
        later = self.command(IMEI, "engine_resume")
        ing = self.start_ingest(name="ingest2")
        dev = self.tcp(ing)
        dev.send(GPS_LOGIN)
        dev.expect(b"LOAD")
        dev.expect(b"**,imei:864123456789012,K")
        self.assertTrue(dev.nothing_more(0.5), "the delivered one not again")
        self.assertEqual(self.result(later)["status"], "sent")
        self.assertEqual(len(self.results()), 2)


class UdpTest(DownlinkCase):

    def test_sent_to_the_last_peer(self):
        a = self.udp()
        a.send(GPS_LOGIN)
        self.assertEqual(a.recv()[0], b"LOAD")
        cid = self.command(IMEI, "position_single")
        self.sent(a, cid, b"**,imei:864123456789012,B", transport="udp")
        # The same device from another address: that one is the peer now.
        b = self.udp()
        b.send(GPS_HEARTBEAT)
        self.assertEqual(b.recv()[0], b"ON")
        cid = self.command(IMEI, "engine_stop")
        self.sent(b, cid, b"**,imei:864123456789012,J", transport="udp")
        self.assertRaises(harness.Timeout, a.recv, 0.3)

    def test_tk103_over_udp(self):
        a = self.udp()
        a.send(TK_BP05)
        self.assertEqual(a.recv()[0], TK_BP05_ACK)
        cid = self.command(TK_IMEI, "position_periodic", "60")
        self.sent(a, cid, b"(076543210987AR00003C0000)", transport="udp")

    def test_stale_peer_waits_for_its_next_datagram(self):
        ing = self.start_ingest("--udp-peer-ttl", "1", name="short")
        a = self.udp(ing)
        a.send(GPS_HEARTBEAT)
        self.assertEqual(a.recv()[0], b"ON")
        time.sleep(1.5)
        cid = self.command(IMEI, "disarm")
        self.wait_pending(ing, 1)
        self.assertRaises(harness.Timeout, a.recv, 0.5)
        a.send(GPS_HEARTBEAT)
        self.assertEqual(a.recv()[0], b"ON")
        self.sent(a, cid, b"**,imei:864123456789012,M", transport="udp")


class TwoIngestTest(DownlinkCase):

    def setUp(self):
        super().setUp()
        self.other = self.start_ingest(name="other")

    def sent_by(self, ingest):
        return self.metric(ingest, "geoalarm_ingest_commands_sent_total")

    def test_delivered_once_by_the_one_that_has_the_device(self):
        dev = self.tcp(self.other)
        dev.send(GPS_LOGIN)
        dev.expect(b"LOAD")
        ids = [self.command(IMEI, "engine_stop") for _ in range(5)]
        for cid in ids:
            dev.expect(b"**,imei:864123456789012,J")
            self.assertEqual(self.result(cid)["status"], "sent")
        self.assertTrue(dev.nothing_more(0.5))
        self.assertEqual(self.sent_by(self.other), 5)
        self.assertEqual(self.sent_by(self.ingest), 0)
        # The first ingest saw their results and let its copies go.
        self.wait_pending(self.ingest, 0)
        self.assertEqual(self.metric(
            self.ingest, "geoalarm_ingest_commands_claimed_elsewhere_total"), 5)
        self.assertEqual(len(self.results()), 5)

    def test_device_on_both_gets_one_copy(self):
        a = self.tcp(self.ingest)
        b = self.tcp(self.other)
        a.send(GPS_LOGIN)
        a.expect(b"LOAD")
        b.send(GPS_LOGIN)
        b.expect(b"LOAD")
        want = b"**,imei:864123456789012,B"
        for _ in range(10):
            cid = self.command(IMEI, "position_single")
            res = self.result(cid)
            self.assertEqual(res["status"], "sent")
            dev = a if res["peer"] == a.name else b
            self.assertEqual(res["peer"], dev.name)
            dev.expect(want)
        self.assertTrue(a.nothing_more(0.3) and b.nothing_more(0.3),
                        "exactly one copy of each")
        self.assertEqual(self.sent_by(self.ingest) + self.sent_by(self.other), 10)
        self.assertEqual(len(self.results()), 10)

    def test_queued_command_goes_where_the_device_connects(self):
        cid = self.command(TK_ID, "engine_resume")
        self.wait_pending(self.ingest, 1)
        self.wait_pending(self.other, 1)
        dev = self.tcp(self.other)
        dev.send(TK_BP05)
        dev.expect(TK_BP05_ACK + b"(076543210987AV011)")
        self.assertEqual(self.result(cid)["status"], "sent")
        # The device then moves to the first ingest: nothing again.
        dev.close()
        dev2 = self.tcp(self.ingest)
        dev2.send(TK_BP05)
        dev2.expect(TK_BP05_ACK)
        self.assertTrue(dev2.nothing_more(0.5))
        self.wait_pending(self.ingest, 0)
        self.assertEqual(len(self.results()), 1)

    def test_expiry_is_reported_once(self):
        cid = self.command(IMEI, "arm", ttl=1)
        res = self.result(cid, timeout=5)
        self.assertEqual(res["status"], "expired")
        time.sleep(1.5)
        self.assertEqual(len(self.results()), 1)
        self.wait_pending(self.ingest, 0)
        self.wait_pending(self.other, 0)


if __name__ == "__main__":
    unittest.main()
