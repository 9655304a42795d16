"""geoalarm-ingest end to end: real devices on TCP and UDP, a real Redis.

Expected values come from SPEC.md and protocols/TK103.md, worked out by
hand (times with calendar.timegm, odometers from the hex), not from the
daemon's own output.
"""

import calendar
import os
import random
import signal
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (BIN, Daemon, Redis, TcpDevice, UdpDevice, escape,  # noqa: E402
                     run, tempdir, wait_until)

P = harness.PREFIX
POS = P + ":positions"
REJ = P + ":rejects"

TK_ID = "076543210987"
TK_BP05 = (b"(076543210987BP05354321076543210180312A4807.0380N01131.0000E"
           b"045.3095612087.2501000000L0001E240)")
TK_BP00 = b"(076543210987BP00HSO)"
TK_BO01 = (b"(076543210987BO011180312A4807.0380N01131.0000E000.0095700000.00"
           b"10000000L0001E2F5)")
IMEI = "864123456789012"
GPS_LOGIN = b"##,imei:864123456789012,A;"
GPS_HEARTBEAT = b"864123456789012;"
GPS_TRACKER = (b"imei:864123456789012,tracker,180312105612,,F,095612.000,A,"
               b"4807.0380,N,01131.0000,E,24.46,87.25;")
GPS_SOS = (b"imei:864123456789012,help me,1803121056,,F,095612.000,A,"
           b"4807.0380,N,01131.0000,E,0.00,;")
GT06 = bytes.fromhex("78780d010351608080779288002273c20d0a")
HTTP = b"GET / HTTP/1.1\r\nHost: tracker.example\r\nUser-Agent: t\r\n\r\n"


def ms(y, mo, d, h, mi, s):
    return calendar.timegm((y, mo, d, h, mi, s)) * 1000


def br00(dev_id, h, m, s):
    """A BR00 position at 2018-03-12 h:m:s UTC (fixed layout)."""
    return ("(%sBR00180312A4807.0380N01131.0000E045.3%02d%02d%02d087.25"
            "01000000L0001E2F5)" % (dev_id, h, m, s)).encode()


def now_ms():
    return int(time.time() * 1000)


class IngestCase(unittest.TestCase):
    """A fresh redis-server and geoalarm-ingest per test."""

    ingest_args = ()

    def setUp(self):
        self.dir = tempdir(self)
        self.redis = Redis(self.dir).start()
        self.addCleanup(self.redis.stop)
        self.ingest = self.start_ingest(*self.ingest_args)
        self.r = self.redis.client()
        self.addCleanup(self.r.close)

    def start_ingest(self, *args):
        d = Daemon.ingest(self.redis.url, self.dir, *args, metrics=True)
        self.addCleanup(self.stop_ingest, d)
        return d

    def stop_ingest(self, d):
        if d.proc.poll() is None:
            self.assertEqual(d.stop(), 0, "ingest exit status\n" + d.log())
        d.logfile.close()

    def client(self):
        # A fresh client: after a Redis restart the old socket is dead.
        c = self.redis.client()
        self.addCleanup(c.close)
        return c

    def tcp(self):
        d = TcpDevice(self.ingest.port)
        self.addCleanup(d.close)
        return d

    def udp(self):
        d = UdpDevice(self.ingest.port)
        self.addCleanup(d.close)
        return d

    def entries(self, key, n, timeout=10.0):
        """Waits until key has at least n entries; returns them all."""
        wait_until(lambda: self.client_len(key) >= n, timeout,
                   "%d entries on %s" % (n, key))
        return self.r.xrange(key)

    def client_len(self, key):
        return self.r.xlen(key)

    def assert_position(self, e, **want):
        for k, v in want.items():
            self.assertIn(k, e, "field %s missing from %r" % (k, e))
            self.assertEqual(e[k], v, "field %s of %r" % (k, e))


