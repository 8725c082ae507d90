"""What the runner knows of every job, on its own thread: the rows as last written, each
job's progress, and how the user sees them (a clip of parts shows its requests' state).

Plain Python (no Qt): the runner keeps it up to date; the window and the command line read
it through the runner.
"""

from __future__ import annotations

from collections.abc import Callable

from kling_desktop.jobs import parts, policy
from kling_desktop.jobs.model import Job, JobState
from kling_desktop.runner.steps import Progress

S = JobState


class JobBook:
    def __init__(self, jobs: list[Job]) -> None:
        #: Every row as stored, requests of clips of parts too.
        self.rows: dict[int, Job] = {job.id: job for job in jobs}
        #: What each row shows under its state (from its step's last report).
        self.progress: dict[int, Progress] = {}

    # -- rows -----------------------------------------------------------------------------

    def all(self) -> list[Job]:
        return [self.rows[k] for k in sorted(self.rows)]

    def clips(self) -> list[Job]:
        """The user's clips as they see them (not the requests of clips of parts)."""
        return [self.view(job) for job in self.all() if job.parent_id is None]

    def get(self, job_id: int) -> Job | None:
        job = self.rows.get(job_id)
        return self.view(job) if job is not None else None

    def requests_of(self, job_id: int) -> list[Job]:
        return sorted(
            (j for j in self.rows.values() if j.parent_id == job_id),
            key=lambda j: (j.part_index, j.take_index, j.id),
        )

    def view(self, job: Job) -> Job:
        return parts.view(job, self.requests_of(job.id)) if job.requests else job

    def is_idle(self) -> bool:
        """Nothing is at work, or about to be: a clip of parts whose requests are all done
        is put together next."""
        return not any(
            job.state.is_active
            or (job.state is S.PARTS and parts.all_done(self.requests_of(job.id)))
            for job in self.rows.values()
        )

    # -- money ----------------------------------------------------------------------------

    def retry_kind(self, job_id: int) -> policy.RetryKind:
        job = self.rows.get(job_id)
        if job is None:
            return policy.RetryKind.NONE
        if job.requests:
            return parts.retry_kind(job, self.requests_of(job_id))
        return policy.retry_kind(job)

    def paid_to_resend(self, job_id: int) -> int:
        job = self.rows.get(job_id)
        if job is None:
            return 0
        if job.requests:
            return len(parts.to_resubmit(self.requests_of(job_id)))
        return 1 if policy.retry_kind(job) is policy.RetryKind.RESUBMIT else 0

    def paid_to_start(self, job_id: int) -> int:
        job = self.rows.get(job_id)
        if job is None:
            return 0
        if job.requests and job.state is S.PARTS:  # some requests were cancelled back to ready
            return sum(1 for r in self.requests_of(job_id) if r.state is S.READY)
        return parts.paid_requests(job)

    # -- progress -------------------------------------------------------------------------

    def progress_of(self, job_id: int, waiting_for_token: Callable[[], bool]) -> Progress:
        job = self.rows.get(job_id)
        if job is not None and job.requests and job.state is S.PARTS:
            return self._parts_progress(job)
        progress = self.progress.get(job_id)
        if progress is not None:
            return progress
        if job is not None and job.state is S.PROCESSING:
            return Progress(None, "Adding sound", job.submitted_at)
        if job is not None and job.state is S.QUEUED and waiting_for_token():
            return Progress(None, "Waiting for a working API token")
        return Progress()

    def _parts_progress(self, clip: Job) -> Progress:
        """One bar for a clip of parts: each request's share (a transfer counts for its
        part of the way), and the request furthest behind in words."""
        requests = self.requests_of(clip.id)
        shown = parts.summary(clip, requests)
        fractions = [self._share(request) for request in requests]
        fraction = sum(fractions) / len(fractions) if fractions else None
        text = shown.text
        if shown.shown is not None and shown.shown.state.is_active:
            own = self.progress.get(shown.shown.id)
            what = own.text if own is not None and own.text else shown.shown.state.label
            which = parts.label(clip, shown.shown, short=True)
            if which:
                what = f"{which}: {what}"
            # The count first: in a narrow row, the detail is what gets cut off.
            text = " · ".join(t for t in (text, what) if t)
        since = shown.shown.submitted_at if shown.shown is not None else None
        return Progress(fraction, text, since)

    def _share(self, request: Job) -> float:
        if request.state is S.DONE:
            return 1.0
        own = self.progress.get(request.id)
        if request.state is S.DOWNLOADING:
            return 0.9
        if request.state in (S.PROCESSING, S.SUBMITTING, S.WAITING_SLOT):
            return 0.5
        if (
            own is not None
            and own.fraction is not None
            and request.state in (S.QUEUED, S.UPLOADING)
        ):
            return own.fraction * 0.3
        return 0.0
