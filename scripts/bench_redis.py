#!/usr/bin/env python3
"""Redis side of `make bench` (stdlib only): what a shell script cannot do
cheaply with redis-cli.

  bench_redis.py SOCK load-fences PREFIX FILE.geojson
      HSET PREFIX:fences id feature for every feature (the fence store
      contract), then INCR PREFIX:fences:version, PUBLISH PREFIX:control fences.
  bench_redis.py SOCK xlen KEY
  bench_redis.py SOCK wait-xlen KEY N TIMEOUT
      waits until XLEN KEY >= N, or TIMEOUT s, or no growth for 3 s;
      prints the final length.
  bench_redis.py SOCK xlen-rate KEY DELAY SECONDS [PID...]
      after DELAY s, the growth of XLEN KEY over SECONDS s: prints
      "ENTRIES_PER_S" and, for each PID, its CPU time per entry (us).
  bench_redis.py SOCK stream-window KEY
      prints "LEN FIRST_MS LAST_MS" (ids are the server's XADD times).
  bench_redis.py SOCK engine-rate PREFIX GROUP N MAXSEC [PID]
      polls XINFO GROUPS every 20 ms and prints "POS_PER_S ALERTS_PER_S DONE":
      positions acknowledged per second, from the first batch the engine
      took (so its start-up and fence loading are not counted) until it has
      acknowledged N entries or MAXSEC have passed.
  bench_redis.py SOCK wait-group PREFIX GROUP TIMEOUT
      waits until the consumer group exists on PREFIX:positions.
  bench_redis.py SOCK reset-engine PREFIX GROUP
      destroys the group and deletes the engine's state and alerts, so the
      engine can run again over the same stream.
  bench_redis.py SOCK flushall
"""
import json
import os
import sys
import time

# The project's RESP client, the one the end-to-end tests use.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "e2e"))
from harness import RedisError, RespClient  # noqa: E402


def load_fences(r, prefix, path):
    with open(path) as f:
        fc = json.load(f)
    feats = fc["features"] if fc.get("type") == "FeatureCollection" else [fc]
    cmds = []
    for feat in feats:
        fid = feat.get("id", feat.get("properties", {}).get("id"))
        cmds.append(("HSET", prefix + ":fences", str(fid),
                     json.dumps(feat, separators=(",", ":"))))
    for i in range(0, len(cmds), 1000):
        r.pipeline(cmds[i:i + 1000])
    r.command("INCR", prefix + ":fences:version")
    r.command("PUBLISH", prefix + ":control", "fences")
    print(len(cmds))


def wait_xlen(r, key, n, timeout):
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while True:
        cur = r.command("XLEN", key)
        now = time.monotonic()
        if cur != last:
            last, since = cur, now
        if cur >= n or now >= deadline or now - since > 3:
            print(cur)
            return
        time.sleep(0.05)


def xlen_rate(r, key, delay, seconds, pids):
    time.sleep(delay)
    n0, c0, t0 = r.command("XLEN", key), [cpu_seconds(p) for p in pids], time.monotonic()
    time.sleep(seconds)
    n1, c1, t1 = r.command("XLEN", key), [cpu_seconds(p) for p in pids], time.monotonic()
    n = max(n1 - n0, 1)
    print(" ".join(["%.0f" % ((n1 - n0) / (t1 - t0))] +
                   ["%.2f" % ((b - a) / n * 1e6) for a, b in zip(c0, c1)]))


def stream_window(r, key):
    n = r.command("XLEN", key)
    first = r.command("XRANGE", key, "-", "+", "COUNT", 1)
    last = r.command("XREVRANGE", key, "+", "-", "COUNT", 1)
    ms = lambda e: int(e[0][0].split("-")[0]) if e else 0
    print(n, ms(first), ms(last))


def group_info(r, prefix, group):
    for g in r.command("XINFO", "GROUPS", prefix + ":positions") or []:
        d = dict(zip(g[0::2], g[1::2]))
        if d.get("name") == group:
            read = d.get("entries-read") or 0
            return read - d.get("pending", 0)
    return 0


def cpu_seconds(pid):
    """User + system CPU time of process pid so far (0 when unknown)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, ValueError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def engine_rate(r, prefix, group, n, maxsec, pid=0):
    """Prints positions/s, alerts/s, entries done, and the engine's CPU
    time per position in microseconds (0 without pid): on a shared machine
    the rate varies with the neighbours, the CPU time much less."""
    start = time.monotonic()
    t1 = None
    while True:
        done = group_info(r, prefix, group)
        alerts = r.command("XLEN", prefix + ":alerts")
        now = time.monotonic()
        if t1 is None and done > 0:
            t1, d1, a1, c1 = now, done, alerts, cpu_seconds(pid)
        if t1 is not None and (done >= n or now - t1 >= maxsec):
            break
        if t1 is None and now - start >= maxsec:
            print("0 0 0 0")
            return
        time.sleep(0.02)
    dt = max(now - t1, 1e-3)
    cpu = cpu_seconds(pid) - c1
    print("%.0f %.0f %d %.2f" % ((done - d1) / dt, (alerts - a1) / dt, done,
                                 cpu / max(done - d1, 1) * 1e6 if pid else 0))


def main(argv):
    r = RespClient(argv[1], timeout=30)
    op = argv[2]
    if op == "load-fences":
        load_fences(r, argv[3], argv[4])
    elif op == "xlen":
        print(r.command("XLEN", argv[3]))
    elif op == "wait-xlen":
        wait_xlen(r, argv[3], int(argv[4]), float(argv[5]))
    elif op == "xlen-rate":
        xlen_rate(r, argv[3], float(argv[4]), float(argv[5]),
                  [int(p) for p in argv[6:]])
    elif op == "stream-window":
        stream_window(r, argv[3])
    elif op == "engine-rate":
        engine_rate(r, argv[3], argv[4], int(argv[5]), float(argv[6]),
                    int(argv[7]) if len(argv) > 7 else 0)
    elif op == "wait-group":
        deadline = time.monotonic() + float(argv[5])
        while True:
            try:
                groups = r.command("XINFO", "GROUPS", argv[3] + ":positions") or []
            except RedisError:
                groups = []
            if any(dict(zip(g[0::2], g[1::2])).get("name") == argv[4] for g in groups):
                return
            if time.monotonic() >= deadline:
                sys.exit("bench_redis.py: no group %s after %s s" % (argv[4], argv[5]))
            time.sleep(0.05)
    elif op == "reset-engine":
        p = argv[3]
        try:
            r.command("XGROUP", "DESTROY", p + ":positions", argv[4])
        except RedisError:
            pass
        r.command("DEL", p + ":state", p + ":alerts", p + ":errors")
    elif op == "flushall":
        r.command("FLUSHALL")
    else:
        sys.exit("bench_redis.py: unknown operation " + op)


if __name__ == "__main__":
    main(sys.argv)
