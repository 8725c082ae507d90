"""The job engine: drives every job through check → upload → submit → poll → download.

Used by the window and the command line alike. Lives on the owner's thread and never blocks it:
checks, uploads, submits, polls and downloads run on pooled QThreads; results come back as
signals. Polls are scheduled with timers, so 200 processing jobs need no more threads than
the poll pool's few.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from kling_desktop.api.client import KlingClient
from kling_desktop.jobs.model import Job, JobOptions, JobState
from kling_desktop.jobs.store import JobStore
from kling_desktop.settings import Settings


@dataclass(frozen=True)
class Progress:
    """What a row shows under its state: a fraction (None = indeterminate) and a short text."""

    fraction: float | None = None
    text: str = ""


@dataclass(frozen=True)
class BatchSummary:
    """Sent once when the engine goes idle after working: failures first."""

    done: list[Job] = field(default_factory=list)
    failed: list[Job] = field(default_factory=list)  # failed, uncertain, stopped

    @property
    def headline(self) -> str:
        parts = []
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        if self.done:
            parts.append(f"{len(self.done)} done")
        return ", ".join(parts) or "Nothing to do"


ClientFactory = Callable[[], KlingClient | None]


class JobRunner(QObject):
    job_added = Signal(object)  # Job
    job_changed = Signal(object)  # Job: the new snapshot
    job_removed = Signal(int)  # job id
    job_progress = Signal(int, object)  # job id, Progress
    batch_finished = Signal(object)  # BatchSummary
    connection_changed = Signal(bool, str)  # online, a sentence for the status bar
    idle_changed = Signal(bool)  # True when nothing is active

    def __init__(
        self,
        store: JobStore,
        client_factory: ClientFactory,
        settings: Settings,
        *,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        raise NotImplementedError

    def jobs(self) -> list[Job]: ...
    def job(self, job_id: int) -> Job | None: ...
    def progress(self, job_id: int) -> Progress: ...
    def add_files(
        self, paths: Sequence[Path], options: JobOptions, *, start: bool = False
    ) -> list[int]: ...
    def start(self, job_ids: Iterable[int] | None = None) -> None: ...
    def retry(self, job_id: int) -> None: ...
    def retry_all_failed(self) -> None: ...
    def stop_tracking(self, job_id: int) -> None: ...
    def remove(self, job_id: int) -> None: ...
    def resolve_uncertain(self, job_id: int, *, resubmit: bool) -> None: ...
    def resume(self) -> None: ...
    def client_changed(self) -> None: ...
    def shutdown(self) -> None: ...
    def is_idle(self) -> bool: ...
    def counts(self) -> dict[JobState, int]: ...
