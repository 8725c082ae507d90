"""Composition root: ``kling-desktop COMMAND ...`` runs a command, anything else the window.

``kling-desktop --launch-mode`` prints ``real`` when an API token is set up (``KLING_DESKTOP_TOKEN``
or the OS keyring, read as the window reads it), else ``demo``; ``scripts/launch.sh`` opens that.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--launch-mode"]:
        from kling_desktop.accounts.vault import Vault

        # No usable keyring (its "fail" backend on a headless box) reads as "no token".
        print("real" if Vault().token() else "demo")
        return 0
    from kling_desktop.cli import COMMANDS

    if argv and (argv[0] in COMMANDS or argv[0] in ("-h", "--help", "--version")):
        from kling_desktop.cli import run

        return run(argv)
    if "--self-test" in argv:
        from kling_desktop.selftest import run_self_test

        return int(run_self_test([a for a in argv if a != "--self-test"]))
    from kling_desktop.gui.launch import run_gui

    return run_gui(argv)
