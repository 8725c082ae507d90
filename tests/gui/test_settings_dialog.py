"""Settings dialog: the https rule, edits only on OK, and a round trip through the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from pytestqt.qtbot import QtBot

from kling_desktop.gui.settings_dialog import SettingsDialog, base_url_problem
from kling_desktop.paths import app_paths
from kling_desktop.settings import DEFAULT_API_URL, Settings


@pytest.mark.parametrize(
    "url",
    [
        DEFAULT_API_URL,
        "https://api.useapi.net/v1/kling/",
        "http://127.0.0.1:8765/v1/kling",
        "http://localhost:9000/v1/kling",
        "http://[::1]:9000/v1/kling",
    ],
)
def test_accepted_urls(url: str) -> None:
    assert base_url_problem(url) == ""


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://api.useapi.net/v1/kling", "plain http"),
        ("http://192.168.1.5/v1/kling", "plain http"),
        ("ftp://api.useapi.net/v1/kling", "not a valid web address"),
        ("api.useapi.net/v1/kling", "not a valid web address"),
        ("", "not a valid web address"),
        ("https://user:pw@api.useapi.net/v1/kling", "not a valid web address"),
    ],
)
def test_refused_urls(url: str, words: str) -> None:
    problem = base_url_problem(url)
    assert words in problem
    assert "service said" not in problem  # a local check, not the service talking


@pytest.fixture
def dialog(qtbot: QtBot) -> tuple[SettingsDialog, Settings]:
    settings = Settings()
    dlg = SettingsDialog(settings)
    qtbot.addWidget(dlg)
    dlg.show()
    return dlg, settings


def test_labels_come_from_the_settings(dialog: tuple[SettingsDialog, Settings]) -> None:
    dlg, _ = dialog
    assert dlg.prefer_clean_master.text() == Settings.label("prefer_clean_master")
    assert dlg.auto_start.text() == Settings.label("auto_start")
    assert dlg.api_url.accessibleName() == Settings.label("api_url")


def test_http_rule_shows_inline_and_disables_ok(
    qtbot: QtBot, dialog: tuple[SettingsDialog, Settings]
) -> None:
    dlg, settings = dialog
    assert dlg.ok_button.isEnabled()
    assert not dlg.url_error.isVisibleTo(dlg)
    dlg.api_url.setText("http://example.com/v1/kling")
    assert not dlg.ok_button.isEnabled()
    assert dlg.url_error.isVisibleTo(dlg)
    assert "plain http" in dlg.url_error.text()
    dlg.accept()  # Enter with a bad URL does nothing
    assert dlg.isVisible()
    dlg.api_url.setText("http://127.0.0.1:8765/v1/kling")
    assert dlg.ok_button.isEnabled() and not dlg.url_error.isVisibleTo(dlg)
    dlg.reset_url_button.click()
    assert dlg.api_url.text() == DEFAULT_API_URL
    assert settings.api_url == DEFAULT_API_URL
    assert not app_paths().settings_file.exists()


def test_cancel_changes_nothing(qtbot: QtBot, dialog: tuple[SettingsDialog, Settings]) -> None:
    dlg, settings = dialog
    dlg.concurrency.setValue(7)
    dlg.auto_start.setChecked(True)
    dlg.reject()
    assert settings == Settings()
    assert not app_paths().settings_file.exists()


def test_round_trip(qtbot: QtBot, tmp_path: Path) -> None:
    settings = Settings(default_email="me@example.com")
    dlg = SettingsDialog(settings)
    qtbot.addWidget(dlg)
    dlg.show()
    out = tmp_path / "results"
    assert dlg.next_to_original.isChecked() and not dlg.folder_edit.isEnabled()
    dlg.in_folder.setChecked(True)
    assert not dlg.ok_button.isEnabled()  # a folder must be chosen
    dlg.folder_edit.setText(str(out))
    dlg.prefer_clean_master.setChecked(False)
    dlg.keep_original_sound.setChecked(True)
    dlg.auto_start.setChecked(True)
    dlg.notifications.setChecked(False)
    dlg.poll_interval.setValue(1)  # below the declared minimum: clamped
    dlg.concurrency.setValue(99)
    dlg.api_url.setText("http://127.0.0.1:8765/v1/kling/")
    dlg.first_poll_delay.setValue(5)
    assert settings.auto_start is False  # edits a copy until OK
    with qtbot.waitSignal(dlg.saved, timeout=5000) as blocker:
        dlg.ok_button.click()
    assert blocker.args == [settings]
    qtbot.waitUntil(lambda: not dlg.isVisible(), timeout=2000)
    assert dlg.result() == SettingsDialog.DialogCode.Accepted

    expected = {
        "output_folder": str(out),
        "prefer_clean_master": False,
        "keep_original_sound": True,
        "auto_start": True,
        "notifications": False,
        "poll_interval_s": 2.0,
        "concurrency": 16,
        "api_url": "http://127.0.0.1:8765/v1/kling",
        "first_poll_delay_s": 5.0,
        "default_email": "me@example.com",  # untouched by the dialog
    }
    for name, value in expected.items():
        assert getattr(settings, name) == value, name
    on_disk = json.loads(app_paths().settings_file.read_text(encoding="utf-8"))
    for name, value in expected.items():
        assert on_disk[name] == value, name
    assert Settings.load(app_paths().settings_file) == settings

    # Reopening shows what was saved; "next to the original" clears the folder.
    again = SettingsDialog(Settings.load(app_paths().settings_file))
    qtbot.addWidget(again)
    assert again.in_folder.isChecked() and again.folder_edit.text() == str(out)
    assert again.values()["concurrency"] == 16
    again.next_to_original.setChecked(True)
    assert again.values()["output_folder"] == ""


def test_a_change_made_elsewhere_meanwhile_is_kept(
    qtbot: QtBot, dialog: tuple[SettingsDialog, Settings]
) -> None:
    dlg, settings = dialog
    settings.default_email = "chosen@example.com"  # e.g. in the accounts pane
    dlg.notifications.setChecked(False)
    with qtbot.waitSignal(dlg.saved, timeout=5000):
        dlg.ok_button.click()
    saved = Settings.load(app_paths().settings_file)
    assert saved.default_email == "chosen@example.com"
    assert saved.notifications is False


def test_save_failure_is_shown_and_dialog_stays(
    qtbot: QtBot, app_home: Path, dialog: tuple[SettingsDialog, Settings]
) -> None:
    dlg, settings = dialog
    # The config folder's place is taken by a file: the save must fail.
    app_paths().config_dir.parent.mkdir(parents=True, exist_ok=True)
    app_paths().config_dir.write_text("not a folder")
    dlg.auto_start.setChecked(True)
    dlg.ok_button.click()
    qtbot.waitUntil(lambda: dlg.save_error.isVisibleTo(dlg), timeout=5000)
    assert "could not be saved" in dlg.save_error.text()
    assert dlg.isVisible() and dlg.ok_button.isEnabled()
    assert settings.auto_start is False


def test_tab_walks_the_fields_top_to_bottom(
    qtbot: QtBot, dialog: tuple[SettingsDialog, Settings]
) -> None:
    dlg, _ = dialog
    dlg.activateWindow()
    first = dlg.focusWidget()
    assert first is not None
    walked = [first]
    for _ in range(40):
        qtbot.keyClick(walked[-1], Qt.Key.Key_Tab)
        now = dlg.focusWidget()
        assert now is not None
        if now is first:
            break
        walked.append(now)
    assert dlg.duck in walked and dlg.export_audio in walked and dlg.ok_button in walked
    # Rows of the form top to bottom; within a row, left to right.
    places = [
        (w.mapTo(dlg, QPoint(0, w.height() // 2)).y(), w.mapTo(dlg, QPoint()).x()) for w in walked
    ]
    rows = [(y // 8, x) for y, x in places]
    assert rows == sorted(rows), [w.accessibleName() or w.objectName() for w in walked]
