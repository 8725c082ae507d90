"""``kling-desktop simulator``: run the local useapi.net simulator."""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    from kling_desktop.simulator.server import serve_forever_cli

    argv = ["--port", str(args.port)]
    if args.token:
        argv += ["--token", args.token]
    if args.task_seconds is not None:
        argv += ["--task-seconds", str(args.task_seconds)]
    for spec in getattr(args, "scenario", None) or []:  # NAME=VALUE, when the parser has it
        argv += ["--scenario", spec]
    return serve_forever_cli(argv)
