"""What follows the selected rows: the actions, the details line, the sound panel and the
preview — which version of the clip plays (its result, one of its takes, the original).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from kling_desktop.jobs import parts
from kling_desktop.jobs.model import Job, JobState

if TYPE_CHECKING:
    from kling_desktop.gui.actions import WindowActions
    from kling_desktop.gui.main_window import MainWindow


def result_of(job: Job) -> Path | None:
    return job.output_path if job.state is JobState.DONE else None


def takes_of(job: Job) -> list[Path | None]:
    """A done clip's takes in take order (the result's own place is None); [] for one take."""
    if job.state is not JobState.DONE or job.options.takes <= 1:
        return []
    return [Path(p) if p else None for p in parts.outputs(job).get("takes", [])]


class SelectionFollower(QObject):
    """Keeps the window's parts in step with the selection (the window wires it)."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._w = window

    def connect_sound_actions(self, acts: WindowActions) -> None:
        """Sound → options panel, takes 1–4, the original, "Use this take"."""
        w = self._w
        acts.sound_options_action.triggered.connect(w.jobs_page.focus_sound_panel)
        for take, action in enumerate(acts.take_actions):
            action.triggered.connect(functools.partial(self.play_take, take))
        acts.original_action.triggered.connect(self.play_original)
        acts.use_take_action.triggered.connect(lambda: self.use_take())
        w.jobs_page.preview_built.connect(lambda: w.preview.switch.use_take.connect(self.use_take))

    def selected_one(self) -> Job | None:
        jobs = self._w.selected_jobs()
        return jobs[0] if len(jobs) == 1 else None

    def changed(self) -> None:
        """The selection changed: actions, details, sound options and the preview follow."""
        self.update_actions()
        self.update_details()
        self._w.sound.follow()
        jobs = self._w.selected_jobs()
        if len(jobs) == 1:
            self.preview_selected()
        elif not jobs:
            self._w.jobs_page.clear_preview()  # its row went, or was let go

    def update_actions(self) -> None:
        w = self._w
        every_job = w.model.jobs()
        w.acts.follow(w.selected_jobs(), every_job, w.runner.retry_kind,
                      can_undo=w.commands.can_undo)  # fmt: skip
        w.jobs_page.row_buttons.follow_actions()
        w.options.show_ready(sum(1 for j in every_job if j.state is JobState.READY))

    def update_details(self) -> None:
        jobs = self._w.selected_jobs()
        progress = self._w.runner.progress(jobs[0].id) if len(jobs) == 1 else None
        self._w.jobs_page.show_details(jobs, progress)

    # -- the preview -------------------------------------------------------------------

    def preview_selected(self) -> None:
        """Show the selected clip in the preview (its first frame; nothing plays)."""
        job = self.selected_one()
        if job is not None:
            self._w.preview.show_job(
                result_of(job), job.input_path, takes_of(job), job.options.take
            )

    def play_selected(self) -> None:
        """Enter, double-click, Play: the selected clip's result with its new sound, or the
        original while it has none."""
        job = self.selected_one()
        if job is not None:
            self._w.preview.play_job(
                result_of(job), job.input_path, takes_of(job), job.options.take
            )

    def toggle_play(self) -> None:
        """Space in the list: play or pause what the preview shows."""
        if self._w.selected_jobs():
            self._w.preview.toggle_play()

    def play_take(self, take: int) -> None:
        """Keys 1–4: the selected clip's take ``take`` (0-based), where the preview is."""
        job = self.selected_one()
        if job is None or job.state is not JobState.DONE:
            return
        preview = self._w.preview
        if preview.current() < 0:
            self.preview_selected()
        preview.switch_to_take(take)

    def play_original(self) -> None:
        """Key 0: the selected clip as it was dropped."""
        if self.selected_one() is None:
            return
        preview = self._w.preview
        if preview.current() < 0:
            self.preview_selected()
        preview.switch_to(preview.ORIGINAL)

    def use_take(self, take: int | None = None) -> None:
        """ "Use this take": the take on show (or ``take``) becomes the clip's result."""
        job = self.selected_one()
        if job is None or job.state is not JobState.DONE:
            return
        if take is None:
            take = self._w.preview.current_take()
        if take is None or take == job.options.take:
            self._w.statusBar().showMessage(
                self.tr("Choose another take first (keys 1–4): this one is the result."), 4000
            )
            return
        self._w.sound.use_take(job.id, take)

    def remixed(self, job_id: int) -> None:
        """A remix of a clip finished: if it is on show, play its new result from where the
        preview was."""
        job = self.selected_one()
        if job is None or job.id != job_id:
            return
        preview = self._w.preview
        position, playing = preview.player.position, preview.player.playing
        # The version on show stays on show (every take is remixed, the original unchanged).
        shown_take, on_original = preview.current_take(), preview.current() == preview.ORIGINAL
        preview.show_job(result_of(job), job.input_path, takes_of(job), job.options.take)
        if on_original:
            preview.switch_to(preview.ORIGINAL)
        elif shown_take is not None and shown_take != job.options.take:
            preview.switch_to_take(shown_take)
        preview.resume_at(position, playing=playing)
