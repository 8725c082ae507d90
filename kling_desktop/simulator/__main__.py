"""``python -m kling_desktop.simulator [--port N] [--token T] [--task-seconds S]``."""

import sys

from kling_desktop.simulator.server import serve_forever_cli

if __name__ == "__main__":
    sys.exit(serve_forever_cli(sys.argv[1:]))
