"""The child process of :mod:`tests.benchmarks.bench_startup`: one cold start, then exit.

``python -m tests.benchmarks.startup_child KIND`` with KIND ``app``, ``demo``, ``bare`` or
``app-exports-later`` (the app with its sound panel's export list made without PyAV: what
deferring that import would save). It
imports nothing but the standard library's lightest modules before it starts what it measures
(the harness of the other benchmarks loads pytest, requests and PyAV: that would be paid before
the clock's first mark and hide what the app itself imports). It prints one JSON line of
``time.monotonic()`` marks (CLOCK_MONOTONIC, shared with the parent) and leaves with
``os._exit`` once the main window's first frame is done:

* ``entered``: this module runs (the interpreter is up);
* ``imported``: the app's modules are loaded (``make_application`` is called) / PySide6 is;
* ``paint_event``: the first Paint event of the QMainWindow;
* ``painted``: the end of that event-loop turn (``QTimer.singleShot(0)``), the figure.

It also reports which heavy modules were loaded by then (``loaded``): PyAV, numpy, requests,
keyring, QtMultimedia and the media/simulator packages must all wait until after the first
paint.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

MARKS: dict[str, Any] = {"entered": time.monotonic()}

#: Modules that have no business loading before the first paint.
HEAVY = (
    "av",
    "numpy",
    "requests",
    "urllib3",
    "keyring",
    "PySide6.QtMultimedia",
    "PySide6.QtMultimediaWidgets",
    "PySide6.QtNetwork",
    "kling_desktop.api.client",
    "kling_desktop.media",
    "kling_desktop.simulator",
    "kling_desktop.gui.demo",
    "kling_desktop.gui.player",
)


def _watch_first_paint(app: Any) -> None:
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QMainWindow

    class FirstPaint(QObject):
        def eventFilter(self, obj: QObject, event: QEvent) -> bool:
            first = "paint_event" not in MARKS
            if first and event.type() == QEvent.Type.Paint and isinstance(obj, QMainWindow):
                MARKS["paint_event"] = time.monotonic()
                QTimer.singleShot(0, done)
            return False

    def done() -> None:
        MARKS["painted"] = time.monotonic()
        MARKS["loaded"] = sorted(
            name for name in sys.modules if name in HEAVY or name.startswith(HEAVY_PREFIXES)
        )
        MARKS["modules"] = len(sys.modules)
        print(json.dumps(MARKS), flush=True)
        os._exit(0)  # the figure is the start; skip teardown

    watcher = FirstPaint(app)
    app.installEventFilter(watcher)
    app._bench_watcher = watcher  # keep it alive


HEAVY_PREFIXES = tuple(name + "." for name in HEAVY)


def main(kind: str) -> int:
    if kind == "bare":
        from PySide6.QtWidgets import QApplication, QMainWindow

        MARKS["imported"] = time.monotonic()
        app = QApplication(sys.argv[:1])
        _watch_first_paint(app)
        window = QMainWindow()
        window.resize(1000, 700)
        window.show()
        MARKS["shown"] = time.monotonic()
        return app.exec()
    from kling_desktop.gui import launch

    original = launch.make_application

    def make_application(qt_args: list[str]) -> Any:
        MARKS["imported"] = time.monotonic()
        app = original(qt_args)
        _watch_first_paint(app)
        return app

    launch.make_application = make_application
    if kind == "app-exports-later":
        # Prototype of a fix outside the benchmarks: the sound panel's export formats known
        # without importing PyAV before the first paint (gui/jobs_page.py's _exports).
        from kling_desktop.gui import jobs_page

        if hasattr(jobs_page, "_exports"):
            jobs_page._exports = lambda: ("wav",)
    from kling_desktop.app import main as app_main

    return app_main(["--demo"] if kind == "demo" else [])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
