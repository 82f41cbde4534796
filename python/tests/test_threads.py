"""One handle, many threads: one login, and the GIL released while waiting on the network."""

from __future__ import annotations

import threading
import time

from conftest import PASSWORD, USER

from urbackup import urbackup_server

LATENCY_S = 0.3
THREADS = 8


def test_threads_share_one_session_and_run_in_parallel(start_sim):
    sim = start_sim("--latency-ms", str(int(LATENCY_S * 1000)))
    s = urbackup_server(sim.url, USER, PASSWORD)
    barrier = threading.Barrier(THREADS)
    results, errors = [], []

    def work():
        try:
            barrier.wait()
            results.append(len(s.get_client_statuses()))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    assert not errors and results == [5] * THREADS
    # One login for all threads (salt + login), however many waited for it.
    assert sim.control("stats")["logins"] == 1
    # Serially: THREADS status calls after the login = 8 x 0.3 s = 2.4 s at least. In parallel:
    # login (2 round trips) + one status round trip = ~0.9 s. Half the serial time is a
    # bound that only a call holding the GIL (or one connection at a time) can exceed.
    assert wall < THREADS * LATENCY_S / 2, f"{wall:.2f} s: the calls did not overlap"


def test_other_python_threads_run_while_a_call_waits(start_sim):
    sim = start_sim("--latency-ms", "500")
    s = urbackup_server(sim.url, USER, PASSWORD)
    ticks = 0
    done = threading.Event()

    def spin():
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            time.sleep(0.005)

    t = threading.Thread(target=spin)
    t.start()
    try:
        s.get_usage_typed()  # login (2 round trips) + usage: >= 1.5 s of waiting
    finally:
        done.set()
        t.join()
    # With the GIL held during the wait the spinner would be frozen (a handful of ticks).
    assert ticks > 50, ticks
