"""``kling-desktop retry``: failed jobs pick up where they stopped, at no new cost.

Retry checks a clip again, sends a request the user confirmed but that never left, tracks a
Kling task again or downloads its paid result again (``policy.retry``). A job Kling failed or
lost, or whose request's fate is unknown, needs a NEW PAID Kling job: that is sent only with
``--resubmit``, and only for the ids given (or every failed job with ``--all``) (DESIGN §4.1).
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable

from kling_desktop.cli import EXIT_OK, EXIT_USAGE
from kling_desktop.cli.common import UsageError, fail_usage, job_line, print_jobs_json
from kling_desktop.cli.follow import core_app, follow, make_runner
from kling_desktop.context import CommandContext
from kling_desktop.jobs import policy
from kling_desktop.jobs.model import Job, JobState
from kling_desktop.runner.engine import JobRunner
from kling_desktop.text import plural

S = JobState
Kind = policy.RetryKind


def run(args: argparse.Namespace) -> int:
    if bool(args.job_ids) == bool(args.all):
        print(
            "kling-desktop retry: give the ids of the jobs to retry (`kling-desktop jobs` "
            "lists them) or --all, not both.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    ctx = CommandContext.load()
    set_poll_interval(ctx, args.poll_interval)
    core_app()
    try:
        store, runner = make_runner(ctx, "retry")
    except UsageError as exc:
        return fail_usage(exc)
    try:
        try:
            targets = (
                chosen_jobs(runner, args.job_ids)
                if args.job_ids
                else [j for j in runner.jobs() if j.state is S.FAILED]
            )
        except UsageError as exc:
            runner.shutdown()
            return fail_usage(exc)
        acts: dict[int, Callable[[], None]] = {}
        shown: list[int] = []
        for job in targets:
            kind = runner.retry_kind(job.id)
            if kind is Kind.NONE:
                say(job, nothing_to_retry(job))
                continue
            shown.append(job.id)
            if kind is not Kind.RESUBMIT:
                acts[job.id] = functools.partial(runner.retry, job.id)
            elif args.resubmit:
                n = runner.paid_to_resend(job.id)
                what = "a new paid Kling job" if n == 1 else plural(n, "new paid Kling job")
                say(job, f"sending {what} for it.{may_run_already(runner, job)}")
                acts[job.id] = functools.partial(runner.resubmit, job.id, paid=n)
            else:
                say(job, needs_new_paid_job(job))
        if not shown:
            runner.shutdown()
            if args.json:
                print_jobs_json([])
            elif not targets:
                print("No failed jobs to retry.")
            return EXIT_OK
        return follow_after(runner, acts, shown, wait=args.wait, as_json=args.json)
    finally:
        store.close()


def set_poll_interval(ctx: CommandContext, seconds: float | None) -> None:
    if seconds is not None:
        ctx.settings.poll_interval_s = max(0.2, seconds)
        ctx.settings.first_poll_delay_s = min(ctx.settings.first_poll_delay_s, seconds)


def chosen_jobs(runner: JobRunner, job_ids: list[int]) -> list[Job]:
    """The jobs named on the command line, in the order given, each once."""
    jobs = []
    for job_id in dict.fromkeys(job_ids):
        job = runner.job(job_id)
        if job is None:
            raise UsageError(f"There is no job {job_id}; `kling-desktop jobs` lists them.")
        jobs.append(job)
    return jobs


def say(job: Job, sentence: str) -> None:
    print(f"[{job.id}] {job.name}: {sentence}", file=sys.stderr, flush=True)


def follow_after(
    runner: JobRunner,
    acts: dict[int, Callable[[], None]],
    shown: list[int],
    *,
    wait: bool,
    as_json: bool,
) -> int:
    """Carry out ``acts`` (each moves its job on) and follow the jobs in ``shown`` until they
    settle, like ``add-sound`` (exit 0 all good, 1 some failed).

    :func:`follow` sees the jobs only once every acted-on job has moved (the engine writes a
    user's action on its store thread), so a job still "failed" is never taken for settled.
    """
    pending = set(acts)

    def moved(job: Job) -> None:
        if job.id in pending:
            pending.discard(job.id)
            if pending and not as_json:  # once none is pending, follow() prints the changes
                print(job_line(job), file=sys.stderr, flush=True)

    runner.job_changed.connect(moved)
    for act in acts.values():
        act()
    return follow(runner, lambda: [] if pending else shown, wait=wait, as_json=as_json)


def needs_new_paid_job(job: Job) -> str:
    """Why retrying ``job`` would be a new paid Kling job, and how to ask for one."""
    how = f"To pay for a new one: `kling-desktop retry --resubmit {job.id}`."
    if job.state is S.UNCERTAIN:
        return (
            "not sent again: its add-sound request was sent but the answer was lost, so Kling "
            "may already be working on it and sending it again may charge you twice. If you "
            f"find its task in your Kling account, `kling-desktop resolve {job.id} --found "
            f"TASK_ID` tracks it for free. {how}"
        )
    why = {
        "kling_failed": "Kling could not add sound to it",
        "task_gone": "Kling no longer has its task",
    }.get(job.error_code, "its paid request was already sent")
    return f"retrying it needs a new paid Kling job ({why}), so nothing was sent. {how}"


def may_run_already(runner: JobRunner, job: Job) -> str:
    """The warning for a resend that covers requests whose answer was lost ("" if none)."""
    unsure = runner.paid_to_resolve(job.id)
    if not unsure:
        return ""
    which = (
        "Its request was"
        if not job.requests
        else ("One of its requests was" if unsure == 1 else f"{unsure} of its requests were")
    )
    return (
        f" {which} sent before and the answer lost: Kling may already be working on it, "
        "so this may charge you twice."
    )


def nothing_to_retry(job: Job) -> str:
    if job.state is S.DONE:
        return "nothing to retry: it is done."
    if job.state.is_active:
        return (
            f"nothing to retry: it is still under way ({job.state.label.lower()}); "
            "`kling-desktop resume` carries it on."
        )
    return f"nothing to retry: it is {job.state.label.lower()}."
