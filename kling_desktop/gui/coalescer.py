"""One refresh per interval, however many signals ask for one."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal


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
