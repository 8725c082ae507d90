"""Run a plain function on a pooled QThread and deliver its result on the owner's thread.

The one helper for "off the GUI thread, back on the GUI thread": the function never touches
Qt objects; ``on_result``/``on_error`` run on the thread that owns the :class:`Call` (the
thread that called :func:`run_in_thread`), via a queued signal.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)


class _Relay(QObject):
    succeeded = Signal(object)
    failed = Signal(object)


class _Receiver(QObject):
    """Lives on the owner's thread, so the queued signals land there."""

    def __init__(
        self,
        on_result: Callable[[Any], None] | None,
        on_error: Callable[[BaseException], None] | None,
        done: Callable[[], None],
    ) -> None:
        super().__init__()
        self._on_result, self._on_error, self._done = on_result, on_error, done

    @Slot(object)
    def succeeded(self, result: object) -> None:
        try:
            if self._on_result is not None:
                self._on_result(result)
        finally:
            self._done()

    @Slot(object)
    def failed(self, exc: object) -> None:
        try:
            if self._on_error is not None:
                self._on_error(exc)  # type: ignore[arg-type]
            else:
                log.error("background call failed: %s", exc, exc_info=exc)  # type: ignore[arg-type]
        finally:
            self._done()


class Call(QRunnable):
    """One function call on a pool thread; see :func:`run_in_thread`."""

    def __init__(self, fn: Callable[[], Any]) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the owner keeps it until a result arrives
        self._fn = fn
        self.relay = _Relay()
        self.receiver: _Receiver | None = None

    def run(self) -> None:
        try:
            result = self._fn()
        except BaseException as exc:  # delivered to on_error, never swallowed
            self.relay.failed.emit(exc)
        else:
            self.relay.succeeded.emit(result)


_live: set[Call] = set()


def run_in_thread(
    fn: Callable[[], Any],
    on_result: Callable[[Any], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
    *,
    pool: QThreadPool | None = None,
) -> Call:
    """Run ``fn()`` on ``pool`` (default: the global pool); deliver the outcome on this thread."""
    call = Call(fn)
    call.receiver = _Receiver(on_result, on_error, lambda: _live.discard(call))
    call.relay.succeeded.connect(call.receiver.succeeded)
    call.relay.failed.connect(call.receiver.failed)
    _live.add(call)
    (pool or QThreadPool.globalInstance()).start(call)
    return call
