"""The runner's threads: one pool per kind of work, and the one way its work is handed to
them (``run_in_thread``, the result delivered back on the runner's thread).

| pool | runs |
|---|---|
| check (2) | clip checks: quick and local, so 100 dropped files never hold up an upload |
| transfer (concurrency setting) | preparing + upload + submit, downloads |
| net (4) | submits after a wait, polls, reconciles, stop tracking: short requests |
| finish (1) | putting clips of parts together (decoding, mixing, muxing) |
| db (1) | the owner thread's own writes, in order; retried while another process holds
|   | the database, so what the user did is kept, never dropped |
"""

from __future__ import annotations

import itertools
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThreadPool

from kling_desktop.jobs import policy
from kling_desktop.runner.worker import run_in_thread

log = logging.getLogger(__name__)

#: How long a write waits, at most, for another process to let go of the database.
STORE_BUSY_LIMIT_S = 600.0


class Calls:
    def __init__(self, owner: QObject, concurrency: int, on_busy: Callable[[str], None]) -> None:
        self._owner = owner
        self._on_busy = on_busy
        self.check = _pool(2)
        self.transfer = _pool(concurrency)
        self.net = _pool(4)
        self.finish = _pool(1)
        self.db = _pool(1)
        self._out = 0  # work handed to a pool whose outcome has not been handled yet
        self._stop = threading.Event()  # set at shutdown: stop waiting for a lock

    def call(
        self,
        pool: QThreadPool,
        fn: Callable[[], Any],
        done: Callable[[Any], None] | None,
        failed: Callable[[BaseException], None],
    ) -> None:
        """Run ``fn`` on ``pool``; ``done(result)`` or ``failed(exc)`` runs on the owner's
        thread (never when the owner is gone). On the db pool, a write another process holds
        off is tried again, in order, until it goes through."""
        if self._stop.is_set():
            return
        if pool is self.db:
            fn = self._until_written(fn)
        self._out += 1

        def delivered(result: Any) -> None:
            try:
                if done is not None:
                    done(result)
            finally:
                self._out -= 1  # after: work the outcome started is counted first

        def refused(exc: BaseException) -> None:
            try:
                failed(exc)
            finally:
                self._out -= 1

        run_in_thread(fn, delivered, refused, owner=self._owner, pool=pool)

    def settled(self) -> bool:
        """No work handed out is still running or waiting to report."""
        return self._out == 0

    def shutdown(self, wait_ms: int) -> None:
        self._stop.set()
        for pool in (self.check, self.transfer, self.net, self.finish, self.db):
            pool.clear()
            pool.waitForDone(wait_ms)

    def _until_written(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        backoff = policy.STORE_BUSY_BACKOFF

        def write() -> Any:
            started = time.monotonic()
            for attempt in itertools.count(1):
                try:
                    return fn()
                except sqlite3.OperationalError as exc:
                    busy = "locked" in str(exc) or "busy" in str(exc)
                    late = time.monotonic() - started > STORE_BUSY_LIMIT_S
                    if not busy or self._stop.is_set() or late:
                        raise
                    log.warning("the job list is busy (%s); writing again", exc)
                    self._on_busy(
                        f"The job list is in use by another program ({exc}); your change is "
                        "kept and saved as soon as it is free."
                    )
                    self._stop.wait(backoff.delay(attempt))
            raise AssertionError("unreachable")

        return write


def _pool(threads: int) -> QThreadPool:
    pool = QThreadPool()
    pool.setMaxThreadCount(max(1, threads))
    pool.setExpiryTimeout(30_000)
    return pool
