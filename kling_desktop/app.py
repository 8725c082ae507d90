"""Composition root: ``kling-desktop COMMAND ...`` runs a command, anything else the window.

The command line is one tree (:mod:`kling_desktop.cli.parser`): the window's ``--demo`` and
FILEs, ``--self-test``, ``--launch-mode`` and the COMMANDs. ``--launch-mode`` prints ``real``
when an API token is set up (``KLING_DESKTOP_TOKEN`` or the OS keyring, read as the window reads
it), else ``demo``; ``scripts/launch.sh`` opens that.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from kling_desktop.cli.parser import WINDOW, parse

    args, qt_args = parse(argv)
    if args.command != WINDOW:
        from kling_desktop.cli import run

        return run(args)
    if args.launch_mode:
        from kling_desktop.accounts.vault import Vault

        # No usable keyring (its "fail" backend on a headless box) reads as "no token".
        print("real" if Vault().token() else "demo")
        return 0
    if args.self_test:
        from kling_desktop.selftest import run_self_test

        return run_self_test(timeout=args.timeout, report=args.report, skip_job=args.skip_job)
    from kling_desktop.gui.launch import run_gui

    return run_gui(args.files, demo=args.demo, qt_args=qt_args)
