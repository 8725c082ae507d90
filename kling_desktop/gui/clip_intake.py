"""Adding clips: from a drop, "Add clips…", the launcher or the demo's sample, to the runner.

Folders are expanded and clips added before are looked for off the GUI thread; a clip already
in the list, or one of this app's results, goes in again only after one question. Clips wait
in the :class:`Session` while the account they go to is not known yet.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QObject, QSettings
from PySide6.QtWidgets import QWidget

from kling_desktop.gui.drop_zone import DropDecision, DropHandling
from kling_desktop.gui.notify import Level, MessageBar, details_of
from kling_desktop.gui.session import Session
from kling_desktop.jobs.duplicates import Duplicate, Sorting, classify
from kling_desktop.jobs.model import Job, JobOptions
from kling_desktop.runner.worker import run_in_thread

if TYPE_CHECKING:
    from kling_desktop.gui.interactions import Interactions
    from kling_desktop.gui.launch import AppContext

log = logging.getLogger(__name__)

#: A clip handed to the runner counts as "being added" (for the duplicate check) this long at
#: most, should its job never be reported.
ADDING_FOR_S = 120.0


class ClipIntake(QObject):
    """Takes clips in for one window and hands the new ones to the runner.

    ``jobs`` gives the list as it stands, ``job_options`` what a clip added now gets, and
    ``added`` runs after clips went to the runner (the window then shows the list).
    """

    def __init__(
        self,
        window: QWidget,
        context: AppContext,
        session: Session,
        interactions: Interactions,
        messages: MessageBar,
        *,
        jobs: Callable[[], list[Job]],
        job_options: Callable[[], JobOptions],
        added: Callable[[], None],
    ) -> None:
        super().__init__(window)
        self._window = window
        self._context = context
        self._session = session
        self.interactions = interactions
        self._messages = messages
        self._jobs = jobs
        self._job_options = job_options
        self._added = added
        self._ui: QSettings = context.ui_state
        #: Clips handed to the runner whose jobs are not reported yet (absolute path → when).
        self._adding: dict[str, float] = {}
        session.files_released.connect(self._add_files)
        #: What the window's drag and drop events go to.
        self.drop = DropHandling(self.deliver_drop)

    def deliver_drop(self, decision: DropDecision) -> None:
        """Clips dropped on the window or the drop zone, or why they were refused."""
        if decision.refusal:
            self._messages.show_message(decision.refusal, Level.WARNING)
            return
        self.add_paths(decision.paths)

    def choose_files(self) -> None:
        """ "Add clips…": the file dialog, starting where the user last chose clips."""
        start = str(self._ui.value("dialogs/last_folder", str(Path.home()), type=str))
        paths = self.interactions.choose_files(self._window, Path(start))
        if paths:
            self._ui.setValue("dialogs/last_folder", str(paths[0].parent))
            self.add_paths(paths)

    def add_paths(self, paths: list[Path]) -> None:
        """Expand folders and look for clips added before (off the GUI thread), then hand the
        new clips to the runner. Clips already in the list, and this app's own results, are
        not queued again unless the user says so (one question)."""
        from kling_desktop.media.check import expand_inputs

        jobs = self._jobs()  # immutable snapshots: safe to read on the worker
        adding = self._adding_paths()

        def work() -> tuple[list[Path], list[str], Sorting]:
            files, notes = expand_inputs(paths)
            return files, notes, classify(files, jobs, pending=adding)

        def expanded(result: tuple[list[Path], list[str], Sorting]) -> None:
            files, notes, sorting = result
            if not shiboken6.isValid(self._messages):
                return
            if not files:
                self._messages.show_message(
                    " ".join(notes) if notes else self.tr("There were no clips to add."),
                    Level.WARNING,
                )
                return
            if sorting.duplicates and not sorting.new:
                # Nothing new at all: the user may mean it (a second take). Ask once.
                if notes:
                    self._messages.show_message(" ".join(notes), Level.WARNING)
                self._offer_again(sorting.duplicates)
                return
            if sorting.duplicates:
                self._say_not_added(sorting.duplicates, notes)
            elif notes:
                self._messages.show_message(" ".join(notes), Level.WARNING)
            self._queue_files(sorting.new)

        def failed(exc: BaseException) -> None:
            log.warning("Could not read the dropped clips: %r", exc)
            self._messages.show_message(
                self.tr("The clips could not be read."), Level.ERROR, details=details_of(exc)
            )

        run_in_thread(work, expanded, failed, owner=self)

    def _say_not_added(self, duplicates: list[Duplicate], notes: list[str]) -> None:
        """One plain sentence per clip held back (the first few), and "Add again…"."""
        shown = [d.sentence for d in duplicates[:3]]
        if len(duplicates) > 3:
            shown.append(self.tr("And %n more.", "", len(duplicates) - 3))
        head = (
            self.tr("Not added again:")
            if len(duplicates) == 1
            else self.tr("%n clip(s) not added again:", "", len(duplicates))
        )
        self._messages.show_message(
            " ".join([*notes, head, *shown]),
            Level.INFO,
            action=self.tr("Add again…"),
            on_action=lambda: self._offer_again(duplicates),
        )

    def _offer_again(self, duplicates: list[Duplicate]) -> None:
        """Ask "Add it again anyway?": the one question before a clip goes in a second time."""
        if self.interactions.confirm_duplicates(
            self._window, duplicates, auto_start=self._context.settings.auto_start
        ):
            if self._messages.isVisible() and self._messages.level is Level.INFO:
                self._messages.dismiss()
            self._queue_files([d.path for d in duplicates])

    def _queue_files(self, files: list[Path]) -> None:
        # The account the clips go to may not be known yet; they follow once it is.
        if files and not self._session.queue(files):
            self._add_files(files)

    def _adding_paths(self) -> list[Path]:
        """Clips handed to the runner (or waiting for the accounts) without a job yet."""
        now = time.monotonic()
        for key, since in list(self._adding.items()):
            if now - since > ADDING_FOR_S:
                del self._adding[key]
        return [Path(key) for key in self._adding] + list(self._session.pending_files)

    def _add_files(self, files: list[Path]) -> None:
        options = self._job_options()
        now = time.monotonic()
        for path in files:
            self._adding[str(path.expanduser().absolute())] = now  # as the runner stores it
        self._context.runner.add_files(files, options, start=self._context.settings.auto_start)
        log.info("Adding %d clip(s) to the list", len(files))
        self._added()

    def jobs_reported(self, jobs: list[Job]) -> None:
        """The runner reported the jobs of clips it was handed: no longer "being added"."""
        for job in jobs:
            self._adding.pop(str(job.input_path), None)

    def add_sample_clip(self) -> None:
        """The demo's "Add a sample clip": a short test clip, made off the GUI thread."""
        from kling_desktop.gui.demo import make_sample_clip

        folder = self._context.paths.data_dir / "samples"
        run_in_thread(
            lambda: make_sample_clip(folder),
            lambda path: self.add_paths([path]),
            lambda exc: self._messages.show_message(str(exc), Level.ERROR),
            owner=self,
        )
