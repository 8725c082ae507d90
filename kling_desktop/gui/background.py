"""Working on after the window closes, and telling the desktop when a batch ends.

Closing the window while Kling still works on clips asks what to do (:func:`ask_close`):
quit (the jobs run on at Kling and resume next time), keep working in the background, or
cancel. :class:`Background` carries the answer out: in the background a tray icon shows the
progress and brings the window back; on a desktop without a tray the window is minimised
instead, and the question says so.

:class:`DesktopNotifications` sends the end-of-batch message through the desktop's own
notification service (freedesktop Notifications over D-Bus), off the GUI thread.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from PySide6.QtCore import (
    Q_ARG,
    QCoreApplication,
    QEvent,
    QMetaObject,
    QObject,
    Qt,
    QThread,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox, QSystemTrayIcon, QWidget

from kling_desktop import APP_ID, APP_NAME
from kling_desktop.jobs.model import Job, JobState

log = logging.getLogger(__name__)

#: Jobs that go on without the user: at Kling, or on their way there or back.
AT_KLING = frozenset(
    {
        JobState.QUEUED,
        JobState.UPLOADING,
        JobState.SUBMITTING,
        JobState.WAITING_SLOT,
        JobState.PROCESSING,
        JobState.DOWNLOADING,
    }
)


def tr(text: str, disambiguation: str | None = None, n: int = -1) -> str:
    return QCoreApplication.translate("Background", text, disambiguation, n)


# -- the question ------------------------------------------------------------------------------


class CloseChoice(enum.Enum):
    QUIT = "quit"  # the jobs keep running at Kling and resume next time
    BACKGROUND = "background"  # the app stays, without its window (tray or minimised)
    CANCEL = "cancel"


@dataclass(frozen=True)
class CloseQuestion:
    """What the close question says: how much is still at work, and what "background" does."""

    at_kling: int  # jobs in AT_KLING
    uploads: int  # of them, being uploaded (they start again next time)
    tray: bool  # the background keeps a tray icon; without one it minimises the window


def close_question(jobs: Iterable[Job], *, tray: bool) -> CloseQuestion | None:
    """The question to ask before closing, or None when nothing is at work."""
    working = [j for j in jobs if j.state in AT_KLING]
    if not working:
        return None
    uploads = sum(1 for j in working if j.state is JobState.UPLOADING)
    return CloseQuestion(at_kling=len(working), uploads=uploads, tray=tray)


def quit_label() -> str:
    return tr("Quit (jobs keep running at Kling and resume next time)")


def background_label(tray: bool) -> str:
    return (
        tr("Keep working in the background")
        if tray
        else tr("Keep working in the background (minimised)")
    )


def question_text(question: CloseQuestion) -> tuple[str, str]:
    """The question's headline and its explanation."""
    head = tr("Kling is still working on %n clip(s).", "", question.at_kling)
    lines = [
        tr(
            "Quit: Kling finishes them anyway, and Kling Desktop picks them up and saves the "
            "results the next time you open it."
        )
    ]
    if question.uploads:
        lines.append(
            tr(
                "%n upload(s) in progress would start again from the beginning next time "
                "(uploading costs nothing).",
                "",
                question.uploads,
            )
        )
    if question.tray:
        lines.append(
            tr(
                "Keep working in the background: the window closes and Kling Desktop stays in "
                "the system tray, saving each result as soon as it is ready. Click its icon to "
                "open the window again."
            )
        )
    else:
        lines.append(
            tr(
                "Keep working in the background: this desktop has no system tray, so the "
                "window is minimised and Kling Desktop saves each result as soon as it is "
                "ready."
            )
        )
    return head, "\n\n".join(lines)


def ask_close(parent: QWidget, question: CloseQuestion) -> CloseChoice:
    """Ask with three named buttons; Escape cancels, Enter keeps working."""
    head, text = question_text(question)
    box = QMessageBox(parent)
    box.setObjectName("closeQuestion")
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(tr("Close Kling Desktop?"))
    box.setText(head)
    box.setInformativeText(text)
    quit_button = box.addButton(quit_label(), QMessageBox.ButtonRole.DestructiveRole)
    keep_button = box.addButton(background_label(question.tray), QMessageBox.ButtonRole.AcceptRole)
    cancel_button = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(keep_button)
    box.setEscapeButton(cancel_button)
    box.exec()
    clicked = box.clickedButton()
    if clicked is quit_button:
        return CloseChoice.QUIT
    if clicked is keep_button:
        return CloseChoice.BACKGROUND
    return CloseChoice.CANCEL


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
    ) -> None:
        super().__init__(window)
        self._window = window
        self._runner = runner
        self._ask = ask
        self._tray_available = tray_available
        self._shared_tray = shared_tray
        self._icon = icon
        self._quit_app = quit_app
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
        question = close_question(self._runner.jobs(), tray=self._tray_available())
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
            quit_action = QAction(quit_label(), self._menu)
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


