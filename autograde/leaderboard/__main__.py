"""``python -m autograde.leaderboard <command> ...``: the instructor commands (see cli.py)."""
from .cli import main

if __name__ == "__main__":
    main()
