"""``kling-desktop jobs``: list every job the app knows.

Read-only: it never takes the data folder's lock (DESIGN §4.8), so it works beside a running
window or ``resume``. A damaged job list is set aside and recovered here too — unless another
process is using it, which then does that itself on its next start.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

from kling_desktop.cli import EXIT_OK
from kling_desktop.cli.common import UsageError, fail_usage, job_line, print_jobs_json
from kling_desktop.instance import InstanceLock, describe_holder
from kling_desktop.jobs import parts
from kling_desktop.jobs.model import Job
from kling_desktop.jobs.store import JobStore, StoreDamaged, StoreError
from kling_desktop.logs import setup_logging
from kling_desktop.paths import app_paths


def open_job_list(path: Path, *, recover: bool = True) -> JobStore:
    """The job store at ``path``; a :class:`UsageError` with a sentence when it cannot be
    opened (newer schema, damaged and not movable, permissions)."""
    try:
        return JobStore(path, recover=recover)
    except StoreError as exc:
        raise UsageError(str(exc)) from exc
    except (sqlite3.Error, OSError) as exc:
        raise UsageError(f"The job list {path} could not be opened: {exc}.") from exc


def print_notes(store: JobStore) -> None:
    """Say once, on stderr, what happened to the job list (set aside, rows left out)."""
    for note in store.notes():
        print(f"kling-desktop: {note}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    paths = app_paths().ensure()
    setup_logging(paths.log_file)
    # Only look whether someone holds the lock (an instant, never waiting): moving a file
    # aside under a running window or `resume` would lose what they write next.
    lock = InstanceLock(paths.data_dir, "kling-desktop jobs")
    in_use = lock.is_held_elsewhere()
    try:
        try:
            store = open_job_list(paths.database, recover=not in_use)
        except UsageError as exc:
            if isinstance(exc.__cause__, StoreDamaged):
                raise UsageError(
                    f"The job list {paths.database} is damaged ({exc.__cause__.damage}); "
                    f"{describe_holder(lock.holder())} is using it, so it stays as it is "
                    "until Kling Desktop or `kling-desktop resume` next starts and sets it "
                    "aside."
                ) from exc
            raise
        try:
            jobs = store.all()
        except sqlite3.Error as exc:
            raise UsageError(f"The job list {paths.database} could not be read: {exc}.") from exc
        finally:
            store.close()
    except UsageError as exc:
        return fail_usage(exc)
    print_notes(store)
    clips = parts.listing(jobs)
    if args.json:
        requests = {clip.id: own for clip, own in clips}
        print_jobs_json([clip for clip, _ in clips], lambda i: requests.get(i, []))
    elif not clips:
        print("No jobs yet.")
    else:
        for clip, own in clips:
            # A clip of parts paid for its requests: their sum, whatever state it is in.
            paid = sum(r.paid_submits for r in own) if own else clip.paid_submits
            print(job_line(clip, paid_note(clip.replace(paid_submits=paid))))
            for request in own:
                print(f"    {request_line(clip, request)}")
    return EXIT_OK


def paid_note(job: Job) -> str:
    """``Kling task 123 · paid 1×``: what the user's money went to ("" if nothing was sent)."""
    words = [f"Kling task {job.task_id}"] if job.task_id is not None else []
    if job.paid_submits:
        words.append(f"paid {job.paid_submits}×")
    return " · ".join(words)


def request_line(clip: Job, request: Job) -> str:
    """``[3] part 2 of 3: Done · Kling task 123 · paid 1×``: one paid request of a clip."""
    text = f"[{request.id}] {parts.label(clip, request) or 'request'}: {request.state.label}"
    if note := paid_note(request):
        text += f" · {note}"
    if request.error_message:
        text += f" — {request.error_message}"
    return text
