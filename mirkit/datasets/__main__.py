"""Command line: ``python -m mirkit.datasets {synth,hidden-test,info} ...`` (``--help`` on each)."""
import argparse
import sys
import time


def main(argv=None):
    from .synth import HIDDEN_TRACKS, PRESETS

    parser = argparse.ArgumentParser(
        prog="python -m mirkit.datasets",
        description="Generate the GTZAN-style synthetic dataset, the challenge's hidden test set, "
                    "or describe a dataset folder.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("synth", help="generate a dataset (GTZAN layout + manifest.csv + splits/)",
                       description="Presets: " + "; ".join(
                           f"{k}: {v['tracks']} tracks x 10 genres x {v['duration']:g} s" for k, v in PRESETS.items()))
    p.add_argument("--preset", choices=sorted(PRESETS), default="small")
    p.add_argument("--out", required=True, help="output folder, e.g. datasets/synth-gtzan")
    p.add_argument("--seed", type=int, default=0, help="same seed, same files (default 0)")
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    p.add_argument("--tracks", type=int, default=None, help="override tracks per genre")
    p.add_argument("--duration", type=float, default=None, help="override seconds per track")

    h = sub.add_parser("hidden-test", help="instructor: a test set with unseen artists and anonymous ids",
                       description="Writes OUT/test/track_NNNN.wav, OUT/sample_submission.csv (track,genre_id) "
                                   "and OUT/genres.csv (genre_id,genre) for the students, and the answers "
                                   "(CSV track,genre_id,genre) to LABELS, which must not be inside OUT.")
    h.add_argument("--secret-seed", type=int, required=True, help="keep it secret: it determines the answers")
    h.add_argument("--out", required=True, help="folder to give to the students")
    h.add_argument("--labels", required=True, help="answers CSV for the leaderboard (keep private)")
    h.add_argument("--preset", choices=sorted(PRESETS), default="full",
                   help="sets the clip duration (default full: 30 s)")
    h.add_argument("--tracks", type=int, default=HIDDEN_TRACKS,
                   help=f"tracks per genre (default {HIDDEN_TRACKS}: {10 * HIDDEN_TRACKS} tracks)")
    h.add_argument("--jobs", type=int, default=None)

    i = sub.add_parser("info", help="detect a folder's layout and count its tracks per class and split")
    i.add_argument("root")

    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    if args.command == "synth":
        from .synth import generate

        try:
            rows = generate(args.out, args.preset, args.seed, args.jobs, tracks=args.tracks,
                            duration=args.duration)
        except ValueError as exc:
            sys.exit(f"error: {exc}")
        audio = sum(float(r["duration"]) for r in rows)
        wall = time.perf_counter() - t0
        print(f"{len(rows)} tracks ({audio / 60:.1f} min of audio) in {args.out} in {wall:.1f} s "
              f"(real-time factor {wall / audio:.4f})")
    elif args.command == "hidden-test":
        from .synth import generate_hidden_test

        try:
            rows = generate_hidden_test(args.out, args.labels, args.preset, args.secret_seed, args.jobs, args.tracks)
        except ValueError as exc:
            sys.exit(f"error: {exc}")
        print(f"{len(rows)} anonymous tracks in {args.out}/test, answers in {args.labels}")
    else:
        from collections import Counter

        from .loaders import DatasetError, load_dataset

        try:
            ds = load_dataset(args.root)
        except DatasetError as exc:
            sys.exit(f"error: {exc}")
        print(ds)
        for c, n in sorted(Counter(t.label for t in ds.tracks).items()):
            print(f"  {c:12s} {n}")
        for s in ds.split_names:
            print(f"  split {s}: " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(t.splits.get(s) for t in ds.tracks).items(), key=str)))


if __name__ == "__main__":
    main()
