"""What a change in the sound panel does: a clip not yet put together keeps the new options
(the runner writes them, and refuses what may no longer change); a done clip is remixed on
this computer — free, nothing goes to Kling — a moment after the last change, so dragging a
slider remixes once. "Use this take" is a remix too.

Also the options a clip added now gets: the Settings' defaults (:func:`new_clip_options`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from kling_desktop.gui.sound_panel import SoundPanel, editable
from kling_desktop.jobs.model import Job, JobOptions, JobState
from kling_desktop.runner.engine import Progress
from kling_desktop.settings import Settings

if TYPE_CHECKING:
    from kling_desktop.runner.engine import JobRunner

log = logging.getLogger(__name__)

#: A done clip is remixed this long after the last change (a slider sends many).
REMIX_DELAY_MS = 400
REMIX_FAILED = "Remix failed"


def new_clip_options(
    settings: Settings, *, email: str, keep_original_sound: bool, output_dir: str
) -> JobOptions:
    """The options a clip added now gets: the account and sound choice of the options row,
    the rest from the Settings' defaults (a loudness of 0 there means off)."""
    return JobOptions(
        email=email,
        keep_original_sound=keep_original_sound,
        output_dir=output_dir,
        max_length_s=settings.max_length_s,
        takes=settings.takes,
        sound_volume=settings.sound_volume,
        original_volume=settings.original_volume,
        duck=settings.duck,
        duck_sound=settings.duck_sound and not settings.duck,
        keep_takes=settings.keep_takes,
        loudness_lufs=settings.loudness_lufs or None,
        export_audio=settings.export_audio,
    )


class SoundCommands(QObject):
    """Applies the panel's changes to the selected jobs, and remixes done ones."""

    #: A remix of this job finished: its new result is ready to play.
    remixed = Signal(int)

    def __init__(
        self,
        runner: JobRunner,
        panel: SoundPanel,
        *,
        selected: Callable[[], list[Job]],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._panel = panel
        self._selected = selected
        #: Done jobs' changes waiting for the remix timer, by job id.
        self._pending: dict[int, dict[str, Any]] = {}
        #: Remixes under way: the job's version when it was asked for.
        self._remixing: dict[int, int] = {}
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(REMIX_DELAY_MS)
        self._timer.timeout.connect(self._remix_due)
        panel.edited.connect(self.apply)
        runner.job_changed.connect(self._job_changed)
        runner.job_progress.connect(self._job_progress)
        runner.job_removed.connect(self._forget)

    @property
    def busy(self) -> bool:
        """A remix is waiting or under way."""
        return bool(self._pending or self._remixing)

    def follow(self) -> None:
        """The selection changed (or one of its jobs did): show its options."""
        jobs = self._selected()
        self._panel.show_jobs(jobs)
        if not any(j.id in self._remixing or j.id in self._pending for j in jobs):
            self._panel.show_status("")

    def apply(self, fields: dict[str, Any]) -> None:
        """One option changed in the panel: write it, or remix the done clips with it."""
        waiting: list[int] = []
        done: list[int] = []
        for job in self._selected():
            if not set(fields) <= editable(job):
                continue
            (done if job.state is JobState.DONE else waiting).append(job.id)
        if waiting:
            try:
                self._runner.set_options(waiting, **fields)
            except Exception as exc:  # a refusal from the runner: say it, keep the window
                log.warning("set_options failed: %s", exc)
                self._panel.show_status(str(exc))
        for job_id in done:
            self._pending.setdefault(job_id, {}).update(fields)
        if done:
            self._panel.show_status(self.tr("Remixing… (free)"))
            self._timer.start()

    def use_take(self, job_id: int, take: int) -> None:
        """Make take ``take`` (0-based) the result of a done clip: a remix, free."""
        self._pending.setdefault(job_id, {})["take"] = take
        self._panel.show_status(
            self.tr("Making take %1 the result… (free)").replace("%1", str(take + 1))
        )
        self._remix_due()

    def _remix_due(self) -> None:
        for job_id, fields in list(self._pending.items()):
            if job_id in self._remixing:
                continue  # one at a time per clip: the next starts when this one ends
            job = self._runner.job(job_id)
            if job is None or job.state is not JobState.DONE:
                del self._pending[job_id]
                continue
            if self._runner.remix(job_id, **fields):
                del self._pending[job_id]
                self._remixing[job_id] = job.version
        if self._pending and not self._timer.isActive():
            self._timer.start()  # busy ones: try again in a moment

    def _job_changed(self, job: Job) -> None:
        version = self._remixing.get(job.id)
        if version is None or job.version <= version:
            return
        del self._remixing[job.id]
        if not self._pending.get(job.id):
            self._pending.pop(job.id, None)
            self._say_done(job)
        self.remixed.emit(job.id)
        if self._pending:
            self._remix_due()

    def _say_done(self, job: Job) -> None:
        if self._shown(job.id):
            self._panel.show_status(self.tr("Remixed on this computer (free)."))

    def _shown(self, job_id: int) -> bool:
        return any(j.id == job_id for j in self._selected())

    def _job_progress(self, job_id: int, progress: Progress) -> None:
        if job_id not in self._remixing:
            return
        text = progress.text or ""
        failed = text.startswith(REMIX_FAILED)
        if failed:
            del self._remixing[job_id]
        if not self._shown(job_id):
            return
        if failed:
            self._panel.show_status(text)
            return
        percent = f" {round(progress.fraction * 100)} %" if progress.fraction is not None else ""
        self._panel.show_status(self.tr("Remixing… (free)") + percent)

    def _forget(self, job_id: int) -> None:
        self._pending.pop(job_id, None)
        self._remixing.pop(job_id, None)
