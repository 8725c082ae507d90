"""``kling-desktop resolve JOB_ID --found TASK_ID | --resend``: the user's decision for a job
whose add-sound request was sent but whose answer was lost (DESIGN §4.1).

``--found`` tracks the Kling task the user found for it (free); ``--resend`` sends a NEW PAID
Kling job. A job that needs neither is left alone, with a sentence saying what would help.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable

from kling_desktop.cli import EXIT_FAILED, EXIT_USAGE
from kling_desktop.cli.common import UsageError, fail_usage
from kling_desktop.cli.follow import core_app, make_runner
from kling_desktop.cli.retry import chosen_jobs, follow_after, say, set_poll_interval
from kling_desktop.context import CommandContext
from kling_desktop.jobs import policy
from kling_desktop.jobs.model import Job
from kling_desktop.runner.engine import JobRunner
from kling_desktop.text import plural

Kind = policy.RetryKind


def run(args: argparse.Namespace) -> int:
    if args.found is not None and args.found <= 0:
        print("kling-desktop resolve: a Kling task id is a positive number.", file=sys.stderr)
        return EXIT_USAGE
    ctx = CommandContext.load()
    set_poll_interval(ctx, args.poll_interval)
    core_app()
    try:
        store, runner = make_runner(ctx, "resolve")
    except UsageError as exc:
        return fail_usage(exc)
    try:
        try:
            [job] = chosen_jobs(runner, [args.job_id])
        except UsageError as exc:
            runner.shutdown()
            return fail_usage(exc)
        if args.found is not None:
            act, refusal = _found(runner, job, args.found)
        else:
            act, refusal = _resend(runner, job)
        if act is None:
            runner.shutdown()
            say(job, refusal)
            return EXIT_FAILED
        return follow_after(runner, {job.id: act}, [job.id], wait=args.wait, as_json=args.json)
    finally:
        store.close()


Act = Callable[[], None]


def _found(runner: JobRunner, job: Job, task_id: int) -> tuple[Act | None, str]:
    target = runner.found_for(job.id)
    if target is None:
        return None, (
            "nothing changed: more than one of its parts (or none) may have a Kling task it "
            "does not know. Name the part: `kling-desktop jobs` lists their ids."
        )
    owner = runner.task_owner(task_id)
    if owner is not None and owner.id != target.id:
        whose = f"job {owner.id}'s ({owner.name})"
        return None, f"nothing changed: Kling task {task_id} is already {whose}."
    job = target
    if not policy.found(job, task_id).changes:
        if job.task_id is not None:
            return None, (
                f"nothing changed: it already has Kling task {job.task_id}. "
                f"`kling-desktop retry {job.id}` looks at that task again, for free."
            )
        return None, f"nothing to resolve: it is {job.state.label.lower()}."
    say(job, f"tracking Kling task {task_id} for it (free).")
    return functools.partial(runner.found, job.id, task_id), ""


def _resend(runner: JobRunner, job: Job) -> tuple[Act | None, str]:
    kind = runner.retry_kind(job.id)
    uncertain = runner.paid_to_resolve(job.id)
    if kind is Kind.RESUBMIT and uncertain:
        what = "a new paid Kling job" if uncertain == 1 else plural(uncertain, "new paid Kling job")
        say(job, f"sending {what} for it.")
        return functools.partial(runner.resolve_uncertain, job.id, resubmit=True), ""
    if kind is Kind.RESUBMIT:
        return None, (
            "not sent: nothing of it is uncertain. Kling failed or lost it: "
            f"`kling-desktop retry --resubmit {job.id}` sends it again as a new paid job."
        )
    if kind is Kind.SEND:
        return None, (
            "not sent: its request never left, so there is nothing to resolve. "
            f"`kling-desktop retry {job.id}` sends it (the paid job you already confirmed)."
        )
    if kind is not Kind.NONE:
        return None, (
            "not sent: it needs no new paid job. "
            f"`kling-desktop retry {job.id}` picks it up where it stopped, at no new cost."
        )
    if job.state.is_active:
        return None, (
            f"not sent: it is still under way ({job.state.label.lower()}); "
            "`kling-desktop resume` carries it on."
        )
    return None, f"nothing to resolve: it is {job.state.label.lower()}."
