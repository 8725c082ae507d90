"""What a row of the job list says: its status line (with the running clock or the
countdown to the next try), its message, a length, and why a clip waits for a token. Plain
functions of a job and its progress, shared by the list, the details line and notifications."""

from __future__ import annotations

import time

from PySide6.QtCore import QCoreApplication

from kling_desktop.api import errors
from kling_desktop.jobs.model import Job, JobState
from kling_desktop.jobs.pipeline import NoClient
from kling_desktop.runner.engine import Progress
from kling_desktop.text import format_clock


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    return format_clock(seconds)


#: A queued clip held until the token works: one label, whichever sentence said why (the
#: runner reports the refusal's sentence in one session, this label after a restart).
WAITING_FOR_TOKEN = "Waiting for a working API token"
_TOKEN_SENTENCES = (
    str(NoClient()),
    errors.Unauthorized.summary,
    errors.SubscriptionRequired.summary,
)


def token_wait(job: Job, progress: Progress) -> str:
    """Why a queued clip waits for a working token (a sentence), or "" when it does not."""
    text = progress.text or ""
    if job.state is JobState.QUEUED and text.startswith(_TOKEN_SENTENCES):
        return text
    return ""


def status_text(job: Job, progress: Progress, now: float | None = None) -> str:
    """The one-line status of a row: the engine's progress text (else the state's label),
    with the elapsed time of a timed phase ("Adding sound · 0:42")."""
    # A finished row says what it is, whatever was last reported while it ran.
    running = job.state.is_active or job.state is JobState.UNCERTAIN
    label = (progress.text if running else "") or QCoreApplication.translate(
        "JobState", job.state.label
    )
    if token_wait(job, progress):
        label = QCoreApplication.translate("JobTable", WAITING_FOR_TOKEN)
    now = now if now is not None else time.time()
    if progress.until is not None and (job.state.is_active or job.state is JobState.UNCERTAIN):
        left = max(0, round(progress.until - now))
        return (
            QCoreApplication.translate("JobTable", "%1 · next try in %2")
            .replace("%1", label)
            .replace("%2", format_clock(left) if left >= 60 else f"{left} s")
        )
    since = progress.since
    if since is None and job.state is JobState.PROCESSING:
        since = job.submitted_at
    if since is not None and job.state.is_active:
        elapsed = now - since
        return f"{label} · {format_clock(elapsed)}"
    if (
        not progress.text
        and job.state in (JobState.UPLOADING, JobState.DOWNLOADING)
        and progress.fraction is not None
    ):
        return f"{label} {round(progress.fraction * 100)} %"
    return label


def message_text(job: Job) -> str:
    """The row's message: where a finished clip's result is; else the job's error, else its
    warnings (a warning from the check before the upload no longer matters once done)."""
    if job.state is JobState.DONE and job.output_path is not None:
        return QCoreApplication.translate("JobTable", "Saved as %1").replace(
            "%1", str(job.output_path)
        )
    return job.error_message or job.warnings
