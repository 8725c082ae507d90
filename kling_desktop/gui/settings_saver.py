"""The one way the GUI writes the user's settings: a snapshot taken on the GUI thread, written
off it (``run_in_thread``), so a change made meanwhile never tears the file."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject

from kling_desktop.runner.worker import run_in_thread
from kling_desktop.settings import Settings

log = logging.getLogger(__name__)


class SettingsSaver(QObject):
    """Writes ``settings`` to ``target`` (None: never, as in the demo, which keeps its own)."""

    def __init__(
        self, settings: Settings, target: Path | None, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.settings = settings
        self.target = target

    def save(
        self,
        on_saved: Callable[[None], None] | None = None,
        on_failed: Callable[[BaseException], None] | None = None,
        **changes: object,
    ) -> None:
        """Write the settings with ``changes`` applied (the live object is left alone: the
        caller applies them once written, if it wants them only then)."""
        target = self.target
        if target is None:
            return
        snapshot = dataclasses.replace(self.settings, **changes)  # type: ignore[arg-type]

        def failed(exc: BaseException) -> None:
            log.warning("Could not save the settings to %s: %s", target, exc)
            if on_failed is not None:
                on_failed(exc)

        run_in_thread(lambda: snapshot.save(target), on_saved, failed, owner=self)
