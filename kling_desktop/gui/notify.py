"""Telling the user things: an in-window message bar and the once-per-batch summary.

The summary goes to the system tray when the desktop has one (the user may be in another
window when a batch ends) and always to the message bar, so it is never lost.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, Qt, Signal
from PySide6.QtGui import QIcon, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyle,
    QSystemTrayIcon,
    QToolButton,
    QWidget,
)

from kling_desktop.gui.job_table import message_text
from kling_desktop.jobs.model import Job
from kling_desktop.runner.engine import BatchSummary


def tr(text: str) -> str:
    return QCoreApplication.translate("Notify", text)


class Level(enum.Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"
    SUCCESS = "success"


_ICONS = {
    Level.INFO: QStyle.StandardPixmap.SP_MessageBoxInformation,
    Level.WARNING: QStyle.StandardPixmap.SP_MessageBoxWarning,
    Level.ERROR: QStyle.StandardPixmap.SP_MessageBoxCritical,
    Level.SUCCESS: QStyle.StandardPixmap.SP_DialogApplyButton,
}


class MessageBar(QFrame):
    """A dismissible line of text with an icon and an optional action button."""

    action_triggered = Signal()
    closed = Signal()

    def __init__(self, parent: QWidget | None = None, *, closable: bool = True) -> None:
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAutoFillBackground(True)
        # AlternateBase is a gentle tint of the window colour in both light and dark palettes.
        self.setBackgroundRole(QPalette.ColorRole.AlternateBase)
        self._icon = QLabel()
        self._text = QLabel()
        self._text.setWordWrap(True)
        self._text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._action = QPushButton()
        self._action.hide()
        self._action.clicked.connect(self.action_triggered)
        self._callback: Callable[[], None] | None = None
        self._action.clicked.connect(self._run_callback)
        self._close = QToolButton()
        self._close.setAutoRaise(True)
        self._close.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_TitleBarCloseButton))
        self._close.setToolTip(self.tr("Dismiss"))
        self._close.setAccessibleName(self.tr("Dismiss message"))
        self._close.clicked.connect(self.dismiss)
        self._close.setVisible(closable)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self._icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self._text, 1)
        layout.addWidget(self._action)
        layout.addWidget(self._close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    @property
    def text(self) -> str:
        return self._text.text()

    @property
    def level(self) -> Level:
        return self._level

    def show_message(
        self,
        text: str,
        level: Level = Level.INFO,
        *,
        action: str = "",
        on_action: Callable[[], None] | None = None,
    ) -> None:
        self._level = level
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        icon = self.style().standardIcon(_ICONS[level])
        self._icon.setPixmap(icon.pixmap(size, size))
        self._text.setText(text)
        self.setAccessibleName(text)
        self._callback = on_action
        self._action.setText(action)
        self._action.setVisible(bool(action))
        self.show()

    def dismiss(self) -> None:
        self.hide()
        self.closed.emit()

    def _run_callback(self) -> None:
        if self._callback is not None:
            self._callback()

    _level = Level.INFO


def _names(jobs: list[Job], limit: int = 3) -> str:
    names = [job.name for job in jobs[:limit]]
    if len(jobs) > limit:
        names.append(tr("and %1 more").replace("%1", str(len(jobs) - limit)))
    return ", ".join(names)


def count_clips(n: int) -> str:
    return (tr("1 clip") if n == 1 else tr("%1 clips")).replace("%1", str(n))


def summary_text(summary: BatchSummary) -> tuple[str, str, Level]:
    """Title, body and level of a batch summary; failures come first."""
    failed, done = summary.failed, summary.done
    if failed:
        title = tr("%1 need your attention").replace("%1", count_clips(len(failed)))
        body = _names(failed)
        if failed[0].error_message:
            body += " — " + message_text(failed[0])
        if done:
            body += " " + tr("%1 finished with sound.").replace("%1", count_clips(len(done)))
        return title, body, Level.ERROR
    if done:
        title = tr("%1 finished with sound").replace("%1", count_clips(len(done)))
        return title, _names(done), Level.SUCCESS
    return tr("Nothing to do"), "", Level.INFO


class Notifier:
    """Shows each batch summary once: a tray message where available, and in the window."""

    def __init__(
        self,
        bar: MessageBar,
        *,
        icon: QIcon | None = None,
        enabled: Callable[[], bool] = lambda: True,
        use_tray: bool | None = None,
    ) -> None:
        self._bar = bar
        self._enabled = enabled
        if use_tray is None:
            use_tray = (
                QSystemTrayIcon.isSystemTrayAvailable() and QSystemTrayIcon.supportsMessages()
            )
        self._tray: QSystemTrayIcon | None = None
        if use_tray:
            tray_icon = (
                icon if icon is not None and not icon.isNull() else QApplication.windowIcon()
            )
            self._tray = QSystemTrayIcon(tray_icon, bar)
            self._tray.setToolTip(QApplication.applicationDisplayName())
            self._tray.show()
        self.last: tuple[str, str, Level] | None = None

    @property
    def uses_tray(self) -> bool:
        return self._tray is not None

    def batch_finished(self, summary: BatchSummary) -> None:
        if not (summary.done or summary.failed):
            return
        title, body, level = summary_text(summary)
        self.last = (title, body, level)
        self._bar.show_message(f"{title}: {body}" if body else title, level)
        if self._tray is not None and self._enabled():
            tray_level = (
                QSystemTrayIcon.MessageIcon.Warning
                if level is Level.ERROR
                else QSystemTrayIcon.MessageIcon.Information
            )
            self._tray.showMessage(title, body, tray_level, 10_000)

    def close(self) -> None:
        if self._tray is not None:
            self._tray.hide()
