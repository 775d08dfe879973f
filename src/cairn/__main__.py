"""``python -m cairn``: the command line (see :mod:`cairn.cli`)."""

import sys

from cairn.cli import main

if __name__ == "__main__":
    sys.exit(main())
