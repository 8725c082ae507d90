"""Working on after the window closes.

Closing the window while Kling still works on clips asks what to do
(:func:`~kling_desktop.gui.close_question.ask_close`): quit, keep working in the background, or
cancel. :class:`Background` carries the answer out: in the background a tray icon shows the
progress and brings the window back; on a desktop without a tray the window is minimised
instead, and the question says so. Desktop notifications are in :mod:`desktop_notify`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from PySide6.QtCore import (
    QCoreApplication,
    QEvent,
    QObject,
    QTimer,
    Slot,
)
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QApplication, QMenu, QSystemTrayIcon, QWidget

from kling_desktop import APP_NAME
from kling_desktop.gui.close_question import (
    AT_KLING,
    CloseChoice,
    CloseQuestion,
    ask_close,
    close_question,
    quit_label,
    tr,
)
from kling_desktop.jobs.model import Job, JobState

log = logging.getLogger(__name__)


# -- the background ----------------------------------------------------------------------------


class JobSource(Protocol):
    """What :class:`Background` needs of the runner."""

    job_changed: Any  # Signal(Job)
    job_progress: Any  # Signal(int, Progress)

    def jobs(self) -> list[Job]: ...


def progress_text(jobs: Iterable[Job]) -> str:
    """The tray's tooltip: what is at Kling, done, or needs the user."""
    listed = list(jobs)
    working = sum(1 for j in listed if j.state in AT_KLING)
    done = sum(1 for j in listed if j.state is JobState.DONE)
    stuck = sum(1 for j in listed if j.state in (JobState.FAILED, JobState.UNCERTAIN))
    parts = [tr("%n clip(s) at Kling", "", working) if working else tr("Nothing at Kling now")]
    if done:
        parts.append(tr("%n done", "", done))
    if stuck:
        parts.append(tr("%n failed or waiting for you", "", stuck))
    return f"{APP_NAME} — " + " · ".join(parts)