class TcpTest(IngestCase):

    def test_tk103_login_reply_and_position(self):
        dev = self.tcp()
        t0 = now_ms()
        dev.send(TK_BP05)
        dev.expect(b"(076543210987AP05)")
        [(_, e)] = self.entries(POS, 1)
        t1 = now_ms()
        self.assert_position(
            e, device=TK_ID, proto="tk103", time=str(ms(2018, 3, 12, 9, 56, 12)),
            valid="1", lat="48.117300", lon="11.516667", speed="45.3",
            course="87.25", odometer="123456", ignition="1", charge="1",
            imei="354321076543210", raw=TK_BP05.decode(), transport="tcp",
            peer=dev.name)
        self.assertNotIn("alarm", e)
        self.assertTrue(t0 <= int(e["recv"]) <= t1, (t0, e["recv"], t1))

    def test_tk103_heartbeat_is_answered_not_recorded(self):
        dev = self.tcp()
        dev.send(TK_BP00)
        dev.expect(b"(076543210987AP01HSO)")
        # A position after it is the first entry: the heartbeat made none.
        dev.send(br00(TK_ID, 9, 56, 42))
        [(_, e)] = self.entries(POS, 1)
        self.assertEqual(e["time"], str(ms(2018, 3, 12, 9, 56, 42)))
        self.assertEqual(e["odometer"], "123637")
        self.assertTrue(dev.nothing_more(), "BR00 must get no reply")

    def test_message_split_byte_by_byte(self):
        dev = self.tcp()
        dev.send_bytewise(TK_BP05)
        dev.expect(b"(076543210987AP05)")
        [(_, e)] = self.entries(POS, 1)
        self.assertEqual(e["raw"], TK_BP05.decode())
        self.assertEqual(e["lat"], "48.117300")

    def test_three_messages_in_one_write(self):
        dev = self.tcp()
        dev.send(br00(TK_ID, 10, 0, 1) + br00(TK_ID, 10, 0, 2) + br00(TK_ID, 10, 0, 3))
        got = self.entries(POS, 3)
        self.assertEqual([e["time"] for _, e in got],
                         [str(ms(2018, 3, 12, 10, 0, s)) for s in (1, 2, 3)])

    def test_tk103_alarm_and_power_cut_status(self):
        dev = self.tcp()
        dev.send(TK_BO01)
        [(_, e)] = self.entries(POS, 1)
        # BO01 code 1 is an accident; status "10000000": main power cut.
        self.assert_position(e, alarm="accident", charge="0", speed="0.0",
                             time=str(ms(2018, 3, 12, 9, 57, 0)))

    def test_gps103_login_heartbeat_and_report(self):
        dev = self.tcp()
        dev.send(GPS_LOGIN)
        dev.expect(b"LOAD")
        dev.send(GPS_HEARTBEAT)
        dev.expect(b"ON")
        dev.send(GPS_TRACKER)
        [(_, e)] = self.entries(POS, 1)
        # Local 10:56 against UTC 09:56:12: UTC+1.  24.46 kn = 45.3 km/h.
        self.assert_position(
            e, device=IMEI, proto="gps103", time=str(ms(2018, 3, 12, 9, 56, 12)),
            valid="1", lat="48.117300", lon="11.516667", speed="45.3",
            course="87.25", raw=GPS_TRACKER.decode(), transport="tcp",
            peer=dev.name)
        self.assertTrue(dev.nothing_more(), "a tracker report gets no reply")

    def test_gps103_sos_is_acknowledged(self):
        dev = self.tcp()
        dev.send(GPS_LOGIN)
        dev.expect(b"LOAD")
        dev.send(GPS_SOS)
        dev.expect(b"**,imei:864123456789012,E;")
        [(_, e)] = self.entries(POS, 1)
        self.assert_position(e, alarm="sos", device=IMEI,
                             time=str(ms(2018, 3, 12, 9, 56, 12)))

    def test_device_hash_online_then_offline(self):
        dev = self.tcp()
        dev.send(TK_BP05)
        dev.expect(b"(076543210987AP05)")
        [(_, e)] = self.entries(POS, 1)
        key = "%s:device:%s" % (P, TK_ID)
        h = wait_until(lambda: self.r.hgetall(key), 5, "device hash")
        self.assertEqual(h["proto"], "tk103")
        self.assertEqual(h["transport"], "tcp")
        self.assertEqual(h["peer"], dev.name)
        self.assertEqual(h["online"], "1")
        self.assertEqual(h["last_seen"], e["recv"])
        self.assertEqual(h["lat"], "48.117300")
        self.assertEqual(h["lon"], "11.516667")
        self.assertEqual(h["time"], str(ms(2018, 3, 12, 9, 56, 12)))
        dev.close()
        wait_until(lambda: self.r.hgetall(key).get("online") == "0", 5,
                   "online 0 after the device disconnected")


