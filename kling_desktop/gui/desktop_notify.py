"""Desktop notifications: the end-of-batch message through the desktop's own notification
service (freedesktop Notifications over D-Bus), sent off the GUI thread."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    Q_ARG,
    QCoreApplication,
    QMetaObject,
    QObject,
    Qt,
    QThread,
    Signal,
    Slot,
)

from kling_desktop import APP_ID, APP_NAME

log = logging.getLogger(__name__)

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
