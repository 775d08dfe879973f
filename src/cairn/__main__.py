"""``python -m cairn``: the command line (see :mod:`cairn.cli`)."""

import sys

from cairn.cli import main

__all__: list[str] = []

if __name__ == "__main__":
    sys.exit(main())  # no argv: main() may leave abandoned threads behind
