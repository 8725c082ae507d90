"""``kling-desktop remove JOB_ID...``: forget jobs; clips and results stay on disk.

A job whose paid request is being sent (stored as "submitting": its answer is not known yet)
is not removed: forgetting it could lose a Kling job the user is charged for. A job Kling is
still working on is removed with a sentence saying that Kling still runs and charges it.
"""

from __future__ import annotations

import argparse
import sys
import time

from kling_desktop.cli import EXIT_FAILED, EXIT_OK
from kling_desktop.cli.common import UsageError, fail_usage
from kling_desktop.cli.follow import core_app, make_runner
from kling_desktop.cli.retry import chosen_jobs
from kling_desktop.context import CommandContext
from kling_desktop.jobs.model import Job, JobState
from kling_desktop.jobs.store import JobStore

S = JobState
#: How long to wait for the engine's store thread to write the removal.
_WRITE_WAIT_S = 30.0


def run(args: argparse.Namespace) -> int:
    ctx = CommandContext.load()
    app = core_app()
    try:
        store, runner = make_runner(ctx, "remove")
    except UsageError as exc:
        return fail_usage(exc)
    try:
        try:
            jobs = chosen_jobs(runner, args.job_ids)
        except UsageError as exc:
            runner.shutdown()
            return fail_usage(UsageError(f"{exc} Nothing was removed."))
        refused = [job for job in jobs if job.state is S.SUBMITTING]
        for job in refused:
            print(f"[{job.id}] {job.name}: {in_flight_sentence()}", file=sys.stderr)
        removed = runner.remove_many([job.id for job in jobs if job not in refused])
        ids = [job.id for job in removed]
        deadline = time.monotonic() + _WRITE_WAIT_S
        while _still_stored(store, ids) and time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.01)
        runner.shutdown()
        left = set(_still_stored(store, ids))
        for job in removed:
            if job.id in left:
                print(
                    f"[{job.id}] {job.name}: could not be removed (the job list could not be "
                    "written; see the log). Try again.",
                    file=sys.stderr,
                )
            else:
                print(f"[{job.id}] {job.name}: {removed_sentence(job)}")
        return EXIT_FAILED if refused or left else EXIT_OK
    finally:
        store.close()


def _still_stored(store: JobStore, ids: list[int]) -> list[int]:
    return [i for i in ids if store.get(i) is not None]


def in_flight_sentence() -> str:
    return (
        "not removed: its paid add-sound request is being sent and the answer is not known "
        "yet, so removing it could lose a Kling job you are charged for. Run "
        "`kling-desktop resume` first (it finds the job's task), then remove it if you wish."
    )


def removed_sentence(job: Job) -> str:
    """What removing ``job`` meant, in a sentence."""
    kept = "the clip and its result stay" if job.output_path else "the clip stays"
    text = f"removed from the list ({kept} on disk)."
    task = f"task {job.task_id}" if job.task_id is not None else "its task"
    if job.state in (S.PROCESSING, S.STOPPED):
        text += (
            f" Kling still runs this job ({task}) and charges for it; its result will appear "
            "in your Kling account."
        )
    elif job.state is S.UNCERTAIN:
        text += (
            " Its request may have reached Kling, which then runs and charges it; the app no "
            "longer looks for its task."
        )
    elif job.task_id is not None and job.state is not S.DONE and job.result_url:
        text += f" Its sound was paid for and stays in your Kling account ({task})."
    return text