# -- desktop notifications ---------------------------------------------------------------------

SERVICE = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
INTERFACE = "org.freedesktop.Notifications"

#: The Notify method as the specification defines it, with Qt's name for the hints' type.
#: See _DBusWorker._prepare for why the app describes it itself.
_NOTIFY_XML = f"""<interface name="{INTERFACE}">
  <method name="Notify">
    <arg name="app_name" type="s" direction="in"/>
    <arg name="replaces_id" type="u" direction="in"/>
    <arg name="app_icon" type="s" direction="in"/>
    <arg name="summary" type="s" direction="in"/>
    <arg name="body" type="s" direction="in"/>
    <arg name="actions" type="as" direction="in"/>
    <arg name="hints" type="a{{sv}}" direction="in"/>
    <annotation name="org.qtproject.QtDBus.QtTypeName.In6" value="QVariantMap"/>
    <arg name="expire_timeout" type="i" direction="in"/>
    <arg name="id" type="u" direction="out"/>
  </method>
</interface>"""
_DESCRIPTION_PATH = "/io/github/kling_desktop/NotificationsInterface"


class _Description(QObject):
    """Answers Qt's introspection of our own description of the Notify method."""

    def __init__(self) -> None:
        super().__init__()
        from PySide6.QtDBus import QDBusVirtualObject

        class Described(QDBusVirtualObject):
            def introspect(self, path: str) -> str:
                return _NOTIFY_XML

            def handleMessage(self, message: Any, connection: Any) -> bool:
                return False

        self.object = Described(self)


class _DBusWorker(QObject):
    """Lives on the notification thread; every blocking D-Bus step happens there."""

    finished = Signal(int, str)  # request number, error ("" when the service took it)

    def __init__(self, bus: Any, timeout_ms: int) -> None:
        super().__init__()
        self._bus = bus
        self._timeout_ms = timeout_ms
        self._interface: Any = None
        self._description: _Description | None = None

    def _prepare(self) -> str:
        """Make the proxy for the notification service; "" or why it cannot be made.

        PySide turns every Python int into a D-Bus int32, so an ``asyncCall`` with Python
        values sends ``Notify(sisssava{sv}i)``, which every notification server refuses (the
        specification says ``susssasa{sv}i``). Only Qt's own typed call through a
        ``QDBusInterface`` marshals ``replaces_id`` as uint32; and that interface, built from
        the server's introspection, cannot pass the hints (``a{sv}`` without Qt's type
        annotation). So the app describes the method itself, on its own bus name, and builds
        the proxy from that description: QtDBus keeps one description per interface name, so
        the proxy to the real service uses it, without asking the service. If a later Qt
        stops doing so, the call cannot be made, and the caller falls back to the tray.
        """
        from PySide6.QtDBus import QDBusInterface

        if self._interface is not None:
            return ""
        if not self._bus.isConnected():
            return "no session bus"
        self._description = _Description()
        self._bus.registerVirtualObject(_DESCRIPTION_PATH, self._description.object)
        own = QDBusInterface(self._bus.baseService(), _DESCRIPTION_PATH, INTERFACE, self._bus)
        del own  # it only had to read the description
        interface = QDBusInterface(SERVICE, PATH, INTERFACE, self._bus)
        if not interface.isValid():
            return interface.lastError().message() or "the notification service is not valid"
        meta = interface.metaObject()
        if (
            meta.indexOfMethod(
                "Notify(QString,uint,QString,QString,QString,QStringList,QVariantMap,int)"
            )
            < 0
        ):
            return "Notify cannot be called with its documented types"
        interface.setTimeout(self._timeout_ms)
        interface.setParent(self)
        self._interface = interface
        return ""

    @Slot(int, str, str, str, bool)
    def send(self, request: int, app_icon: str, summary: str, body: str, urgent: bool) -> None:
        """Queue the call; it runs from this thread's event loop (see DesktopNotifications)."""
        problem = self._prepare()
        if problem:
            self.finished.emit(request, problem)
            return
        hints = {"urgency": 2 if urgent else 1, "desktop-entry": "io.github.kling_desktop"}
        queued = QMetaObject.invokeMethod(
            self._interface,
            "Notify",
            Qt.ConnectionType.QueuedConnection,
            Q_ARG(str, APP_NAME),
            Q_ARG("uint", 0),
            Q_ARG(str, app_icon),
            Q_ARG(str, summary),
            Q_ARG(str, body),
            Q_ARG("QStringList", []),
            Q_ARG("QVariantMap", hints),
            Q_ARG(int, -1),  # the server's usual time on screen
        )
        if not queued:
            self.finished.emit(request, "the Notify call could not be made")
            return
        QMetaObject.invokeMethod(
            self, "_check", Qt.ConnectionType.QueuedConnection, Q_ARG(int, request)
        )

    @Slot(int)
    def _check(self, request: int) -> None:
        error = self._interface.lastError() if self._interface is not None else None
        self.finished.emit(
            request, error.message() if error is not None and error.isValid() else ""
        )