class UdpTest(IngestCase):

    def test_replies_go_back_to_the_datagram_source(self):
        a, b = self.udp(), self.udp()
        a.send(TK_BP00)
        b.send(GPS_LOGIN)
        data, src = a.recv()
        self.assertEqual(data, b"(076543210987AP01HSO)")
        self.assertEqual(src, ("127.0.0.1", self.ingest.port))
        data, _ = b.recv()
        self.assertEqual(data, b"LOAD")
        b.send(GPS_HEARTBEAT)
        self.assertEqual(b.recv()[0], b"ON")

    def test_junk_datagrams_are_all_rejected_but_not_all_logged(self):
        junk = self.udp()
        for i in range(200):
            junk.send(b"\x00\xffjunk %d" % i)
        good = self.udp()
        good.send(GPS_LOGIN)
        self.assertEqual(good.recv()[0], b"LOAD")
        got = self.entries(REJ, 200)
        self.assertEqual(len(got), 200)
        self.assertEqual({e["peer"] for _, e in got}, {junk.name})
        self.assertEqual(got[7][1]["raw"], escape(b"\x00\xffjunk 7"))
        self.assertEqual(got[7][1]["transport"], "udp")
        # At most 20 lines a second, the rest summed up.
        lines = [l for l in self.ingest.log().splitlines() if " reject udp " in l]
        self.assertLessEqual(len(lines), 60)

    def test_udp_positions(self):
        a, b = self.udp(), self.udp()
        a.send(TK_BP05)
        self.assertEqual(a.recv()[0], b"(076543210987AP05)")
        b.send(GPS_TRACKER)
        got = self.entries(POS, 2)
        by_dev = {e["device"]: e for _, e in got}
        self.assert_position(by_dev[TK_ID], transport="udp", peer=a.name,
                             lat="48.117300", proto="tk103",
                             raw=TK_BP05.decode())
        self.assert_position(by_dev[IMEI], transport="udp", peer=b.name,
                             speed="45.3", proto="gps103")
        h = self.r.hgetall("%s:device:%s" % (P, IMEI))
        self.assertEqual(h.get("transport"), "udp")


