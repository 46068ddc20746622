"""``python -m mirkit.challenge`` (or ``mirkit-challenge``): submit to the class leaderboard.

    python -m mirkit.challenge submit preds.csv
    python -m mirkit.challenge list
    python -m mirkit.challenge select 12        (unselect 12)
    python -m mirkit.challenge info | leaderboard
    python -m mirkit.challenge handin lessons/01-.../01-....ipynb    (then waits for the grade)
    python -m mirkit.challenge handins               your hand-ins and their grades

--url and --token, else MIRKIT_CHALLENGE_URL and MIRKIT_CHALLENGE_TOKEN.
"""
import argparse
import sys

from . import ChallengeError, Client, describe_grade


def _score(v):
    return "-" if v is None else f"{v:.5f}"


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m mirkit.challenge", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="server address (default: $MIRKIT_CHALLENGE_URL)")
    parser.add_argument("--token", help="your token (default: $MIRKIT_CHALLENGE_TOKEN)")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("submit", help="send a predictions CSV")
    p.add_argument("csv")
    p.add_argument("--no-check", action="store_true", help="skip the local check of the ids")
    sub.add_parser("list", help="your team's submissions")
    for name in ("select", "unselect"):
        sub.add_parser(name, help=f"{name} a final submission").add_argument("id", type=int)
    sub.add_parser("info", help="the competition's rules and file format")
    sub.add_parser("leaderboard", help="the public leaderboard")
    p = sub.add_parser("handin", help="hand in a lesson notebook and wait for its grade")
    p.add_argument("notebook")
    p.add_argument("--lesson", help="the lesson's folder name (default: the notebook's name)")
    p.add_argument("--no-wait", action="store_true", help="return once it is queued")
    p.add_argument("--timeout", type=float, default=900, help="seconds to wait for the grade")
    p = sub.add_parser("handins", help="your hand-ins and their grades")
    p.add_argument("--lesson")
    args = parser.parse_args(argv)
    try:
        client = Client(args.url, args.token)
        if args.command == "submit":
            s = client.submit(args.csv, check=not args.no_check)
            print(f"submission #{s['id']} accepted ({s['sha256'][:12]}): "
                  f"public score {_score(s['public_score'])}")
        elif args.command == "list":
            for s in client.submissions():
                final = "  [final]" if s["selected"] else ""
                private = f"  private {_score(s['private_score'])}" if "private_score" in s else ""
                print(f"#{s['id']:<5} {s['created_at'][:19]}  {s['status']:<8} "
                      f"public {_score(s['public_score'])}{private}  {s['filename']}{final}")
                for e in s["errors"]:
                    print(f"        {e}")
        elif args.command in ("select", "unselect"):
            client.select(args.id, args.command == "select")
            print(f"submission #{args.id} {args.command}ed")
        elif args.command == "handin":
            print(f"handing in {args.notebook} (save it first: the file on disk is sent)")
            h = client.handin(args.notebook, lesson=args.lesson, wait=not args.no_wait,
                              timeout=args.timeout)
            print(describe_grade(h))
        elif args.command == "handins":
            for h in client.handins(args.lesson):
                score = (f"{h['score']:g}/{h['max_score']:g}" if h["status"] == "graded"
                         else "-")
                print(f"#{h['id']:<5} {h['created_at'][:19]}  {h['lesson']:<32} "
                      f"{h['status']:<8} {score}")
        elif args.command == "info":
            for k, v in client.competition().items():
                print(f"{k}: {v}")
        else:
            board = client.leaderboard()
            for r in board.get("private") or board["public"]:
                print(f"{r['rank']:>4}  {_score(r['score'])}  {r['entries']:>3}  {r['team']}")
    except ChallengeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
