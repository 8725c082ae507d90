"""One timer for every job's next action (next poll, next slot try, next look-up…).

Thousands of jobs cost one QTimer and a heap, not a QTimer each: the timer is armed for the
earliest entry, and a job's newer entry replaces its older one.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Slot


class Timers(QObject):
    def __init__(
        self,
        ready: Callable[[int], bool],
        parent: QObject | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(parent)
        self._ready = ready  # whether a due action may run now (the job exists and is idle)
        self._clock = clock
        self._due: dict[int, tuple[float, Callable[[int], None]]] = {}
        self._heap: list[tuple[float, int]] = []
        self._tick = QTimer(self)
        self._tick.setSingleShot(True)
        self._tick.timeout.connect(self._on_tick)
        self._stopped = False

    def schedule(self, key: int, delay_s: float, action: Callable[[int], None]) -> None:
        """Run ``action(key)`` after ``delay_s``, replacing what was scheduled for ``key``."""
        if self._stopped:
            return
        when = self._clock() + max(0.0, delay_s)
        self._due[key] = (when, action)
        heapq.heappush(self._heap, (when, key))
        self._arm()

    def cancel(self, key: int) -> None:
        self._due.pop(key, None)  # its heap entry is skipped when it comes up

    def pending(self, key: int) -> bool:
        return key in self._due

    def stop(self) -> None:
        self._stopped = True
        self._tick.stop()
        self._due.clear()
        self._heap.clear()

    def _arm(self) -> None:
        while self._heap and self._due.get(self._heap[0][1], (None,))[0] != self._heap[0][0]:
            heapq.heappop(self._heap)  # cancelled or rescheduled since
        if not self._heap:
            self._tick.stop()
            return
        wait_ms = max(0, int((self._heap[0][0] - self._clock()) * 1000))
        if not self._tick.isActive() or self._tick.remainingTime() > wait_ms:
            self._tick.start(wait_ms)

    @Slot()
    def _on_tick(self) -> None:
        now = self._clock()
        while self._heap and self._heap[0][0] <= now:
            when, key = heapq.heappop(self._heap)
            entry = self._due.get(key)
            if entry is None or entry[0] != when:
                continue
            del self._due[key]
            if self._ready(key):
                entry[1](key)
        self._arm()
