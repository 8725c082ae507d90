"""Qt's libraries are loaded with no translator written in Python installed.

A library's start-up code may translate a text while the system's library-loading lock is
held; a Python translator then needs Python's lock, which a worker thread importing a native
module (requests, PyAV) holds while it waits for the loading lock: the window froze at start
for good (seen in 2 of 4 starts). These prove the translator is off while QtMultimedia loads
and back after."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from kling_desktop.gui import jobs_page, plurals


def _plural() -> str:
    return QCoreApplication.translate("Test", "%n clip(s)", "", 2)


def test_suspended_takes_the_plural_forms_off_and_back(qtbot: QtBot) -> None:
    plurals.install(QCoreApplication.instance())  # type: ignore[arg-type]
    assert _plural() == "2 clips"
    with plurals.suspended():
        assert _plural() == "2 clip(s)"  # Qt's own, no Python call
    assert _plural() == "2 clips"


def test_the_preview_is_built_with_no_python_translator(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    plurals.install(QCoreApplication.instance())  # type: ignore[arg-type]
    from kling_desktop.gui import preview

    seen: list[str] = []
    real = preview.PreviewPane.__init__

    def spy(self: Any, *args: Any, **kwargs: Any) -> None:
        seen.append(_plural())
        real(self, *args, **kwargs)

    monkeypatch.setattr(preview.PreviewPane, "__init__", spy)
    parent = QWidget()
    qtbot.addWidget(parent)
    jobs_page._preview_pane(parent)
    assert seen == ["2 clip(s)"]
    assert _plural() == "2 clips"