class RejectTest(IngestCase):

    def assert_rejected_and_closed(self, data):
        dev = self.tcp()
        dev.send(data)
        self.assertTrue(dev.closed_by_peer(5), "connection not closed")
        [(_, e)] = self.entries(REJ, 1)
        self.assertEqual(e["peer"], dev.name)
        self.assertEqual(e["transport"], "tcp")
        self.assertTrue(e["reason"], "empty reason")
        self.assertTrue(escape(data).startswith(e["raw"]) and e["raw"],
                        "raw %r is not a prefix of the escaped input" % e["raw"])
        self.assertEqual(self.r.xlen(POS), 0)
        self.assertTrue(self.ingest.alive())
        return e

    def test_gt06_is_rejected(self):
        e = self.assert_rejected_and_closed(GT06)
        self.assertEqual(e["raw"], escape(GT06))

    def test_http_request_is_rejected(self):
        self.assert_rejected_and_closed(HTTP)

    def test_reject_raw_is_cut_at_512_bytes(self):
        dev = self.tcp()
        # More than --max-frame (2048) of bytes of neither protocol.
        junk = bytes([0x80 | (i % 64) for i in range(3000)])
        dev.send(junk)
        self.assertTrue(dev.closed_by_peer(5))
        got = self.entries(REJ, 1)
        for _, e in got:
            self.assertLessEqual(len(e["raw"]), 512)
            self.assertTrue(e["raw"].startswith("\\x8"), e["raw"][:16])

    def test_garbage_and_endless_frame_do_not_hurt_others(self):
        rng = random.Random(1234)
        noise = bytes(rng.getrandbits(8) for _ in range(1 << 20))
        good = self.tcp()
        good.send(TK_BP00)
        good.expect(b"(076543210987AP01HSO)")
        flood, endless = self.tcp(), self.tcp()
        stop = threading.Event()
        cut = {}

        def pour(dev, chunks, label):
            try:
                for c in chunks:
                    if stop.is_set():
                        break
                    dev.sock.settimeout(5)
                    dev.sock.sendall(c)
            except OSError:
                cut[label] = True

        def endless_chunks():
            yield b"(076543210987BR00"
            while True:
                yield b"A" * 4096

        threads = [
            threading.Thread(target=pour, args=(
                flood, (noise[i:i + 65536] for i in range(0, len(noise), 65536)),
                "flood")),
            threading.Thread(target=pour, args=(endless, endless_chunks(), "endless")),
        ]
        for t in threads:
            t.start()
        try:
            # Meanwhile the good device goes on being served.
            for s in range(10):
                good.send(br00(TK_ID, 11, 0, s))
                good.send(TK_BP00)
                good.expect(b"(076543210987AP01HSO)")
            got = [e for _, e in self.entries(POS, 10) if e["peer"] == good.name]
            self.assertEqual(len(got), 10)
            self.assertTrue(endless.closed_by_peer(10) or "endless" in cut,
                            "endless frame not cut off")
            self.assertTrue(flood.closed_by_peer(10) or "flood" in cut,
                            "1 MiB of noise not cut off")
        finally:
            stop.set()
            for t in threads:
                t.join(10)
        self.assertTrue(self.ingest.alive())
        peers = {e["peer"] for _, e in self.r.xrange(REJ)}
        self.assertIn(endless.name, peers)
        self.assertIn(flood.name, peers)
        # And the daemon still takes new devices.
        late = self.tcp()
        late.send(GPS_LOGIN)
        late.expect(b"LOAD")


class IdleTest(IngestCase):
    ingest_args = ("--idle-timeout", "1")

    def test_silent_peer_is_closed(self):
        dev = self.tcp()
        dev.send(TK_BP00)
        dev.expect(b"(076543210987AP01HSO)")
        t0 = time.monotonic()
        self.assertTrue(dev.closed_by_peer(5), "idle peer not closed")
        self.assertGreaterEqual(time.monotonic() - t0, 0.8)
        key = "%s:device:%s" % (P, TK_ID)
        wait_until(lambda: self.r.hgetall(key).get("online") == "0", 5,
                   "online 0 after the idle timeout")


