"""``kling-desktop simulator`` and ``python -m kling_desktop.simulator``: one parser, one run.

The app's command tree mounts it with ``add_arguments(subparser)`` and calls ``run(args)``;
``main(argv)`` is the stand-alone entry of ``python -m kling_desktop.simulator``. Mounting is
cheap: the server (and PyAV) load only when ``run`` starts it.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from kling_desktop.simulator.scenario import Scenario, scenario_setting

if TYPE_CHECKING:
    from kling_desktop.simulator.server import Simulator

PROG = "kling-desktop simulator"
DESCRIPTION = "Run a local fake of the useapi.net Kling API (for demos and tests)."
_DEFAULT_ACCOUNT = "demo@example.com:3"


def _scenario_arg(spec: str) -> tuple[str, Any]:
    try:
        return scenario_setting(spec)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the simulator's options to ``parser`` (its own, or a sub-command's)."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--token", default=None, help="the Bearer token to accept (default: the demo's)"
    )
    parser.add_argument("--task-seconds", type=float, default=Scenario.task_seconds)
    parser.add_argument(
        "--account",
        action="append",
        metavar="EMAIL[:MAXJOBS]",
        help="a configured Kling account (repeatable; default demo@example.com:3)",
    )
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument(
        "--scenario",
        action="append",
        type=_scenario_arg,
        default=[],
        metavar="NAME=VALUE",
        help="set a fault of the Scenario, e.g. submit_500_after_create=1 (repeatable)",
    )


def _option(args: argparse.Namespace, name: str, default: Any) -> Any:
    # A parser that mounted only some of the options (or left them None) gets the defaults.
    value = getattr(args, name, None)
    return default if value is None else value


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C or SIGTERM; 0 when stopped, 2 when the port cannot be had."""
    from kling_desktop.simulator.server import DEMO_TOKEN, Simulator

    host = str(_option(args, "host", "127.0.0.1"))
    port = int(_option(args, "port", 0))
    accounts: list[tuple[str, int]] = []
    for spec in _option(args, "account", None) or [_DEFAULT_ACCOUNT]:
        email_, _, jobs = spec.partition(":")
        accounts.append((email_, int(jobs or 3)))
    scenario = Scenario(task_seconds=float(_option(args, "task_seconds", Scenario.task_seconds)))
    for name, value in _option(args, "scenario", []):
        setattr(scenario, name, value)
    sim = Simulator(
        token=str(_option(args, "token", DEMO_TOKEN)),
        accounts=accounts,
        host=host,
        port=port,
        scenario=scenario,
        data_dir=_option(args, "data_dir", None),
    )
    try:
        sim.start()
    except OSError as exc:
        print(f"Cannot listen on {host}:{port}: {exc}")
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    with contextlib.suppress(ValueError):  # not on the main thread
        signal.signal(signal.SIGTERM, on_signal)
    _print_welcome(sim, accounts)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    print("Simulator stopped.")
    return 0


def _print_welcome(sim: Simulator, accounts: list[tuple[str, int]]) -> None:
    email0 = accounts[0][0]
    print(f"Kling simulator running at {sim.url}")
    print(f"Token: {sim.token}")
    print(f"Accounts: {', '.join(e for e, _ in accounts)}")
    print("Try:")
    print(f'  curl -H "Authorization: Bearer {sim.token}" {sim.url}/accounts')
    print(
        f'  curl "{sim.url}/assets/?email={email0}" -H "Authorization: Bearer {sim.token}" '
        '-H "Content-Type: video/mp4" --data-binary @clip.mp4'
    )
    print(
        f'  curl "{sim.url}/videos/add-sound" -H "Authorization: Bearer {sim.token}" '
        '-H "Content-Type: application/json" '
        f'-d \'{{"email": "{email0}", "video": "<resourceUrl>"}}\''
    )
    print(f"Use it from the app: KLING_DESKTOP_API_URL={sim.url} KLING_DESKTOP_TOKEN={sim.token}")
    print("Press Ctrl-C to stop.", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m kling_desktop.simulator [options]``."""
    parser = argparse.ArgumentParser(prog=PROG, description=DESCRIPTION)
    add_arguments(parser)
    return run(parser.parse_args(list(argv) if argv is not None else None))


serve_forever_cli = main  # the name the package has exported since the start
