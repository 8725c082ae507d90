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

COMMANDS = (
    "check",
    "add-sound",
    "jobs",
    "resume",
    "retry",
    "remove",
    "resolve",
    "accounts",
    "simulator",
)

_EPILOG = """\
Each add-sound request is a paid Kling job. Only these commands may start one, and each says
so: add-sound (one per clip), retry --resubmit and resolve --resend (one more per job).
Plain retry, resume, resolve --found and remove never start a paid job you did not ask for.

Run `kling-desktop COMMAND -h` for a command's options.
Exit codes: 0 all good, 1 some clip or job failed, 2 usage or configuration error."""


class _Parser(argparse.ArgumentParser):
    """argparse exits with 2 on usage errors, which is what we want; keep messages plain."""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="kling-desktop",
        description="Add Kling's AI sound to short video clips (3–20 s) through useapi.net.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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

    retry = sub.add_parser(
        "retry",
        help="pick failed jobs up where they stopped, at no new cost",
        description=(
            "Pick failed jobs up where they stopped, at no new cost: check the clip again, "
            "send a request that never left, track the Kling task again, or download its "
            "paid result again. A job Kling failed or lost needs a new paid Kling job: it is "
            "only sent with --resubmit."
        ),
    )
    retry.add_argument("--all", action="store_true", help="every failed job")
    retry.add_argument(
        "--resubmit",
        action="store_true",
        help="send a NEW PAID Kling job for the given jobs that need one",
    )
    retry.add_argument("--poll-interval", type=float, metavar="S", help="seconds between checks")
    retry.add_argument("--wait", action="store_true", help="wait until every job has ended")
    retry.add_argument("--json", action="store_true", help="print the jobs as JSON")
    retry.add_argument("job_ids", nargs="*", type=int, metavar="JOB_ID")

    remove = sub.add_parser(
        "remove",
        help="forget jobs (their files are kept)",
        description=(
            "Forget jobs; clips and results stay on disk. A job whose paid request is being "
            "sent is not removed. A job Kling is still working on keeps running (and being "
            "charged) at Kling."
        ),
    )
    remove.add_argument("job_ids", nargs="+", type=int, metavar="JOB_ID")

    resolve = sub.add_parser(
        "resolve",
        help="settle an uncertain job: track the task you found, or resend",
        description=(
            "For a job whose add-sound request was sent but whose answer was lost: --found "
            "tracks the Kling task you found for it (free); --resend sends a NEW PAID Kling "
            "job."
        ),
    )
    resolve.add_argument("job_id", type=int, metavar="JOB_ID")
    choice = resolve.add_mutually_exclusive_group(required=True)
    choice.add_argument(
        "--found", type=int, metavar="TASK_ID", help="this Kling task is the job's: track it"
    )
    choice.add_argument("--resend", action="store_true", help="send a NEW PAID Kling job")
    resolve.add_argument("--poll-interval", type=float, metavar="S", help="seconds between checks")
    resolve.add_argument("--wait", action="store_true", help="wait until the job has ended")
    resolve.add_argument("--json", action="store_true", help="print the job as JSON")

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
