"""``python -m kling_desktop.simulator [--port N] [--token T] [--scenario NAME=VALUE] ...``."""

import sys

from kling_desktop.simulator.cli import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
