"""A stand-in runner with the real one's signals and methods, for fast window tests.

It moves jobs only when the test says so (``set_state``), so filter and action tests are exact
and need no simulator. End-to-end tests use the real :class:`JobRunner`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from kling_desktop.jobs import parts, policy
from kling_desktop.jobs.model import Job, JobOptions, JobState
from kling_desktop.runner.engine import BatchSummary, Progress


class FakeRunner(QObject):
    job_added = Signal(object)
    job_changed = Signal(object)
    job_removed = Signal(int)
    job_progress = Signal(int, object)
    files_added = Signal(object)
    store_trouble = Signal(str)
    batch_finished = Signal(object)
    connection_changed = Signal(bool, str)
    idle_changed = Signal(bool)

    def __init__(self, jobs: Iterable[Job] = ()) -> None:
        super().__init__()
        self._jobs: dict[int, Job] = {j.id: j for j in jobs}
        self._progress: dict[int, Progress] = {}
        self.calls: list[tuple[str, Any]] = []
        self.sending: set[int] = set()  # jobs remove_many keeps (their submit is in flight)
        #: The requests of clips of parts, by clip id (tests set them).
        self.requests: dict[int, list[Job]] = {}
        self._next = max(self._jobs, default=0) + 1

    # -- what the window calls ----------------------------------------------------------

    def jobs(self) -> list[Job]:
        return list(self._jobs.values())

    def job(self, job_id: int) -> Job | None:
        return self._jobs.get(job_id)

    def progress(self, job_id: int) -> Progress:
        return self._progress.get(job_id, Progress())

    def requests_of(self, job_id: int) -> list[Job]:
        return list(self.requests.get(job_id, []))

    def paid_to_start(self, job_id: int) -> int:
        job = self._jobs.get(job_id)
        return parts.paid_requests(job) if job is not None else 0

    def paid_to_resolve(self, job_id: int) -> int:
        rows = self.requests.get(job_id) or ([self._jobs[job_id]] if job_id in self._jobs else [])
        return sum(1 for r in rows if r.state is JobState.UNCERTAIN)

    def paid_to_resend(self, job_id: int) -> int:
        job = self._jobs.get(job_id)
        if job is None:
            return 0
        if job_id in self.requests:
            return len(parts.to_resubmit(self.requests[job_id]))
        return 1 if policy.retry_kind(job) is policy.RetryKind.RESUBMIT else 0

    def set_options(self, job_ids: Iterable[int], **fields: Any) -> list[int]:
        ids = list(job_ids)
        self.calls.append(("set_options", (ids, fields)))
        for job_id in ids:
            job = self._jobs[job_id]
            self.set_state(job_id, job.state, options=dataclasses.replace(job.options, **fields))
        return ids

    def remix(self, job_id: int, **options: Any) -> bool:
        self.calls.append(("remix", (job_id, options)))
        return True

    def add_files(
        self, paths: Sequence[Path], options: JobOptions, *, start: bool = False
    ) -> list[int]:
        self.calls.append(("add_files", (list(paths), options, start)))
        ids = []
        for path in paths:
            job = Job(id=self._next, input_path=Path(path), state=JobState.READY, options=options)
            self._next += 1
            self._jobs[job.id] = job
            ids.append(job.id)
            self.job_added.emit(job)
        self.files_added.emit(ids)
        return ids

    def start(
        self, job_ids: Iterable[int] | None = None, *, paid: dict[int, int] | None = None
    ) -> None:
        ids = list(job_ids) if job_ids is not None else None
        self.calls.append(("start", ids))
        for job_id in ids if ids is not None else list(self._jobs):
            if self._jobs[job_id].state is JobState.READY:
                self.set_state(job_id, JobState.QUEUED)

    def retry(self, job_id: int) -> None:
        self.calls.append(("retry", job_id))

    def retry_kind(self, job_id: int) -> policy.RetryKind:
        return policy.retry_kind(self._jobs[job_id])

    def resubmit(self, job_id: int, *, paid: int | None = None) -> None:
        self.calls.append(("resubmit", job_id))

    def found(self, job_id: int, task_id: int) -> None:
        self.calls.append(("found", (job_id, task_id)))

    def cancel(self, job_id: int) -> None:
        self.calls.append(("cancel", job_id))
        job = self._jobs.get(job_id)
        if job is not None and job.state in (
            JobState.QUEUED,
            JobState.UPLOADING,
            JobState.WAITING_SLOT,
        ):
            self.set_state(job_id, JobState.READY)

    def retry_all_failed(self) -> None:
        self.calls.append(("retry_all_failed", None))

    def stop_tracking(self, job_id: int) -> None:
        self.calls.append(("stop_tracking", job_id))
        self.set_state(job_id, JobState.STOPPED)

    def remove(self, job_id: int) -> list[Job]:
        return self.remove_many([job_id])

    def remove_many(self, job_ids: Iterable[int]) -> list[Job]:
        """Like the runner: a job whose paid request is being sent (``sending``) is kept."""
        removed = []
        for job_id in job_ids:
            job = self._jobs.get(job_id)
            if job is None or job_id in self.sending:
                continue
            self.calls.append(("remove", job_id))
            del self._jobs[job_id]
            removed.append(job)
            self.job_removed.emit(job_id)
        return removed

    def restore(self, jobs: Sequence[Job]) -> None:
        self.calls.append(("restore", [j.id for j in jobs]))
        for job in jobs:
            if job.id not in self._jobs:
                self._jobs[job.id] = job
                self.job_added.emit(job)

    def resolve_uncertain(self, job_id: int, *, resubmit: bool) -> None:
        self.calls.append(("resolve_uncertain", (job_id, resubmit)))

    def resume(self) -> None:
        self.calls.append(("resume", None))

    def client_changed(self) -> None:
        self.calls.append(("client_changed", None))

    def shutdown(self) -> None:
        self.calls.append(("shutdown", None))

    def is_idle(self) -> bool:
        return not any(j.state.is_active for j in self._jobs.values())

    # -- what tests drive ---------------------------------------------------------------

    def set_state(self, job_id: int, state: JobState, **fields: Any) -> Job:
        job = self._jobs[job_id].replace(state=state, **fields)
        self._jobs[job_id] = job
        self.job_changed.emit(job)
        return job

    def set_progress(self, job_id: int, progress: Progress) -> None:
        self._progress[job_id] = progress
        self.job_progress.emit(job_id, progress)

    def finish_batch(self, summary: BatchSummary) -> None:
        self.batch_finished.emit(summary)
