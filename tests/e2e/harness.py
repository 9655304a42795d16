"""End-to-end test harness: real binaries, a private Redis, real sockets.

Everything here is bounded: each wait polls with a deadline and fails with
a message naming what it waited for; nothing sleeps blindly.

    redis = Redis(tmpdir); redis.start()          # unix socket, AOF fsync always
    start_redis(self)                             # the same in a TestCase
    ingest = Daemon.ingest(redis.url, tmpdir)     # --listen 127.0.0.1:0
    dev = TcpDevice(ingest.port); dev.send(b"(...)"); dev.expect(b"(...)")
    r = redis.client(); r.xrange("geoalarm:positions")

The binaries come from $GEOALARM_BIN (default ./bin of the checkout).
$GEOALARM_WRAP, when set, is a command put in front of each daemon, e.g.
"valgrind -q --leak-check=full --error-exitcode=99".
"""

import os
import re
import select
import shlex
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("GEOALARM_BIN", os.path.join(TOP, "bin"))
PREFIX = "geoalarm"


class Timeout(AssertionError):
    """A bounded wait ran out."""


def wait_until(pred, timeout=5.0, what="condition", interval=0.01):
    """Polls pred() until it returns a true value (returned) or timeout."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise Timeout("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def escape(data):
    """The SPEC's escaping of device bytes (computed here, not by the code
    under test): printable ASCII but backslash as is, backslash doubled,
    every other byte as \\xNN (lowercase hex)."""
    out = []
    for b in data:
        if b == 0x5C:
            out.append("\\\\")
        elif 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append("\\x%02x" % b)
    return "".join(out)


def free_port():
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tempdir(testcase=None):
    """A short temp dir (unix socket paths are limited to 107 bytes),
    removed at the end of testcase when one is given."""
    d = tempfile.mkdtemp(prefix="ga-", dir="/tmp")
    if testcase is not None:
        import shutil
        testcase.addCleanup(shutil.rmtree, d, True)
    return d


# ---- RESP client ----------------------------------------------------------

class RedisError(Exception):
    pass


class RespClient:
    """A minimal RESP2 client on a unix socket.  Bulk strings come back as
    str (latin-1, so any byte maps to one character)."""

    def __init__(self, path, timeout=5.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except OSError:
            self.sock.close()
            raise
        self.buf = b""

    def close(self):
        self.sock.close()

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("redis closed the connection")
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _read(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode("latin-1")
        if t == b"-":
            return RedisError(rest.decode("latin-1"))
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data.decode("latin-1")
        if t == b"*":
            n = int(rest)
            if n < 0:
                return None
            return [self._read() for _ in range(n)]
        raise ConnectionError("bad RESP type %r" % t)

    @staticmethod
    def _encode(args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if isinstance(a, str):
                a = a.encode("latin-1")
            elif isinstance(a, int):
                a = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def send(self, *args):
        self.sock.sendall(self._encode(args))

    def command(self, *args):
        self.send(*args)
        r = self._read()
        if isinstance(r, RedisError):
            raise r
        return r

    def pipeline(self, cmds):
        """Sends the commands (tuples of arguments) in one write, then
        reads every reply; raises the first error among them."""
        self.sock.sendall(b"".join(self._encode(c) for c in cmds))
        replies = [self._read() for _ in cmds]
        for r in replies:
            if isinstance(r, RedisError):
                raise r
        return replies

    def xrange(self, key, start="-", end="+"):
        """[(id, {field: value})] in stream order."""
        out = []
        for eid, fields in self.command("XRANGE", key, start, end):
            out.append((eid, dict(zip(fields[0::2], fields[1::2]))))
        return out

    def xlen(self, key):
        return self.command("XLEN", key)

    def hgetall(self, key):
        r = self.command("HGETALL", key)
        return dict(zip(r[0::2], r[1::2]))

    def subscribe(self, channel):
        self.send("SUBSCRIBE", channel)
        return self._read()

    def read_message(self, timeout=5.0):
        """Next pub/sub message (a list), or raises Timeout."""
        deadline = time.monotonic() + timeout
        while b"\r\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout("no pub/sub message within %.1f s" % timeout)
            r, _, _ = select.select([self.sock], [], [], left)
            if r:
                self._fill()
        return self._read()


# ---- redis-server ----------------------------------------------------------

class Redis:
    """A private redis-server on DIR/redis.sock, no TCP port, AOF with
    fsync on every write (so what was acknowledged survives a SIGKILL)."""

    def __init__(self, directory):
        self.dir = directory
        self.sock = os.path.join(directory, "redis.sock")
        self.url = "unix://" + self.sock
        self.proc = None
        self.log = os.path.join(directory, "redis.log")

    def start(self, timeout=10.0):
        if os.path.exists(self.sock):
            os.unlink(self.sock)
        self.proc = subprocess.Popen(
            ["redis-server", "--port", "0", "--unixsocket", self.sock,
             "--unixsocketperm", "700", "--dir", self.dir,
             "--appendonly", "yes", "--appendfsync", "always", "--save", "",
             "--logfile", self.log],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        wait_until(self._pong, timeout, "redis-server to answer PING")
        return self

    def _pong(self):
        if self.proc.poll() is not None:
            raise AssertionError("redis-server exited (%d); see %s"
                                 % (self.proc.returncode, self.log))
        try:
            c = RespClient(self.sock, timeout=1.0)
            try:
                return c.command("PING") == "PONG"
            finally:
                c.close()
        except (OSError, RedisError):
            return False

    def kill(self):
        """SIGKILL: no shutdown, no final save."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def client(self, timeout=5.0):
        return RespClient(self.sock, timeout)


