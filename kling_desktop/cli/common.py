"""Helpers shared by the commands that talk to the service."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from kling_desktop.api import errors
from kling_desktop.api.client import KlingClient
from kling_desktop.cli import EXIT_USAGE
from kling_desktop.context import CommandContext
from kling_desktop.jobs import parts, policy
from kling_desktop.jobs.model import Job


class UsageError(Exception):
    """A configuration or usage problem: the command exits with 2 and this sentence."""


def client_or_fail(ctx: CommandContext) -> KlingClient:
    try:
        client = ctx.client_source().factory()
    except errors.InsecureUrl as exc:
        raise UsageError(str(exc)) from exc
    if client is None:
        raise UsageError(
            "No useapi.net API token is set up. Save one in the app (Accounts) or set "
            "KLING_DESKTOP_TOKEN."
        )
    return client


def choose_email(client: KlingClient, wanted: str | None, default: str) -> str:
    """The account to use: --email, else the only one, else the saved default."""
    try:
        accounts = client.list_accounts()
    except errors.ApiError as exc:
        raise UsageError(f"Could not list the Kling accounts: {exc}") from exc
    emails = [a.email for a in accounts]
    if wanted:
        if emails and wanted not in emails:
            raise UsageError(
                f"No Kling account {wanted!r} behind this token; have: {', '.join(emails)}."
            )
        return wanted
    if len(emails) == 1:
        return emails[0]
    if not emails:
        raise UsageError(
            "This token has no Kling account configured yet. Add one in the app (Accounts)."
        )
    if default in emails:
        return default
    raise UsageError(
        f"This token has several Kling accounts; choose one with --email: {', '.join(emails)}."
    )


def job_json(job: Job, requests: Sequence[Job] = ()) -> dict[str, Any]:
    out = {
        "id": job.id,
        "input": str(job.input_path),
        "state": job.state.value,
        "task_id": job.task_id,
        "output": str(job.output_path) if job.output_path else None,
        "error": job.error_message or None,
        # Money: paid requests sent (≤ confirmed), what the user confirmed, and what
        # `kling-desktop retry` would do ("resubmit": only with --resubmit, a new paid job).
        "paid_submits": job.paid_submits,
        "confirmed_requests": job.confirmed_requests,
        "retry": (
            parts.retry_kind(job, requests) if job.requests else policy.retry_kind(job)
        ).value,
    }
    if job.requests:
        # A clip of several paid requests (parts of a long clip, takes): each its own.
        out["requests"] = [
            {**job_json(r), "part": r.part_index + 1, "take": r.take_index + 1} for r in requests
        ]
        out["files"] = parts.outputs(job)
    return out


def print_jobs_json(
    jobs: Iterable[Job], requests: Callable[[int], Sequence[Job]] | None = None
) -> None:
    rows = [job_json(j, requests(j.id) if requests else ()) for j in jobs]
    print(json.dumps({"jobs": rows}, indent=2, ensure_ascii=False))


def job_line(job: Job, extra: str = "") -> str:
    text = f"[{job.id}] {job.name}: {job.state.label}"
    if shape := parts.shape(job):
        text += f" ({shape})"
    if extra.startswith(job.state.label):  # "Uploading 50 %", not "Uploading · Uploading 50 %"
        text += extra[len(job.state.label) :]
    elif extra:
        text += f" · {extra}"
    if job.output_path and job.state.value == "done":
        text += f" → {job.output_path}"
    if job.error_message:
        text += f" — {job.error_message}"
    return text


def on_interrupt(handler: Callable[[], None]) -> None:
    """Ctrl-C stops waiting (the jobs stay resumable) instead of raising mid-step."""
    signal.signal(signal.SIGINT, lambda *_: handler())


def fail_usage(exc: UsageError) -> int:
    print(f"kling-desktop: {exc}", file=sys.stderr)
    return EXIT_USAGE