class DesktopNotifications(QObject):
    """The desktop's notification service (freedesktop Notifications over D-Bus).

    :meth:`notify` returns at once: the D-Bus call is made on a thread of its own, from its
    event loop, so neither a slow service nor Python's lock can hold the window up. When the
    service cannot show the message, ``on_failed`` gets the reason on the GUI thread (show it
    some other way: the tray's ``showMessage``).

    Args:
        bus: the D-Bus connection (the session bus when None).
        app_icon: the icon name the server shows (from the icon theme, the app's own).
        timeout_ms: how long a call may take before it counts as failed.
    """

    delivered = Signal(str, str)  # summary, error ("" when the service took it)

    def __init__(
        self,
        bus: Any = None,
        *,
        app_icon: str = APP_ID,
        timeout_ms: int = 3000,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._bus_given = bus
        self._app_icon = app_icon
        self._timeout_ms = timeout_ms
        self._thread: QThread | None = None
        self._worker: _DBusWorker | None = None
        self._waiting: dict[int, tuple[str, Callable[[str], None] | None]] = {}
        self._next = 0

    @staticmethod
    def supported() -> bool:
        """Whether this platform's desktop notifications go over D-Bus (Linux, BSD)."""
        import sys

        return sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd"))

    def notify(
        self,
        summary: str,
        body: str,
        *,
        urgent: bool = False,
        on_failed: Callable[[str], None] | None = None,
    ) -> bool:
        """Show ``summary`` and ``body``; False at once when there is no session bus."""
        worker = self._start()
        if worker is None:
            return False
        self._next += 1
        self._waiting[self._next] = (summary, on_failed)
        QMetaObject.invokeMethod(
            worker,
            "send",
            Qt.ConnectionType.QueuedConnection,
            Q_ARG(int, self._next),
            Q_ARG(str, self._app_icon),
            Q_ARG(str, summary),
            Q_ARG(str, body),
            Q_ARG(bool, urgent),
        )
        return True

    def close(self, wait_ms: int = 4000) -> None:
        """Stop the notification thread (waits for a call in flight, up to ``wait_ms``)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.quit()
            thread.wait(wait_ms)
        self._worker = None

    def _start(self) -> _DBusWorker | None:
        if self._worker is not None:
            return self._worker
        try:
            from PySide6.QtDBus import QDBusConnection
        except ImportError:  # a build without QtDBus (not Linux)
            return None
        bus = self._bus_given if self._bus_given is not None else QDBusConnection.sessionBus()
        if not bus.isConnected():
            log.info("Desktop notifications: no session bus (%s)", bus.lastError().message())
            return None
        thread = QThread(self)
        thread.setObjectName("Desktop notifications")
        worker = _DBusWorker(bus, self._timeout_ms)
        worker.moveToThread(thread)
        thread.finished.connect(worker.deleteLater)
        worker.finished.connect(self._finished)
        thread.start()
        self._thread, self._worker = thread, worker
        app = QCoreApplication.instance()
        if app is not None:  # a running thread must not outlive the application
            app.aboutToQuit.connect(self.close)
        return worker

    @Slot(int, str)
    def _finished(self, request: int, error: str) -> None:
        summary, on_failed = self._waiting.pop(request, ("", None))
        if error:
            log.info("Desktop notification not shown (%s): %s", error, summary)
            if on_failed is not None:
                on_failed(error)
        self.delivered.emit(summary, error)
