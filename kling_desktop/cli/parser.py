"""The one command line of ``kling-desktop``: the window, the self-test and every COMMAND.

::

    kling-desktop [--demo] [FILE ...]                 the window (Qt's own options pass on to Qt)
    kling-desktop --self-test [--timeout S] [--report FILE] [--skip-job]
    kling-desktop --launch-mode                       "real" or "demo", for scripts/launch.sh
    kling-desktop COMMAND [options]                   a headless command

FILE... and a COMMAND cannot share the first position in argparse, so the window is the tree's
default sub-command: :func:`parse` sends every command line that does not start with a
COMMAND to it, and ``kling-desktop -h`` is its help, which lists the commands as well.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kling_desktop import __version__

if TYPE_CHECKING:
    _Commands = argparse._SubParsersAction[argparse.ArgumentParser]

PROG = "kling-desktop"
#: The window's sub-command name: never typed, :func:`parse` puts it in front.
WINDOW = "window"

#: Each command with its one line of help, in the order ``-h`` lists them.
COMMANDS: dict[str, str] = {
    "check": "check clips locally; nothing is uploaded",
    "add-sound": "upload clips and add Kling sound to them",
    "jobs": "list jobs",
    "resume": "carry on with unfinished jobs",
    "retry": "pick failed jobs up where they stopped, at no new cost",
    "remove": "forget jobs (their files are kept)",
    "resolve": "settle an uncertain job: track the task you found, or resend",
    "remix": "mix a finished job's sound again (levels, loudness, export), at no cost",
    "accounts": "list the Kling accounts behind the token",
    "simulator": "run the local useapi.net simulator",
}

_DESCRIPTION = """\
Add Kling's AI sound to video clips through useapi.net. Kling takes MP4/MOV clips of 3–20 s;
longer clips are split into parts, shorter ones extended, other formats converted — the result
keeps the original picture.

