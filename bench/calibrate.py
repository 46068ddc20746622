"""Difficulty calibration of the synthetic GTZAN: is it as hard as the real one, for the same reasons?

    .venv/bin/python -m bench.calibrate                       # uses datasets/synth-gtzan (made if missing)
    .venv/bin/python -m bench.calibrate --data /data/gtzan    # the same report on another dataset

Writes ``bench/calibration.md``. Targets (real GTZAN, Sturm 2012; Kereliuk et al. 2015):
MFCC + SVM 50-70 % on the artist-disjoint split; a random split at least 10 points higher
(the artist leak); no single trivial descriptor (tempo, RMS, spectral centroid) above 40 %.
"""
import argparse
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).parent
DEFAULT_DATA = HERE.parent / "datasets" / "synth-gtzan"
TARGETS = dict(svm=(0.50, 0.70), leak=0.10, trivial=0.40)


def descriptors(y, sr):
    """MFCC mean and std (20 + 20), tempo, mean RMS, mean spectral centroid: shape (43,)."""
    import librosa

    mfcc = librosa.feature.mfcc(y=y, sr=sr, n_mfcc=20)
    onset = librosa.onset.onset_strength(y=y, sr=sr)
    tempo = librosa.feature.tempo(onset_envelope=onset, sr=sr)[0]
    rms = librosa.feature.rms(y=y).mean()
    centroid = librosa.feature.spectral_centroid(y=y, sr=sr).mean()
    return np.concatenate([mfcc.mean(axis=1), mfcc.std(axis=1), [tempo, rms, centroid]])


def fit_eval(model_fn, X, y, parts, grid):
    """Pick the hyper-parameter on valid, refit on train + valid, score on test. Returns (acc, pred, best)."""
    tr, va, te = (parts == "train"), (parts == "valid"), (parts == "test")
    scores = {c: model_fn(c).fit(X[tr], y[tr]).score(X[va], y[va]) for c in grid}
    best = max(scores, key=scores.get)
    model = model_fn(best).fit(X[tr | va], y[tr | va])
    pred = model.predict(X[te])
    return float(np.mean(pred == y[te])), pred, best


def main(argv=None):
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import confusion_matrix
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    from mirkit.datasets import generate, load_dataset

    ap = argparse.ArgumentParser(prog="python -m bench.calibrate", description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(DEFAULT_DATA))
    ap.add_argument("--seed", type=int, default=0, help="seed if the dataset must be generated")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default=str(HERE / "calibration.md"))
    args = ap.parse_args(argv)

    data = Path(args.data)
    if not data.exists():
        print(f"{data} missing: generating the full preset (seed {args.seed})")
        generate(data, "full", seed=args.seed, n_jobs=args.jobs)
    ds = load_dataset(data)
    t0 = time.perf_counter()
    F = ds.features(descriptors, cache=HERE.parent / "datasets" / "cache", n_jobs=args.jobs)
    print(f"features: {F.shape} in {time.perf_counter() - t0:.1f} s")
    y = ds.labels
    splits = {s: np.array([t.splits.get(s) for t in ds.tracks]) for s in ds.split_names}
    honest = "artist" if "artist" in splits else "filtered" if "filtered" in splits else None
    if honest is None:
        raise SystemExit(f"{data} has no artist-disjoint split (artist or filtered)")

    logreg = lambda c: make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=5000))
    svm = lambda c: make_pipeline(StandardScaler(), SVC(C=c, gamma="scale"))
    mfcc = F[:, :40]
    rows, conf = [], None
    for split in [honest] + (["random"] if "random" in splits else []):
        for name, fn, X, grid in (("MFCC mean+std + logistic regression", logreg, mfcc, (0.01, 0.1, 1.0)),
                                  ("MFCC mean+std + SVM (RBF)", svm, mfcc, (1.0, 10.0, 100.0))):
            acc, pred, best = fit_eval(fn, X, y, splits[split], grid)
            rows.append((name, split, acc, best))
            if split == honest and "SVM" in name:
                conf = confusion_matrix(y[splits[split] == "test"], pred, labels=range(len(ds.classes)))
    for k, name in ((40, "tempo alone"), (41, "RMS alone"), (42, "spectral centroid alone")):
        acc, _, best = fit_eval(svm, F[:, [k]], y, splits[honest], (1.0, 10.0))
        rows.append((f"{name} + SVM", honest, acc, best))

    svm_honest = next(a for n, s, a, _ in rows if "SVM" in n and "MFCC" in n and s == honest)
    svm_random = next((a for n, s, a, _ in rows if "SVM" in n and "MFCC" in n and s == "random"), None)
    trivial = max(a for n, _, a, _ in rows if "alone" in n)
    checks = [
        (f"MFCC + SVM on the {honest} split in [50 %, 70 %]", TARGETS["svm"][0] <= svm_honest <= TARGETS["svm"][1],
         f"{svm_honest:.1%}"),
        ("random split at least 10 points higher", svm_random is not None and svm_random - svm_honest >= TARGETS["leak"],
         f"+{(svm_random or 0) - svm_honest:.1%}"),
        ("no trivial descriptor above 40 %", trivial <= TARGETS["trivial"], f"best {trivial:.1%}"),
    ]
    n_test = int(np.sum(splits[honest] == "test"))
    lines = [f"# Difficulty calibration: `{data.name}`", "",
             f"Regenerate with `.venv/bin/python -m bench.calibrate` (dataset: {len(ds)} tracks, "
             f"{len(ds.classes)} classes, {n_test} test tracks; hyper-parameter chosen on valid, "
             "refit on train + valid, scored on test).", "",
             "| model | split | test accuracy | chosen C |", "|---|---|---|---|"]
    lines += [f"| {n} | {s} | {a:.1%} | {c:g} |" for n, s, a, c in rows]
    lines += ["", "## Targets (GTZAN-like)", ""]
    lines += [f"- [{'x' if ok else ' '}] {what}: {val}" for what, ok, val in checks]
    lines += ["", f"## Confusion matrix, MFCC + SVM, {honest} split (rows: true, columns: predicted)", "",
              "| | " + " | ".join(c[:4] for c in ds.classes) + " |", "|---" * (len(ds.classes) + 1) + "|"]
    lines += [f"| {c} | " + " | ".join(str(v) for v in r) + " |" for c, r in zip(ds.classes, conf)]
    off = [(conf[i, j] + conf[j, i], ds.classes[i], ds.classes[j]) for i in range(len(conf))
           for j in range(i + 1, len(conf))]
    lines += ["", "Most confused pairs: " + ", ".join(f"{a}/{b} ({n})" for n, a, b in sorted(off, reverse=True)[:6]), ""]
    report = "\n".join(lines)
    Path(args.out).write_text(report)
    print(report)
    print(f"written to {args.out}")
    return all(ok for _, ok, _ in checks)


if __name__ == "__main__":
    main()
