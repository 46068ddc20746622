"""python -m autograde: the instructor CLI (see autograde/cli.py)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