Without a COMMAND it opens the window, with the FILEs (clips or folders) in its list."""

_EPILOG = """\
commands (kling-desktop COMMAND -h for a command's options):
{commands}

Each add-sound request is a paid Kling job. Only these commands may start one, and each says
so: add-sound (one per clip, or per part × take: `check` says how many), retry --resubmit and
resolve --resend (one more per job or part that needs it).
Plain retry, resume, resolve --found and remove never start a paid job you did not ask for.

Qt's own options (-platform, -style, …) are passed on to Qt.
Exit codes: 0 all good, 1 some clip or job failed, 2 usage or configuration error."""


def parse(argv: Sequence[str]) -> tuple[argparse.Namespace, list[str]]:
    """Parse a command line (without the program name) into its namespace and the arguments
    left for Qt (only the window has any; a COMMAND's unknown argument is a usage error, exit
    2). ``args.command`` is :data:`WINDOW` or the COMMAND's name."""
    argv = list(argv)
    command = argv[0] if argv and argv[0] in COMMANDS else WINDOW
    root, window = _build(command)
    if command != WINDOW:
        return root.parse_args(argv), []
    args, qt_args = root.parse_known_args([WINDOW, *argv])
    if not args.self_test and (args.timeout is not None or args.report or args.skip_job):
        window.error("--timeout, --report and --skip-job go with --self-test")
    return args, qt_args


def _build(only: str | None = None) -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """The tree: a root that only dispatches, the window, and one parser per command; with
    ``only``, just the branch that command line needs (every start of the window would
    otherwise build ten parsers and import the simulator's options, ~7 ms)."""
    root = argparse.ArgumentParser(prog=PROG, add_help=False)
    sub = root.add_subparsers(dest="command", metavar="COMMAND", required=True)
    window = _add_window(sub)
    if only != WINDOW:
        _add_commands(sub, only)
    return root, window


def _add_window(sub: _Commands) -> argparse.ArgumentParser:
    commands = "\n".join(f"  {name:<12}{text}" for name, text in COMMANDS.items())
    window = sub.add_parser(
        WINDOW,
        prog=PROG,
        usage=(
            f"{PROG} [-h] [--version] [--demo] [FILE ...]\n"
            f"       {PROG} --self-test [--timeout S] [--report FILE] [--skip-job]\n"
            f"       {PROG} --launch-mode\n"
            f"       {PROG} COMMAND [options]"
        ),
        description=_DESCRIPTION,
        epilog=_EPILOG.format(commands=commands),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    window.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    window.add_argument(
        "--demo", action="store_true", help="use the built-in simulator: no token, no credits"
    )
    window.add_argument(
        "files", nargs="*", type=Path, metavar="FILE", help="clips or folders to open in the list"
    )
    checks = window.add_argument_group("checking this installation")
    checks.add_argument(
        "--self-test",
        action="store_true",
        help="prove that this installation works: print a JSON report and exit (1 on failure)",
    )
    checks.add_argument(
        "--timeout", type=float, metavar="S", help="seconds for the self-test's demo job (60)"
    )
    checks.add_argument(
        "--report", type=Path, metavar="FILE", help="also write the self-test's report here"
    )
    checks.add_argument(
        "--skip-job", action="store_true", help="leave the demo job out of the self-test"
    )
    checks.add_argument(
        "--launch-mode",
        action="store_true",
        help="print 'real' when an API token is set up, else 'demo', and exit",
    )
    return window


def _add_commands(sub: _Commands, only: str | None = None) -> None:
    """Every command's parser, or only ``only``'s (the others are then built into a parser
    that is thrown away: cheap next to importing the simulator's options)."""
    spare = argparse.ArgumentParser(add_help=False).add_subparsers()

    def command(name: str, description: str | None = None) -> argparse.ArgumentParser:
        into = sub if only is None or only == name else spare
        return into.add_parser(name, help=COMMANDS[name], description=description)

    check = command("check")
    check.add_argument("--json", action="store_true", help="print a JSON list")
    _add_preparation(check)
    check.add_argument("files", nargs="*", metavar="FILE", help="clips or folders")

    add = command("add-sound")
    add.add_argument("--email", help="Kling account to use (needed when the token has several)")
    add.add_argument(
        "--keep-original-sound", action="store_true", help="keep the clip's own sound too"
    )
    add.add_argument("--output", metavar="DIR", help="save results here (default: next to clip)")
    add.add_argument("--poll-interval", type=float, metavar="S", help="seconds between checks")
    add.add_argument("--wait", action="store_true", help="wait until every job has ended")
    add.add_argument("--json", action="store_true", help="print the jobs as JSON")
    _add_preparation(add)
    add.add_argument(
        "--takes",
        type=_takes,
        default=None,
        metavar="N",
        help="takes per clip, 1-4 (each take is a paid Kling job per part)",
    )
    _add_sound_options(add)
    add.add_argument("files", nargs="*", metavar="FILE")

    jobs = command("jobs")
    jobs.add_argument("--json", action="store_true")

    resume = command("resume")
    resume.add_argument("--poll-interval", type=float, metavar="S")
    resume.add_argument("--wait", action="store_true")
    resume.add_argument("--json", action="store_true")

    retry = command(
        "retry",
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

    remove = command(
        "remove",
        description=(
            "Forget jobs; clips and results stay on disk. A job whose paid request is being "
            "sent is not removed. A job Kling is still working on keeps running (and being "
            "charged) at Kling."
        ),
    )
    remove.add_argument("job_ids", nargs="+", type=int, metavar="JOB_ID")

    resolve = command(
        "resolve",
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

    remix = command(
        "remix",
        description=(
            "Make a finished job's result again from the sound Kling already made: other "
            "levels, loudness or audio export. Nothing is sent to Kling; nothing is paid."
        ),
    )
    _add_sound_options(remix)
    remix.add_argument("--json", action="store_true", help="print the job as JSON")
    remix.add_argument("job_id", type=int, metavar="JOB_ID")

    accounts = command("accounts")
    accounts.add_argument("--json", action="store_true")

    # The simulator's options live with the simulator (one parser for this command and for
    # ``python -m kling_desktop.simulator``); importing them loads neither PyAV nor the server.
    if only is None or only == "simulator":
        from kling_desktop.simulator.cli import DESCRIPTION, add_arguments

        add_arguments(command("simulator", description=DESCRIPTION))


def _add_preparation(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--strict",
        action="store_true",
        help="only clips Kling takes as they are (no converting, splitting or extending)",
    )
    parser.add_argument(
        "--max-length",
        type=_positive,
        metavar="S",
        help="longest clip to split into parts, in seconds (default: Settings, 300)",
    )


def _add_sound_options(parser: argparse.ArgumentParser) -> None:
    sound = parser.add_argument_group("the sound of the result (mixed on this computer)")
    sound.add_argument(
        "--sound-volume", type=_volume, metavar="V", help="level of Kling's sound, 0-2 (1)"
    )
    sound.add_argument(
        "--original-volume",
        type=_volume,
        metavar="V",
        help="level of the clip's own sound, 0-2 (0: replaced by Kling's)",
    )
    ducking = sound.add_mutually_exclusive_group()
    ducking.add_argument(
        "--duck",
        action="store_true",
        default=None,
        help="lower the clip's own sound while Kling's sound is loud",
    )
    ducking.add_argument(
        "--duck-sound",
        action="store_true",
        default=None,
        help="the other way round: lower Kling's sound while the clip's own plays (dialogue)",
    )
    sound.add_argument(
        "--discard-other-takes",
        action="store_true",
        default=None,
        help="keep only the chosen take (others are removed; a remix removes earlier ones)",
    )
    sound.add_argument(
        "--take",
        type=_take,
        metavar="N",
        help="which take is the result, 1-4 (default 1; the others stay beside it)",
    )
    sound.add_argument(
        "--loudness",
        type=_lufs,
        metavar="LUFS",
        help="normalise the result to this loudness (e.g. -14 for streaming, -23 broadcast)",
    )
    sound.add_argument(
        "--export-audio",
        choices=("wav", "mp3"),
        help=(
            "also save the sound beside the result: <name>.sound.wav (and, when mixed, "
            "Kling's sound alone as <name>.kling.wav)"
        ),
    )


def _number(text: str, low: float, high: float, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{what} goes from {low:g} to {high:g}, not {text}")
    return value


def _volume(text: str) -> float:
    return _number(text, 0.0, 2.0, "a volume")


def _lufs(text: str) -> float:
    return _number(text, -70.0, -5.0, "a loudness in LUFS")


def _positive(text: str) -> float:
    return _number(text, 1.0, 24 * 3600.0, "a length in seconds")


def _take(text: str) -> int:
    return _takes(text) - 1  # stored 0-based


def _takes(text: str) -> int:
    value = _number(text, 1, 4, "the number of takes")
    if value != int(value):
        raise argparse.ArgumentTypeError(f"the number of takes is a whole number, not {text}")
    return int(value)
