"""The class leaderboard: how long a 1000-row submission takes to check and score, and how the real
server (uvicorn on loopback) holds 50 students submitting at once, on SQLite and PostgreSQL.

Goals: checking + scoring a 1000-row file in <= 20 ms; p99 latency of a submission <= 300 ms with
50 concurrent submitters. The reference for scoring is the least a scorer can do: csv.reader and
one scikit-learn call, without any of the checks. On a busy machine wall times include waiting
for a core, so CPU times are printed too.
"""
import csv
import hashlib
import io
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from sklearn.metrics import accuracy_score

from autograde.leaderboard import Leaderboard, scoring
from autograde.leaderboard.testing import (PostgresServer, ServerProcess, postgres_unavailable,
                                           submission_bytes, write_labels)
from autograde.leaderboard.validation import Spec, validate

N_IDS, CLIENTS, PER_CLIENT = 1000, 50, 6


def _median_ms(fn, repeat=50):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def _cpu_ms(fn, repeat=50):
    """CPU time per call: on a busy machine, wall time also counts the waits for a core."""
    t0 = time.process_time()
    for _ in range(repeat):
        fn()
    return 1000 * (time.process_time() - t0) / repeat


def _process_cpu_s(pid):
    """User + system CPU seconds so far of a process and its children (a server's worker
    processes), from Linux's /proc; None elsewhere."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        total = 0
        for p in [pid, *map(int, children)]:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    except OSError:
        return None
    return total / os.sysconf("SC_CLK_TCK")


def bench_scoring(tmp):
    ids, truth = write_labels(tmp / "labels.csv", n=N_IDS)
    labels = ("0", "1", "2", "3")
    spec = Spec("track", "genre_id", tuple(ids), labels, False)
    rng = np.random.default_rng(0)
    preds = [t if rng.random() < 0.6 else str(rng.integers(0, 4)) for t in truth]
    raw = submission_bytes(ids, preds)
    index = {lab: i for i, lab in enumerate(labels)}
    y = [index[t] for t in truth]
    public = scoring.public_mask(N_IDS, 0.3, 0)

    def ours():
        checked = validate(raw, spec)
        return scoring.score_both("accuracy", y, checked.predictions, labels, public)

    def reference():
        rows = list(csv.reader(io.StringIO(raw.decode())))[1:]
        p = np.array([index[r[1]] for r in rows])
        yy = np.array(y)
        return accuracy_score(yy[public], p[public]), accuracy_score(yy[~public], p[~public])

    assert np.allclose(ours(), reference())
    t_ours, t_ref = _median_ms(ours), _median_ms(reference)
    t_check = _median_ms(lambda: validate(raw, spec))
    cpu_ours, cpu_ref = _cpu_ms(ours), _cpu_ms(reference)
    print(f"check + score a {N_IDS}-row submission: {t_ours:.2f} ms wall, {cpu_ours:.2f} ms CPU "
          f"(goal <= 20 ms; checking alone {t_check:.2f} ms); bare csv + sklearn: {t_ref:.2f} ms "
          f"wall, {cpu_ref:.2f} ms CPU; ratio {t_ours / t_ref:.2f}x wall, "
          f"{cpu_ours / cpu_ref:.2f}x CPU")


def bench_server(db, tmp, label):
    ids, truth = write_labels(tmp / "labels.csv", n=N_IDS)
    lb, _ = Leaderboard.create(db, tmp / "labels.csv", daily_limit=10_000)
    tokens = [t for _, _, t in lb.add_students([{"name": f"s{k:02d}"} for k in range(CLIENTS)])]
    lb.engine.dispose()
    files = [submission_bytes(ids, np.random.default_rng(k).choice(["0", "1", "2", "3"], N_IDS))
             for k in range(CLIENTS * PER_CLIENT)]
    latencies, codes, barrier = [], [], threading.Barrier(CLIENTS + 1)

    def client(k):
        with httpx.Client(timeout=120, headers={"Authorization": f"Bearer {tokens[k]}"}) as http:
            http.get(server.url + "/api/competition")       # connect before the clock starts
            barrier.wait()
            for j in range(PER_CLIENT):
                raw = files[k * PER_CLIENT + j]
                t0 = time.perf_counter()
                r = http.post(server.url + "/api/submissions", files={"file": ("p.csv", raw)})
                latencies.append(time.perf_counter() - t0)
                codes.append(r.status_code)

    with ServerProcess(db) as server:
        threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
        for t in threads:
            t.start()
        barrier.wait()
        t0, cpu0 = time.perf_counter(), _process_cpu_s(server.proc.pid)
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        cpu1 = _process_cpu_s(server.proc.pid)
    n = len(latencies)
    lat = np.array(latencies) * 1000
    ok = codes.count(201)
    p50, p99 = np.percentile(lat, 50), np.percentile(lat, 99)
    print(f"{label:10s}: {n} submissions of {N_IDS} rows from {CLIENTS} concurrent clients: "
          f"{ok} accepted, {n / elapsed:.0f} submissions/s, p50 {p50:.0f} ms, p99 {p99:.0f} ms "
          f"(goal p99 <= 300 ms: {'met' if p99 <= 300 else 'NOT met'}, {p99 / 300:.2f}x the goal)"
          + (f"; server CPU {1000 * (cpu1 - cpu0) / n:.1f} ms per submission" if cpu0 else "")
          + f"; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    assert ok == n, f"some submissions failed: {sorted(set(codes))}"
    # every accepted submission is in the database exactly once, with the bytes sent
    lb = Leaderboard(db)
    sent = {hashlib.sha256(f).hexdigest() for f in files}
    stored = [s["sha256"] for s in lb.all_submissions()]
    lb.engine.dispose()
    assert len(stored) == n and set(stored) == sent


def main():
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bench_scoring(tmp)
        (tmp / "sqlite").mkdir()
        bench_server(str(tmp / "sqlite" / "bench.sqlite"), tmp / "sqlite", "SQLite")
        reason = postgres_unavailable()
        if reason:
            print(f"PostgreSQL: skipped ({reason})")
            return
        (tmp / "pg").mkdir()
        with PostgresServer(fsync=True) as pg:
            bench_server(pg.new_database(), tmp / "pg", "PostgreSQL")


if __name__ == "__main__":
    main()