def start_redis(testcase):
    """Gives testcase a fresh temp dir, a private redis-server in it and a
    client: testcase.dir, testcase.redis, testcase.r.  When the test ends
    the client is closed, the server stopped and the dir removed (a client
    the test puts in testcase.r later is the test's to close)."""
    testcase.dir = tempdir(testcase)
    testcase.redis = Redis(testcase.dir).start()
    testcase.addCleanup(testcase.redis.stop)
    testcase.r = testcase.redis.client()
    testcase.addCleanup(testcase.r.close)


# ---- daemons --------------------------------------------------------------

class Daemon:
    """A geoalarm binary run in the background, its stderr in a file."""

    def __init__(self, argv, logpath, env=None, nofile=None):
        argv = shlex.split(os.environ.get("GEOALARM_WRAP", "")) + list(argv)
        self.argv = argv
        self.logpath = logpath
        self.logfile = open(logpath, "wb")
        def limits():
            if nofile is not None:
                import resource
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=self.logfile, stderr=self.logfile,
                                     env=env, preexec_fn=limits)
        self.port = None
        self.metrics_port = None

    @classmethod
    def ingest(cls, redis_url, directory, *extra, metrics=False, name="ingest",
               nofile=None):
        """Starts geoalarm-ingest on 127.0.0.1 with a kernel-chosen port and
        waits until it listens (and serves metrics, when asked).  nofile
        caps its open files (RLIMIT_NOFILE)."""
        argv = [os.path.join(BIN, "geoalarm-ingest"), "--redis", redis_url,
                "--listen", "127.0.0.1:0"]
        if metrics:
            argv += ["--metrics", "127.0.0.1:0"]
        argv += list(extra)
        d = cls(argv, os.path.join(directory, name + ".log"), nofile=nofile)
        m = d.wait_log(r"listening on 127\.0\.0\.1:(\d+) \(tcp and udp\)", 30)
        d.port = int(m.group(1))
        if metrics:
            m = d.wait_log(r"metrics: serving http://127\.0\.0\.1:(\d+)/metrics")
            d.metrics_port = int(m.group(1))
        return d

    def log(self):
        with open(self.logpath, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def wait_log(self, pattern, timeout=10.0):
        """Waits until the log matches pattern; returns the match."""
        rx = re.compile(pattern)

        def found():
            m = rx.search(self.log())
            if m is None and self.proc.poll() is not None:
                raise AssertionError("%s exited (%d) before logging %r:\n%s"
                                     % (self.argv[0], self.proc.returncode,
                                        pattern, self.log()))
            return m
        return wait_until(found, timeout, "log line %r" % pattern)

    def alive(self):
        return self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=10.0):
        """SIGTERM and wait; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                raise AssertionError("%s did not stop within %.0f s"
                                     % (self.argv[0], timeout))
        self.logfile.close()
        return self.proc.returncode

    def instrumented(self):
        """True when the daemon runs under ASan or valgrind (memory figures
        then mean nothing)."""
        if os.environ.get("GEOALARM_WRAP"):
            return True
        try:
            with open("/proc/%d/maps" % self.proc.pid) as f:
                return "libasan" in f.read()
        except OSError:
            return False

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def http_get(self, path, timeout=5.0):
        """(status, body) of GET path on the metrics port."""
        url = "http://127.0.0.1:%d%s" % (self.metrics_port, path)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()


def run(argv, timeout=10.0, stdin=b""):
    """Runs a binary to completion: (status, stdout, stderr) as text."""
    p = subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), \
        p.stderr.decode("utf-8", "replace")


# ---- devices ----------------------------------------------------------------

class TcpDevice:
    """A tracker on TCP: sends bytes, reads replies with deadlines."""

    def __init__(self, port, host="127.0.0.1", timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.buf = b""

    @property
    def name(self):
        """"ip:port" as the daemon sees this peer."""
        h, p = self.sock.getsockname()[:2]
        return "%s:%d" % (h, p)

    def send(self, data):
        self.sock.sendall(data)

    def send_bytewise(self, data, pause=0.001):
        """One send per byte, paced so most arrive as separate reads."""
        for i in range(len(data)):
            self.sock.sendall(data[i:i + 1])
            time.sleep(pause)

    def recv(self, n, timeout=None):
        """Exactly n bytes, or raises Timeout / ConnectionError."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout("got %r, wanted %d bytes" % (self.buf, n))
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            if not data:
                raise ConnectionError("closed by the daemon after %r" % self.buf)
            self.buf += data
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def expect(self, data, timeout=None):
        got = self.recv(len(data), timeout)
        if got != data:
            raise AssertionError("reply %r, expected %r" % (got, data))

    def nothing_more(self, wait=0.3):
        """True when no byte arrives within wait seconds (a bounded check
        that no reply was sent)."""
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return True
        self.buf += data
        return False

    def closed_by_peer(self, timeout=5.0):
        """True once the daemon has closed the connection (EOF or reset)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except (ConnectionResetError, BrokenPipeError):
                return True
            if not data:
                return True
            self.buf += data
        return False

    def close(self):
        self.sock.close()


class UdpDevice:
    """A tracker on UDP, from its own socket (so replies can be checked to
    come back to this source address)."""

    def __init__(self, port, host="127.0.0.1", timeout=5.0):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.dest = (host, port)
        self.timeout = timeout

    @property
    def name(self):
        h, p = self.sock.getsockname()[:2]
        return "%s:%d" % (h, p)

    def send(self, data):
        self.sock.sendto(data, self.dest)

    def recv(self, timeout=None):
        """(data, source address) of the next datagram, or raises Timeout."""
        self.sock.settimeout(timeout or self.timeout)
        try:
            return self.sock.recvfrom(65536)
        except socket.timeout:
            raise Timeout("no datagram within %.1f s" % (timeout or self.timeout))

    def close(self):
        self.sock.close()