class Background(QObject):
    """Closing with jobs at Kling: asks, then quits, stays in the tray, or minimises.

    The window calls :meth:`may_close` first thing in its ``closeEvent``.

    Args:
        window: the main window.
        runner: where the jobs are (``jobs()``, ``job_changed``, ``job_progress``).
        ask: the close question (:func:`ask_close`, or a test's answer).
        tray_available: whether the desktop has a system tray.
        shared_tray: a tray icon the app shows anyway (the notifier's), used instead of a
            second one.
        icon: the tray icon's picture.
        quit_app: ends the application after the tray's Quit (a hidden window's close need
            not end it by itself).
    """

    #: The tooltip follows the jobs at most this often.
    TOOLTIP_EVERY_MS = 1000

    def __init__(
        self,
        window: QWidget,
        runner: JobSource,
        *,
        ask: Callable[[QWidget, CloseQuestion], CloseChoice] = ask_close,
        tray_available: Callable[[], bool] = QSystemTrayIcon.isSystemTrayAvailable,
        shared_tray: Callable[[], QSystemTrayIcon | None] = lambda: None,
        icon: QIcon | None = None,
        quit_app: Callable[[], None] = QCoreApplication.quit,
        demo: bool = False,
    ) -> None:
        super().__init__(window)
        self._window = window
        self._runner = runner
        self._ask = ask
        self._tray_available = tray_available
        self._shared_tray = shared_tray
        self._icon = icon
        self._quit_app = quit_app
        self._demo = demo
        self._tray: QSystemTrayIcon | None = None
        self._own_tray = False
        self._menu: QMenu | None = None
        self._in_background = False
        self._quitting = False
        self._tooltip_timer = QTimer(self)
        self._tooltip_timer.setSingleShot(True)
        self._tooltip_timer.setInterval(self.TOOLTIP_EVERY_MS)
        self._tooltip_timer.timeout.connect(self._update_tooltip)
        runner.job_changed.connect(self._jobs_moved)
        runner.job_progress.connect(self._jobs_moved)
        window.installEventFilter(self)

    # -- state -----------------------------------------------------------------------------

    @property
    def in_background(self) -> bool:
        """Whether the app works on without its window."""
        return self._in_background

    @property
    def tray(self) -> QSystemTrayIcon | None:
        """The tray icon while in the background (None on a desktop without a tray)."""
        return self._tray if self._in_background else None

    # -- closing ---------------------------------------------------------------------------

    def may_close(self) -> bool:
        """Whether the window may close now (asks first if Kling still works on clips).

        False means the window stays: the user cancelled, or it went to the background.
        """
        if self._quitting:
            return True
        question = close_question(self._runner.jobs(), tray=self._tray_available(), demo=self._demo)
        if question is None:
            return True
        choice = self._ask(self._window, question)
        log.info("Closing with %d job(s) at Kling: %s", question.at_kling, choice.value)
        if choice is CloseChoice.QUIT:
            return True
        if choice is CloseChoice.BACKGROUND:
            # After this close event is refused: hiding the window inside it is undone.
            QTimer.singleShot(0, self.go_to_background)
        return False

    def go_to_background(self) -> None:
        """Leave the window: to the tray where there is one, else minimised."""
        self._in_background = True
        if not self._tray_available():
            self._window.showMinimized()
            return
        tray = self._shared_tray()
        self._own_tray = tray is None
        if tray is None:
            tray = QSystemTrayIcon(self._tray_icon(), self)
        self._tray = tray
        tray.activated.connect(self._tray_activated)
        tray.setContextMenu(self._tray_menu())
        self._update_tooltip()
        tray.show()
        self._window.hide()

    def restore(self) -> None:
        """Bring the window back (the tray icon, or a second start)."""
        self._leave_background()
        if self._window.isMinimized():
            self._window.showNormal()
        self._window.show()
        self._window.raise_()
        self._window.activateWindow()

    def quit(self) -> None:
        """Close for good (the tray's Quit): the jobs keep running at Kling."""
        self._quitting = True
        self._leave_background()
        if self._window.close():
            self._quit_app()
        else:
            self._quitting = False

    # -- internals -------------------------------------------------------------------------

    def _leave_background(self) -> None:
        if not self._in_background:
            return
        self._in_background = False
        tray = self._tray
        self._tray = None
        if tray is None:
            return
        tray.activated.disconnect(self._tray_activated)
        if self._own_tray:
            tray.hide()
            tray.deleteLater()
        else:
            tray.setContextMenu(None)  # type: ignore[arg-type]  # the shared icon's own again
            tray.setToolTip(APP_NAME)

    def _tray_icon(self) -> QIcon:
        if self._icon is not None and not self._icon.isNull():
            return self._icon
        if not QApplication.windowIcon().isNull():
            return QApplication.windowIcon()
        from kling_desktop.resources import app_icon

        return app_icon()

    def _tray_menu(self) -> QMenu:
        if self._menu is None:
            self._menu = QMenu()
            self._menu.setObjectName("trayMenu")
            show = QAction(tr("&Open Kling Desktop"), self._menu)
            show.triggered.connect(self.restore)
            quit_action = QAction(quit_label(self._demo), self._menu)
            quit_action.triggered.connect(self.quit)
            self._menu.addAction(show)
            self._menu.addSeparator()
            self._menu.addAction(quit_action)
            self.destroyed.connect(self._menu.deleteLater)
        return self._menu

    @Slot(object)
    def _tray_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.restore()

    def _jobs_moved(self, *_args: object) -> None:
        if self._in_background and not self._tooltip_timer.isActive():
            self._tooltip_timer.start()

    def _update_tooltip(self) -> None:
        if self._tray is not None:
            self._tray.setToolTip(progress_text(self._runner.jobs()))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # The window came back some other way (a second start hands it files): no tray.
        if watched is self._window and event.type() == QEvent.Type.Show and self._tray:
            QTimer.singleShot(0, self._leave_background)
        return False
