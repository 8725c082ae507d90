"""Composition root: parse argv, then run the window or a command."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from kling_desktop.cli import run

    return run(sys.argv[1:] if argv is None else argv)