class RedisOutageTest(IngestCase):

    def test_reports_survive_a_redis_kill_in_order(self):
        dev = self.tcp()
        dev.send(br00(TK_ID, 12, 0, 0))
        self.entries(POS, 1)
        self.redis.kill()
        self.ingest.wait_log(r"redis: disconnected")
        n = 30
        for i in range(1, n + 1):
            dev.send(br00(TK_ID, 12, i // 60, i % 60))
        udp = self.udp()
        udp.send(GPS_LOGIN)
        self.assertEqual(udp.recv()[0], b"LOAD", "devices answered while Redis is down")
        # Wait until ingest has read them all (its own count), then restart.
        self.redis.start()
        self.r = self.client()
        got = self.entries(POS, n + 1, timeout=20)
        self.assertEqual(len(got), n + 1)
        self.assertEqual([e["time"] for _, e in got],
                         [str(ms(2018, 3, 12, 12, i // 60, i % 60)) for i in range(n + 1)])
        self.ingest.wait_log(r"redis: connected .*\n(.|\n)*redis: connected")


class StalledRedisTest(IngestCase):
    ingest_args = ("--redis-timeout", "1")

    def test_stopped_redis_is_dropped_and_nothing_lost(self):
        dev = self.tcp()
        dev.send(br00(TK_ID, 14, 0, 0))
        self.entries(POS, 1)
        self.redis.proc.send_signal(signal.SIGSTOP)
        try:
            for s in range(1, 11):
                dev.send(br00(TK_ID, 14, 0, s))
            self.ingest.wait_log(r"no reply within 1000 ms")
            dev.send(TK_BP00)
            dev.expect(b"(076543210987AP01HSO)", timeout=5)
        finally:
            self.redis.proc.send_signal(signal.SIGCONT)
        want = [str(ms(2018, 3, 12, 14, 0, s)) for s in range(11)]

        def all_there():
            times = [e["time"] for _, e in self.r.xrange(POS)]
            return set(want) <= set(times) and times
        times = wait_until(all_there, 20, "the 11 positions")
        # Commands the stopped server had already read may run twice
        # (at least once delivery); first occurrences keep the order.
        first = []
        for t in times:
            if t not in first:
                first.append(t)
        self.assertEqual(first, want)


class BufferTest(IngestCase):
    ingest_args = ("--buffer", "5")

    def test_full_buffer_drops_the_oldest(self):
        dev = self.tcp()
        dev.send(TK_BP00)
        dev.expect(b"(076543210987AP01HSO)")
        wait_until(lambda: self.r.hgetall("%s:device:%s" % (P, TK_ID)), 5, "login")
        self.redis.kill()
        self.ingest.wait_log(r"redis: disconnected")
        for i in range(12):
            dev.send(br00(TK_ID, 13, 0, i))
        # A heartbeat answered after the 12 positions: all have been read.
        dev.send(TK_BP00)
        dev.expect(b"(076543210987AP01HSO)")
        self.ingest.wait_log(r"outbox: full")
        self.redis.start()
        self.r = self.client()
        # 12 positions then the heartbeat's device refresh: the newest 5
        # entries are positions 8..11 and the refresh.
        got = self.entries(POS, 4, timeout=20)
        self.assertEqual([e["time"] for _, e in got],
                         [str(ms(2018, 3, 12, 13, 0, s)) for s in range(8, 12)])
        status, body = self.ingest.http_get("/metrics")
        self.assertIn("geoalarm_ingest_dropped_total 8\n", body)


class BackpressureTest(IngestCase):
    """Redis connected but slower than the devices (write commands paused
    most of the time from a side connection), a buffer of 200: the TCP
    peers are held rather than their reports dropped."""
    ingest_args = ("--buffer", "200")
    devices = ["0765432100%02d" % k for k in range(4)]
    per_device = 1000

    def slow_redis(self, stop):
        c = self.client()
        while not stop.is_set():
            # XADD and HSET wait 300 ms out of every 400 or so.
            c.command("CLIENT", "PAUSE", "300", "WRITE")
            stop.wait(0.4)

    def send_all(self, dev_id, errors):
        try:
            dev = TcpDevice(self.ingest.port)
            self.addCleanup(dev.close)
            # A held peer's sends block for a while: that is the point.
            dev.sock.settimeout(60)
            dev.send(b"".join(br00(dev_id, 10, i // 60, i % 60)
                              for i in range(self.per_device)))
        except Exception as e:  # reported by the test thread
            errors.append(e)

    def metric(self, name):
        _, body = self.ingest.http_get("/metrics")
        for line in body.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        self.fail("no %s in /metrics" % name)

    def test_slow_redis_holds_tcp_peers_and_loses_nothing(self):
        stop, errors = threading.Event(), []
        slow = threading.Thread(target=self.slow_redis, args=(stop,))
        senders = [threading.Thread(target=self.send_all, args=(d, errors))
                   for d in self.devices]
        slow.start()
        try:
            for t in senders:
                t.start()
            self.ingest.wait_log(r"backpressure: \d+ of 200 entries queued "
                                 r"for Redis: not reading from the \d+ TCP "
                                 r"peers until 100", 20)
            # A device connecting meanwhile still has its login answered,
            # once reading resumes.
            late = self.tcp()
            late.send(TK_BP00)
            late.expect(b"(076543210987AP01HSO)", timeout=10)
            for t in senders:
                t.join(60)
            self.assertEqual(errors, [])
        finally:
            stop.set()
            slow.join(10)
        total = len(self.devices) * self.per_device
        got = self.entries(POS, total, timeout=60)
        self.assertEqual(len(got), total)
        # Every report of every device, each device's in the order sent.
        for d in self.devices:
            self.assertEqual(
                [e["time"] for _, e in got if e["device"] == d],
                [str(ms(2018, 3, 12, 10, i // 60, i % 60))
                 for i in range(self.per_device)])
        self.assertEqual(self.metric("geoalarm_ingest_dropped_total"), 0)
        self.assertGreater(
            self.metric("geoalarm_ingest_backpressure_seconds_total"), 0)
        self.assertEqual(self.metric("geoalarm_ingest_backpressure"), 0)
        self.assertNotIn("outbox: full", self.ingest.log())
        self.ingest.wait_log(r"backpressure: queue down: reading from the "
                             r"TCP peers again after \d+\.\d{3} s")


class HeldIdleTest(IngestCase):
    """A hold is not silence: the time peers are held does not count
    toward their idle timeout."""
    ingest_args = ("--buffer", "100", "--idle-timeout", "1")

    def test_held_peers_do_not_time_out_while_held(self):
        quiet = self.tcp()
        quiet.send(TK_BP00)
        quiet.expect(b"(076543210987AP01HSO)")
        # Redis takes no write for 2.5 s: the busy peer fills the buffer
        # of 100 and every peer is held for longer than the idle timeout.
        self.client().command("CLIENT", "PAUSE", "2500", "WRITE")
        busy = self.tcp()
        busy.sock.settimeout(30)
        busy.send(b"".join(br00("076543210900", 11, i // 60, i % 60)
                           for i in range(300)))
        self.ingest.wait_log(r"backpressure: .*not reading from the 2 TCP peers")
        m = self.ingest.wait_log(r"reading from the TCP peers again after "
                                 r"(\d+\.\d+) s", 10)
        self.assertGreater(float(m.group(1)), 1.0)
        got = self.entries(POS, 300, timeout=20)
        self.assertEqual([e["time"] for _, e in got],
                         [str(ms(2018, 3, 12, 11, i // 60, i % 60))
                          for i in range(300)])
        self.assertNotIn("outbox: full", self.ingest.log())
        # Both go idle, but only once reading has resumed.
        self.assertTrue(quiet.closed_by_peer(10), "quiet peer not closed")
        self.assertTrue(busy.closed_by_peer(10), "busy peer not closed")
        log = self.ingest.log()
        resumed = log.index("reading from the TCP peers again")
        self.assertEqual(log.count("closed: idle for 1 s"), 2, log)
        self.assertGreater(log.index("closed: idle for 1 s"), resumed, log)


class ShutdownTest(IngestCase):

    def test_stop_writes_what_the_kernel_had_taken(self):
        dev = self.tcp()
        dev.send(TK_BP00)
        dev.expect(b"(076543210987AP01HSO)")
        udp = self.udp()
        # Stopped, the daemon reads nothing: what the devices send waits
        # in its sockets, sent as far as they know, when SIGTERM comes.
        self.ingest.proc.send_signal(signal.SIGSTOP)
        try:
            dev.send(b"".join(br00(TK_ID, 15, i // 60, i % 60)
                              for i in range(400)))
            for i in range(1000):
                udp.send(GPS_TRACKER.replace(
                    b"095612.000", b"09%02d%02d.000" % (i // 60, i % 60)))
            self.ingest.proc.send_signal(signal.SIGTERM)
        finally:
            self.ingest.proc.send_signal(signal.SIGCONT)
        self.assertEqual(self.ingest.proc.wait(15), 0, self.ingest.log())
        got = self.r.xrange(POS)
        self.assertEqual(len(got), 1400)
        self.assertEqual([e["time"] for _, e in got if e["device"] == TK_ID],
                         [str(ms(2018, 3, 12, 15, i // 60, i % 60))
                          for i in range(400)])
        self.assertEqual(len({e["time"] for _, e in got
                              if e["device"] == IMEI}), 1000)


class MetricsTest(IngestCase):

    def test_metrics_and_healthz(self):
        dev = self.tcp()
        dev.send(TK_BP05)
        dev.expect(b"(076543210987AP05)")
        self.entries(POS, 1)
        bad = self.tcp()
        bad.send(GT06)
        self.assertTrue(bad.closed_by_peer(5))
        self.entries(REJ, 1)

        def scraped():
            status, body = self.ingest.http_get("/metrics")
            return body if "geoalarm_ingest_written_total 2" in body else None
        # Two outbox entries: the BP05 (XADD and HSET) and the GT06 reject.
        body = wait_until(scraped, 5, "2 entries written in /metrics")
        self.assertIn("geoalarm_ingest_reports_total 1\n", body)
        self.assertIn("geoalarm_ingest_connections 1\n", body)
        self.assertIn("geoalarm_ingest_redis_connected 1\n", body)
        self.assertIn('geoalarm_ingest_frames_total{result="report"} 1\n', body)
        self.assertIn("# TYPE geoalarm_ingest_write_latency_seconds histogram", body)
        self.assertIn('geoalarm_ingest_write_latency_seconds_bucket{le="+Inf"} 2\n', body)
        self.assertRegex(body, r'geoalarm_ingest_rejects_total\{reason="[^"]+"\} 1\n')
        self.assertEqual(self.ingest.http_get("/healthz"), (200, "ok\n"))
        self.redis.kill()
        self.ingest.wait_log(r"redis: disconnected")
        status, body = self.ingest.http_get("/healthz")
        self.assertEqual(status, 503)
        self.redis.start()


class DescriptorTest(IngestCase):

    def start_ingest(self, *args):
        if args == ():
            return None
        return super().start_ingest(*args)

    def test_out_of_descriptors_pauses_accepting(self):
        # About a dozen descriptors are the daemon's own; the rest is for
        # peers.  The surplus devices wait in the listen backlog.
        d = Daemon.ingest(self.redis.url, self.dir, nofile=24)
        self.addCleanup(self.stop_ingest, d)
        devs = []
        for i in range(30):
            t = TcpDevice(d.port)
            self.addCleanup(t.close)
            t.send(("(%012dBP00HSO)" % i).encode())
            devs.append(t)
        d.wait_log(r"accept: Too many open files .*not accepting for 1000 ms")
        served = [t for i, t in enumerate(devs)
                  if not t.nothing_more(0.05)]
        self.assertGreater(len(served), 0)
        self.assertLess(len(served), 30)
        for t in served:
            t.close()
        waiting = [(i, t) for i, t in enumerate(devs) if t not in served]
        # Closing peers frees descriptors: the rest are taken in turn.
        for i, t in waiting[:len(served) // 2]:
            t.buf = b""
            t.expect(("(%012dAP01HSO)" % i).encode(), timeout=10)
        self.assertTrue(d.alive())


class MemoryTest(IngestCase):

    def test_idle_devices_cost_little_memory(self):
        if self.ingest.instrumented():
            self.skipTest("memory use under ASan or valgrind is not the real one")
        n = 400
        warm = [self.tcp() for _ in range(20)]
        for d in warm:
            d.send(TK_BP00)
            d.expect(b"(076543210987AP01HSO)")
        before = self.ingest.rss_kib()
        devs = []
        for i in range(n):
            d = TcpDevice(self.ingest.port)
            self.addCleanup(d.close)
            d.send(("(%012dBP00HSO)" % i).encode())
            devs.append(d)
        for i, d in enumerate(devs):
            d.expect(("(%012dAP01HSO)" % i).encode())
        per = (self.ingest.rss_kib() - before) * 1024 / n
        self.assertLessEqual(per, 4096, "%.0f bytes per connected device" % per)


class DecodeTest(unittest.TestCase):
    """--decode: offline, no network, no Redis."""

    def decode(self, *args, stdin=b""):
        return run([os.path.join(BIN, "geoalarm-ingest"), "--decode"] + list(args),
                   stdin=stdin)

    def test_files_are_connections_frames_are_lines(self):
        import json
        d = tempdir(self)
        a, b = os.path.join(d, "a"), os.path.join(d, "b")
        with open(a, "wb") as f:
            f.write(TK_BP00 + TK_BP05[:30])
        with open(b, "wb") as f:
            f.write(TK_BP05[30:])
        status, out, err = self.decode(a, b)
        self.assertEqual(status, 0, err)
        lines = [json.loads(x) for x in out.splitlines()]
        # a: the heartbeat, then an unclosed frame at its end of file; b
        # is a new connection that starts mid-frame.
        self.assertEqual(lines[0], {"frame": TK_BP00.decode(), "report": None,
                                    "reply": "(076543210987AP01HSO)", "error": None})
        self.assertIsNone(lines[1]["report"])
        self.assertTrue(lines[1]["error"])
        status, out, _ = self.decode(stdin=TK_BP05)
        [line] = [json.loads(x) for x in out.splitlines()]
        self.assertEqual(line["reply"], "(076543210987AP05)")
        rep = line["report"]
        self.assertEqual(rep["device"], TK_ID)
        self.assertEqual(rep["lat"], 48.1173)
        self.assertEqual(rep["lon"], 11.516667)
        self.assertEqual(rep["time"], ms(2018, 3, 12, 9, 56, 12))
        for k in ("raw", "recv", "transport", "peer"):
            self.assertNotIn(k, rep)

    def test_udp_each_file_is_a_datagram(self):
        import json
        d = tempdir(self)
        a = os.path.join(d, "a")
        with open(a, "wb") as f:
            f.write(GPS_LOGIN)
        status, out, err = self.decode("--udp", a)
        self.assertEqual(status, 0, err)
        [line] = [json.loads(x) for x in out.splitlines()]
        self.assertEqual(line["reply"], "LOAD")

    def test_unreadable_file(self):
        status, _, err = self.decode("/nonexistent/file")
        self.assertNotEqual(status, 0)
        self.assertIn("/nonexistent/file", err)


class FlagTest(unittest.TestCase):

    def ingest(self, *args, env=None):
        return run([os.path.join(BIN, "geoalarm-ingest")] + list(args))

    def test_help_and_version(self):
        status, out, _ = self.ingest("--help")
        self.assertEqual(status, 0)
        self.assertIn("usage: geoalarm-ingest", out)
        for flag in ("--listen", "--redis", "--prefix", "--log-level",
                     "--max-frame", "--idle-timeout", "--buffer",
                     "--stream-maxlen", "--metrics", "--decode"):
            self.assertIn(flag, out)
        status, out, _ = self.ingest("--version")
        self.assertEqual(status, 0)
        self.assertTrue(out.startswith("geoalarm-ingest "), out)

    def test_bad_flags_exit_2_naming_the_flag(self):
        for args, flag in ((["--bogus"], "--bogus"),
                           (["--buffer", "0"], "--buffer"),
                           (["--max-frame", "x"], "--max-frame"),
                           (["--listen", "nowhere"], "--listen"),
                           (["--log-level", "loud"], "--log-level"),
                           (["--redis", "http://x"], "--redis"),
                           (["--idle-timeout"], "--idle-timeout")):
            status, out, err = self.ingest(*args)
            self.assertEqual(status, 2, args)
            lines = err.strip().splitlines()
            self.assertEqual(len(lines), 1, err)
            self.assertIn(flag, lines[0])

    def test_port_in_use_fails(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            port = s.getsockname()[1]
            status, _, err = run([os.path.join(BIN, "geoalarm-ingest"),
                                  "--listen", "127.0.0.1:%d" % port,
                                  "--redis", "unix:///nonexistent/redis.sock"])
        self.assertNotEqual(status, 0)
        self.assertIn("listen", err)


if __name__ == "__main__":
    unittest.main()
