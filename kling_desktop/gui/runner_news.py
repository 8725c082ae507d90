"""How the window reacts to the runner's news: clips added, jobs changed, progress, a batch
ended, the connection. Each reaction asks the window's parts to follow (refreshes are
coalesced: during a drop of 50 clips the signals come by the hundred).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject

from kling_desktop.jobs.model import Job, JobState
from kling_desktop.runner.engine import BatchSummary, Progress

if TYPE_CHECKING:
    from kling_desktop.gui.main_window import MainWindow


class RunnerNews(QObject):
    """Connects the runner's signals to the window (:meth:`connect_to`)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._w = window
        self._done: set[int] = set()  # jobs last seen done (a remix changes them, still done)
        self._back: set[int] = set()  # jobs Undo is bringing back, to select when they are

    def connect_to(self) -> None:
        w, runner = self._w, self._w.runner
        self._done = {job.id for job in runner.jobs() if job.state is JobState.DONE}
        runner.job_added.connect(self.jobs_changed)
        runner.files_added.connect(self.files_added)
        runner.job_changed.connect(self.jobs_changed)
        runner.job_removed.connect(self.jobs_changed)
        runner.job_progress.connect(self.progress_changed)
        runner.batch_finished.connect(self.batch_finished)
        runner.connection_changed.connect(self.connection_changed)
        runner.store_trouble.connect(w.commands.store_trouble)
        w.commands.restoring.connect(self._back.update)
        w.proxy.rowsInserted.connect(self.jobs_changed)
        w.proxy.rowsRemoved.connect(self.jobs_changed)
        w.model.dataChanged.connect(self.rows_changed)

    def files_added(self, ids: list[int]) -> None:
        w = self._w
        jobs = [job for job in (w.runner.job(job_id) for job_id in ids) if job is not None]
        w.intake.jobs_reported(jobs)
        if ids:
            w.select_job(ids[-1])

    def jobs_changed(self, *args: object) -> None:
        w = self._w
        w.refresh_soon(everything=True)
        changed = args[0] if args else None
        if not isinstance(changed, Job):
            return
        self._note_request_outcome(changed)
        if changed.id in self._back:  # back in the list (Undo): where the user left it
            self._back.clear()
            w.select_job(changed.id)
        became_done = changed.state is JobState.DONE and changed.id not in self._done
        if changed.state is JobState.DONE:
            self._done.add(changed.id)
        else:
            self._done.discard(changed.id)
        selected = w.selected_jobs()
        if len(selected) == 1 and selected[0].id == changed.id:
            w.sound.follow()  # what may change now (sent, done)
            if became_done:
                # The clip the user is looking at just got its sound: show the result. (A
                # remix of a done clip leaves the version on show to the remix's news.)
                w.preview_selected()

    def progress_changed(self, job_id: int, progress: Progress) -> None:
        self._w.refresh_soon(everything=False)  # the details line, for the selected clip
        self._note_request_outcome(self._w.model.job(job_id), progress)

    def _note_request_outcome(self, job: Job | None, progress: Progress | None = None) -> None:
        if self._w.status.note_request_outcome(job, progress):
            self._w.update_status()

    def rows_changed(self, top: Any, bottom: Any, *_roles: object) -> None:
        """A row's status changed (or its clock ticked): the details under the list follow
        the selected row ("next try in 42 s" counts down there too)."""
        w = self._w
        current = w.proxy.mapToSource(w.table.currentIndex())
        if current.isValid() and top.row() <= current.row() <= bottom.row():
            w.refresh_soon(everything=False)

    def batch_finished(self, summary: BatchSummary) -> None:
        w = self._w
        w.notifier.batch_finished(summary)
        # Kling charged what ran: ask for the credits again.
        emails = {j.email or w.settings.default_email for j in summary.done + summary.failed}
        w.session.batch_finished(emails)

    def connection_changed(self, online: bool, sentence: str) -> None:
        self._w.status.connection_changed(online, sentence)
        self._w.update_status()
