"""``kling-desktop remix JOB_ID [sound options]``: make a finished job's result again, free.

The sound Kling made is kept in the cache; a remix mixes it again with the clip's own sound
at other levels, brings it to another loudness, exports the audio, and writes the result
over the job's own result files. Nothing is sent to Kling; nothing is paid.
"""

from __future__ import annotations

import argparse
import sys

from PySide6.QtCore import QTimer

from kling_desktop.cli import EXIT_FAILED, EXIT_OK
from kling_desktop.cli.add_sound import sound_options
from kling_desktop.cli.common import UsageError, fail_usage, job_line, print_jobs_json
from kling_desktop.cli.follow import core_app, make_runner
from kling_desktop.context import CommandContext
from kling_desktop.jobs.model import JobState
from kling_desktop.runner.engine import JobRunner


def run(args: argparse.Namespace) -> int:
    ctx = CommandContext.load()
    app = core_app()
    try:
        store, runner = make_runner(ctx, "remix")
    except UsageError as exc:
        return fail_usage(exc)
    try:
        job = runner.job(args.job_id)
        if job is None:
            return fail_usage(UsageError(f"There is no job {args.job_id}."))
        if job.state is not JobState.DONE:
            print(
                f"[{job.id}] {job.name}: nothing to remix yet: it is {job.state.label.lower()}.",
                file=sys.stderr,
            )
            return EXIT_FAILED
        options = sound_options(args)
        if not runner.remix(job.id, **options):
            print(f"[{job.id}] {job.name}: it cannot be remixed now.", file=sys.stderr)
            return EXIT_FAILED
        errors: list[str] = []
        runner.job_progress.connect(
            lambda job_id, p: (
                errors.append(p.text)
                if job_id == job.id and p.text.startswith("Remix failed")
                else None
            )
        )
        _until_settled(runner, app.quit)
        app.exec()
        runner.shutdown()
        after = runner.job(job.id) or job
        if errors:
            print(f"[{job.id}] {job.name}: {errors[-1]}", file=sys.stderr)
            return EXIT_FAILED
        if args.json:
            print_jobs_json([after], runner.requests_of)
        else:
            print(job_line(after))
        return EXIT_OK
    finally:
        store.close()


def _until_settled(runner: JobRunner, then: object) -> None:
    """Call ``then`` once the runner's work (the remix) has reported back."""
    timer = QTimer(runner)

    def look() -> None:
        if runner.settled():
            timer.stop()
            then()  # type: ignore[operator]

    timer.timeout.connect(look)
    timer.start(50)
