"""``kling-desktop remix JOB_ID [sound options]``: make a finished job's result again, free."""

from __future__ import annotations

import argparse
import sys

EXIT_USAGE = 2


def run(args: argparse.Namespace) -> int:
    print("kling-desktop remix: not available yet.", file=sys.stderr)
    return EXIT_USAGE
