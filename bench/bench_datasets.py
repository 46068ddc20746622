"""Generation speed of the synthetic GTZAN (goal: the ``full`` preset in <= 3 minutes on 2 cores).

    .venv/bin/python -m bench datasets                 # full preset, 2 workers, into a temp folder
    MIRKIT_BENCH_PRESET=small .venv/bin/python -m bench datasets

Prints wall time and real-time factor (wall / seconds of audio), the CPU time of the workers
(the figure that does not depend on other programs competing for the cores), and where a
track's time goes: composing, rendering with TinySoundFont (the reference: a sample player in
C) and the production chain in numpy/scipy (mirkit.augment).
"""
import os
import resource
import tempfile
import time

import numpy as np


def profile_one_track(n=10, duration=30.0):
    from mirkit.datasets.genres import Artist, arrange
    from mirkit.datasets.production import produce
    from mirkit.datasets.render import render
    from mirkit.datasets.synth import plan, preset

    tasks = plan(0, preset("full"))[::1000 // n]
    spent = dict(compose=0.0, render=0.0, produce=0.0)
    for t in tasks:
        artist, rng = Artist(**t["artist"]), np.random.default_rng(t["seed"])
        t0 = time.process_time()
        pm = arrange(artist, rng, duration).to_midi()
        t1 = time.process_time()
        dry = render(pm, duration=duration)
        t2 = time.process_time()
        produce(dry, 22050, artist.production, rng)
        t3 = time.process_time()
        spent["compose"] += t1 - t0
        spent["render"] += t2 - t1
        spent["produce"] += t3 - t2
    return {k: v / len(tasks) for k, v in spent.items()}


def main():
    from mirkit.datasets import generate
    from mirkit.datasets.synth import PRESETS

    name = os.environ.get("MIRKIT_BENCH_PRESET", "full")
    jobs = int(os.environ.get("MIRKIT_BENCH_JOBS", "2"))
    per = profile_one_track()
    total = sum(per.values())
    print("one 30 s track, CPU seconds: " + ", ".join(f"{k} {v:.3f}" for k, v in per.items())
          + f" (total {total:.3f}; rendering is {per['render'] / total:.0%}, production {per['produce'] / total:.0%})")
    with tempfile.TemporaryDirectory() as tmp:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        rows = generate(tmp, name, seed=0, n_jobs=jobs)
        wall = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    audio = sum(float(r["duration"]) for r in rows)
    print(f"preset {name}: {len(rows)} tracks, {audio / 60:.1f} min of audio, {jobs} workers")
    print(f"wall time {wall:.1f} s (goal for full: <= 180 s), real-time factor {wall / audio:.4f} "
          f"({audio / wall:.0f}x faster than real time)")
    print(f"worker CPU time {cpu:.1f} s = {cpu / len(rows):.3f} s per track; on {jobs} otherwise idle cores "
          f"that is about {cpu / jobs:.0f} s of wall time")
    print(f"preset sizes: " + ", ".join(f"{k} {v['tracks'] * 10} x {v['duration']:g} s" for k, v in PRESETS.items()))


if __name__ == "__main__":
    main()
