"""``kling-desktop resume``: carry on with every unfinished job (after a quit or a crash)."""

from __future__ import annotations

import argparse

from kling_desktop.cli import EXIT_OK
from kling_desktop.cli.common import UsageError, fail_usage, print_jobs_json
from kling_desktop.cli.follow import core_app, follow, make_runner
from kling_desktop.context import CommandContext


def run(args: argparse.Namespace) -> int:
    ctx = CommandContext.load()
    if args.poll_interval is not None:
        ctx.settings.poll_interval_s = max(0.2, args.poll_interval)
    core_app()
    try:
        store, runner = make_runner(ctx, "resume")
    except UsageError as exc:
        return fail_usage(exc)
    try:
        ids = [j.id for j in runner.jobs() if j.state.is_active]
        if not ids:  # follow() would wait for jobs that never come
            runner.shutdown()
            if args.json:
                print_jobs_json([])
            else:
                print("No unfinished jobs to resume.")
            return EXIT_OK
        runner.resume()
        return follow(runner, lambda: ids, wait=args.wait, as_json=args.json)
    finally:
        store.close()
