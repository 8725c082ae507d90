"""Event-loop timing: one refresh per interval however many signals ask for one, and work
that waits for a widget's first paint."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget


class Coalescer(QObject):
    """Asked :meth:`soon` any number of times, says once, ``interval_ms`` after the first ask,
    whether everything is due or only the details (everything if any ask wanted it)."""

    everything_due = Signal()
    details_due = Signal()

    def __init__(self, interval_ms: int, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._due)
        self._everything = False

    def soon(self, *, everything: bool) -> None:
        self._everything = self._everything or everything
        if not self._timer.isActive():
            self._timer.start()

    def _due(self) -> None:
        everything, self._everything = self._everything, False
        if everything:
            self.everything_due.emit()
        else:
            self.details_due.emit()


class AfterFirstPaint(QObject):
    """Calls ``then`` in the event-loop turn after ``widget`` first painted, then goes away."""

    def __init__(self, widget: QWidget, then: Callable[[], None]) -> None:
        super().__init__(widget)
        self._then = then
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self._then)
            self.deleteLater()
        return False
