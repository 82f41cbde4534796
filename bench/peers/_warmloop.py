"""Shared warm-loop driver for the Python peers (not a peer itself).

Protocol (used by `urbackup-bench`, which alternates the contenders):
  * the peer logs in once and makes one untimed warm-up call, then prints `{"ready": true}`;
  * each line read from stdin is a batch size K: the peer times K calls and prints
    `{"us": [t1, ..., tK]}` (microseconds per call, float);
  * EOF on stdin ends the process.
With `--n N` instead, it times N calls once and prints `{"median_us": M, "n": N}`.
"""

import json
import statistics
import sys
import time


def run(login, call):
    login()
    call()  # warm-up (untimed): the session is open from here on
    if len(sys.argv) > 4 and sys.argv[3] == "--n":
        n = int(sys.argv[4])
        us = _batch(call, n)
        print(json.dumps({"median_us": statistics.median(us), "n": n}), flush=True)
        return
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        print(json.dumps({"us": _batch(call, int(line))}), flush=True)


def _batch(call, k):
    out = []
    clock = time.perf_counter_ns
    for _ in range(k):
        t0 = clock()
        result = call()
        t1 = clock()
        if not result:
            raise SystemExit("status call returned nothing")
        out.append((t1 - t0) / 1000.0)
    return out
