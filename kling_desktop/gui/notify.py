"""Telling the user things: an in-window message bar and the once-per-batch summary.

The summary goes to the desktop's notification service (freedesktop Notifications over
D-Bus), else to the system tray when the desktop has one (the user may be in another window
when a batch ends), and always to the message bar, so it is never lost.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import TYPE_CHECKING

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
    QVBoxLayout,
    QWidget,
)

from kling_desktop.api.errors import ApiError
from kling_desktop.gui.job_texts import message_text
from kling_desktop.jobs.model import Job
from kling_desktop.runner.engine import BatchSummary

if TYPE_CHECKING:
    from kling_desktop.gui.desktop_notify import DesktopNotifications


def tr(text: str) -> str:
    return QCoreApplication.translate("Notify", text)


def details_of(exc: BaseException) -> str:
    """The technical side of a failure, for a message's "Details" (never the sentence itself)."""
    if isinstance(exc, ApiError):
        return exc.details
    return f"{type(exc).__name__}: {exc}"


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
        self._text.setAccessibleName(self.tr("Message"))
        # Technical detail (a request that failed, a status code) stays out of the sentence:
        # one click, or Tab and Space, shows it.
        self._details = QLabel()
        self._details.setWordWrap(True)
        self._details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._details.setAccessibleName(self.tr("Message details"))
        self._details.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self._details.hide()
        self._details_button = QToolButton()
        self._details_button.setText(self.tr("Details"))
        self._details_button.setCheckable(True)
        self._details_button.setAutoRaise(True)
        self._details_button.setArrowType(Qt.ArrowType.RightArrow)
        self._details_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self._details_button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._details_button.setAccessibleName(self.tr("Show the technical details"))
        self._details_button.toggled.connect(self._show_details)
        self._details_button.hide()
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
        words = QVBoxLayout()
        words.setContentsMargins(0, 0, 0, 0)
        words.setSpacing(2)
        words.addWidget(self._text)
        words.addWidget(self._details)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 4, 4)
        layout.addWidget(self._icon, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(words, 1)
        layout.addWidget(self._details_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self._action, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self._close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    @property
    def text(self) -> str:
        return self._text.text()

    @property
    def level(self) -> Level:
        return self._level

    @property
    def details(self) -> str:
        """The technical detail behind the message ("" when there is none)."""
        return self._details.text()

    @property
    def topic(self) -> str:
        """What the message is about, as its sender tagged it ("token"), so that it can go
        when that changes; "" for any other."""
        return self._topic if self.isVisible() else ""

    def focus_widgets(self) -> list[QWidget]:
        """Its buttons, in Tab order (hidden ones are skipped by Tab)."""
        return [self._details_button, self._action, self._close]

    @property
    def details_button(self) -> QToolButton:
        return self._details_button

    def show_message(
        self,
        text: str,
        level: Level = Level.INFO,
        *,
        action: str = "",
        on_action: Callable[[], None] | None = None,
        details: str = "",
        topic: str = "",
    ) -> None:
        """Show ``text``; ``details`` (technical) only behind the "Details" toggle."""
        self._level = level
        self._topic = topic
        size = self.style().pixelMetric(QStyle.PixelMetric.PM_SmallIconSize)
        icon = self.style().standardIcon(_ICONS[level])
        self._icon.setPixmap(icon.pixmap(size, size))
        self._text.setText(text)
        self.setAccessibleName(text)
        self._callback = on_action
        self._action.setText(action)
        self._action.setAccessibleName(action.replace("&", "").replace("…", ""))
        self._action.setVisible(bool(action))
        self._details.setText(details)
        self._details_button.setChecked(False)
        self._details_button.setVisible(bool(details))
        self._details.hide()
        self.show()

    def _show_details(self, shown: bool) -> None:
        self._details.setVisible(shown and bool(self._details.text()))
        self._details_button.setArrowType(
            Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow
        )

    def dismiss(self) -> None:
        self.hide()
        self.closed.emit()

    def _run_callback(self) -> None:
        if self._callback is not None:
            self._callback()

    _level = Level.INFO
    _topic = ""


def _names(jobs: list[Job], limit: int = 3) -> str:
    names = [job.name for job in jobs[:limit]]
    if len(jobs) > limit:
        names.append(QCoreApplication.translate("Notify", "and %n more", "", len(jobs) - limit))
    return ", ".join(names)


def count_clips(n: int) -> str:
    """A count that stands alone: "1 clip", "3 clips" (a sentence around a count is a
    numerus text of its own, so that its verb agrees)."""
    return QCoreApplication.translate("Notify", "%n clip(s)", "", n)


def summary_text(summary: BatchSummary) -> tuple[str, str, Level]:
    """Title, body and level of a batch summary; failures come first."""
    failed, done = summary.failed, summary.done
    if failed:
        title = QCoreApplication.translate(
            "Notify", "%n clip(s) need your attention", "", len(failed)
        )
        body = _names(failed)
        if failed[0].error_message:
            body += " — " + message_text(failed[0])
        if done:
            body += " " + QCoreApplication.translate(
                "Notify", "%n clip(s) finished with sound.", "", len(done)
            )
        return title, body, Level.ERROR
    if done:
        title = QCoreApplication.translate(
            "Notify", "%n clip(s) finished with sound", "", len(done)
        )
        return title, _names(done), Level.SUCCESS
    return tr("Nothing to do"), "", Level.INFO


class Notifier:
    """Shows each batch summary once: through the desktop's notification service (else a tray
    message) where available, and always in the window."""

    def __init__(
        self,
        bar: MessageBar,
        *,
        icon: QIcon | None = None,
        enabled: Callable[[], bool] = lambda: True,
        use_tray: bool | None = None,
        desktop: DesktopNotifications | None = None,
    ) -> None:
        self._bar = bar
        self._enabled = enabled
        self._desktop = desktop
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
    def tray(self) -> QSystemTrayIcon | None:
        """The tray icon, where the desktop has a tray (working in the background uses it)."""
        return self._tray

    def batch_finished(self, summary: BatchSummary) -> None:
        if not (summary.done or summary.failed):
            return
        title, body, level = summary_text(summary)
        self.last = (title, body, level)
        self._bar.show_message(f"{title}: {body}" if body else title, level)
        if not self._enabled():
            return
        # The desktop's own service first; the tray when it cannot show it (now or later).
        if self._desktop is not None and self._desktop.notify(
            title,
            body,
            urgent=level is Level.ERROR,
            on_failed=lambda _why: self._tray_message(title, body, level),
        ):
            return
        self._tray_message(title, body, level)

    def _tray_message(self, title: str, body: str, level: Level) -> None:
        if self._tray is None:
            return  # the message bar has it
        tray_level = (
            QSystemTrayIcon.MessageIcon.Warning
            if level is Level.ERROR
            else QSystemTrayIcon.MessageIcon.Information
        )
        self._tray.showMessage(title, body, tray_level, 10_000)

    def close(self) -> None:
        if self._desktop is not None:
            self._desktop.close()
        if self._tray is not None:
            self._tray.hide()
