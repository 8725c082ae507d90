"""Command line: the window by default, or a headless command over the same engine.

``kling-desktop [--demo] [FILE...]`` opens the window; ``kling-desktop COMMAND ...`` runs one of
the commands below. Exit codes: 0 all good, 1 some clip or job failed, 2 usage or configuration.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from kling_desktop import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

COMMANDS = ("check", "add-sound", "jobs", "resume", "accounts", "simulator")


class _Parser(argparse.ArgumentParser):
    """argparse exits with 2 on usage errors, which is what we want; keep messages plain."""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="kling-desktop",
        description="Add Kling's AI sound to short video clips (3–20 s) through useapi.net.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser("check", help="check clips locally; nothing is uploaded")
    check.add_argument("--json", action="store_true", help="print a JSON list")
    check.add_argument("files", nargs="*", metavar="FILE", help="clips or folders")

    add = sub.add_parser("add-sound", help="upload clips and add Kling sound to them")
    add.add_argument("--email", help="Kling account to use (needed when the token has several)")
    add.add_argument(
        "--keep-original-sound", action="store_true", help="keep the clip's own sound too"
    )
    add.add_argument("--output", metavar="DIR", help="save results here (default: next to clip)")
    add.add_argument("--poll-interval", type=float, metavar="S", help="seconds between checks")
    add.add_argument("--wait", action="store_true", help="wait until every job has ended")
    add.add_argument("--json", action="store_true", help="print the jobs as JSON")
    add.add_argument("files", nargs="*", metavar="FILE")

    jobs = sub.add_parser("jobs", help="list jobs")
    jobs.add_argument("--json", action="store_true")

    resume = sub.add_parser("resume", help="carry on with unfinished jobs")
    resume.add_argument("--poll-interval", type=float, metavar="S")
    resume.add_argument("--wait", action="store_true")
    resume.add_argument("--json", action="store_true")

    accounts = sub.add_parser("accounts", help="list the Kling accounts behind the token")
    accounts.add_argument("--json", action="store_true")

    sim = sub.add_parser("simulator", help="run the local useapi.net simulator")
    sim.add_argument("--port", type=int, default=0)
    sim.add_argument("--token", default=None)
    sim.add_argument("--task-seconds", type=float, default=None)
    return parser


def run(argv: list[str]) -> int:
    """Dispatch ``argv`` (without the program name)."""
    args = build_parser().parse_args(argv)
    if args.command is None:
        build_parser().print_help()
        return EXIT_USAGE
    module = importlib.import_module(f"kling_desktop.cli.{args.command.replace('-', '_')}")
    try:
        return int(module.run(args))
    except KeyboardInterrupt:
        print(
            "Interrupted; unfinished jobs can be resumed with `kling-desktop resume`.",
            file=sys.stderr,
        )
        return EXIT_FAILED
