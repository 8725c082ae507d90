"""A cancel token shared by every long step (upload, download, poll waits)."""

from __future__ import annotations

import threading


class Cancelled(Exception):
    """Raised inside a step when its cancel token was set."""

    def __str__(self) -> str:
        return "Stopped by the user."


class CancelToken:
    """Thread-safe flag checked between steps and between upload/download chunks."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds`` (worker threads only); True when cancelled meanwhile."""
        return self._event.wait(seconds)
