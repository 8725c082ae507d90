"""The one way to run work off the GUI thread: :func:`run_in_thread`.

A plain function runs on a pool thread and never touches Qt objects; its result (or its
exception) comes back on the thread that asked, through a queued signal of that thread's
:class:`_Hub`. The hub lives as long as its thread, so a worker never emits on an object that
is gone; the *receiver* is tied to an ``owner`` QObject instead, and a result that arrives after
its owner was destroyed (a closed dialog, a removed widget) is dropped, not delivered. When
``on_result`` is a method of a QObject, that object is the owner without saying so.

The pool keeps the runnable alive while it runs (``QThreadPool.start`` with a callable), so no
Python object has to be held on to until a pool thread is done with it.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)


@dataclass
class _Receiver:
    on_result: Callable[[Any], None] | None
    on_error: Callable[[BaseException], None] | None
    owner: QObject | None


class _Hub(QObject):
    """Per asking thread: turns a worker's outcome into a call on this thread."""

    outcome = Signal(int, bool, object)  # call id, succeeded, result or exception

    def __init__(self) -> None:
        super().__init__()
        self._waiting: dict[int, _Receiver] = {}
        self._ids = itertools.count(1)
        self.outcome.connect(self._deliver)

    def submit(self, fn: Callable[[], Any], receiver: _Receiver, pool: QThreadPool) -> int:
        call_id = next(self._ids)
        if call_id % 64 == 0:
            self._forget_orphans()
        self._waiting[call_id] = receiver
        outcome = self.outcome

        def work() -> None:
            try:
                result = fn()
            except BaseException as exc:  # delivered to on_error, never swallowed
                outcome.emit(call_id, False, exc)
            else:
                outcome.emit(call_id, True, result)

        pool.start(work)
        return call_id

    def waiting(self, call_id: int) -> bool:
        return call_id in self._waiting

    def _forget_orphans(self) -> None:
        """Work whose owner is gone and that will never report (a pool cleared at shutdown)
        is not kept waiting forever."""
        for call_id, receiver in list(self._waiting.items()):
            if receiver.owner is not None and not shiboken6.isValid(receiver.owner):
                del self._waiting[call_id]

    @Slot(int, bool, object)
    def _deliver(self, call_id: int, ok: bool, value: object) -> None:
        receiver = self._waiting.pop(call_id, None)
        if receiver is None:
            return
        if receiver.owner is not None and not shiboken6.isValid(receiver.owner):
            return  # its owner is gone: nobody is left to tell
        if ok:
            if receiver.on_result is not None:
                receiver.on_result(value)
        elif receiver.on_error is not None:
            receiver.on_error(value)  # type: ignore[arg-type]
        else:
            log.error("background call failed: %s", value, exc_info=value)  # type: ignore[arg-type]


_hubs = threading.local()


def _hub() -> _Hub:
    hub: _Hub | None = getattr(_hubs, "hub", None)
    if hub is None:
        hub = _hubs.hub = _Hub()
    return hub


def run_in_thread(
    fn: Callable[[], Any],
    on_result: Callable[[Any], None] | None = None,
    on_error: Callable[[BaseException], None] | None = None,
    *,
    owner: QObject | None = None,
    pool: QThreadPool | None = None,
) -> int:
    """Run ``fn()`` on ``pool`` (default: the global pool); deliver the outcome on this thread
    to ``on_result``/``on_error`` — unless ``owner`` (by default the QObject whose method
    ``on_result`` is) was destroyed meanwhile. Returns the call's id."""
    if owner is None:
        bound_to = getattr(on_result, "__self__", None)
        owner = bound_to if isinstance(bound_to, QObject) else None
    receiver = _Receiver(on_result, on_error, owner)
    return _hub().submit(fn, receiver, pool or QThreadPool.globalInstance())


def is_waiting(call_id: int) -> bool:
    """Whether a call asked from this thread still waits for its outcome to be delivered."""
    return _hub().waiting(call_id)
