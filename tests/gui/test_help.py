"""Help: the shortcut list read from the real actions, About with versions, the licences that
ship, the token page, and folders or links the desktop cannot open."""

from __future__ import annotations

import platform
import re
from pathlib import Path

import av
import PySide6
import pytest
from PySide6.QtCore import QUrl, qVersion
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QMainWindow, QWidget
from pytestqt.qtbot import QtBot

from kling_desktop import __version__
from kling_desktop.gui.desktop import CannotOpenDialog, open_folder, open_link
from kling_desktop.gui.help import (
    TOKEN_PAGE_URL,
    AboutDialog,
    HelpActions,
    LicencesDialog,
    ShortcutsDialog,
    component_versions,
)
from kling_desktop.resources import LICENSES_DIR, license_files, resource_path
from tests.gui.conftest import AnsweringInteractions, FakeWindowFactory

ROOT = Path(__file__).resolve().parents[2]
NATIVE = QKeySequence.SequenceFormat.NativeText


def _keys(text: str) -> str:
    return QKeySequence(text).toString(NATIVE)


class RecordingOpener:
    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.urls: list[QUrl] = []

    def __call__(self, url: QUrl) -> bool:
        self.urls.append(url)
        return self.answer


@pytest.fixture
def window(qtbot: QtBot) -> QMainWindow:
    widget = QMainWindow()
    qtbot.addWidget(widget)
    return widget


def _cannot_open(parent: QWidget) -> CannotOpenDialog | None:
    return parent.findChild(CannotOpenDialog)


# -- shortcuts -----------------------------------------------------------------------------------


def test_the_shortcut_list_shows_the_actions_given_with_their_menu(window: QMainWindow) -> None:
    file_menu = window.menuBar().addMenu("&File")
    open_action = QAction("&Add clips…", window)
    open_action.setShortcut(QKeySequence("Ctrl+O"))
    file_menu.addAction(open_action)
    quiet = QAction("No key here", window)
    file_menu.addAction(quiet)
    jobs_menu = window.menuBar().addMenu("&Jobs")
    retry = QAction("&Retry", window)
    retry.setShortcuts([QKeySequence("Ctrl+R"), QKeySequence("F5")])
    jobs_menu.addAction(retry)
    loose = QAction("Rock && roll", window)
    loose.setShortcut(QKeySequence("Ctrl+Shift+K"))

    dialog = ShortcutsDialog([open_action, quiet, retry, loose, retry], parent=window)
    assert dialog.rows() == [
        ("File", "Add clips…", _keys("Ctrl+O")),
        ("Jobs", "Retry", f"{_keys('Ctrl+R')}, {_keys('F5')}"),
        ("Other", "Rock & roll", _keys("Ctrl+Shift+K")),
    ]
    # Read from the actions when it opens: a changed key shows the next time.
    open_action.setShortcut(QKeySequence("Ctrl+Alt+O"))
    again = ShortcutsDialog([open_action], parent=window)
    assert again.rows() == [("File", "Add clips…", _keys("Ctrl+Alt+O"))]


def test_the_window_lists_every_key_it_has(qtbot: QtBot, fake_window: FakeWindowFactory) -> None:
    main, _runner = fake_window()
    dialog = main.help_actions.show_shortcuts()
    assert isinstance(dialog, ShortcutsDialog)
    qtbot.waitExposed(dialog)
    rows = dialog.rows()
    listed = {(name, keys) for _group, name, keys in rows}
    with_keys = [a for a in main.actions() if not a.shortcut().isEmpty()]
    assert len(with_keys) > 10
    for action in with_keys:
        name = re.sub(r"&(.)", r"\1", action.text())
        keys = ", ".join(s.toString(NATIVE) for s in action.shortcuts())
        assert (name, keys) in listed, (name, keys)
    assert ("File", "Add clips…", main.acts.add_clips_action.shortcut().toString(NATIVE)) in rows
    assert ("Help", "Keyboard shortcuts", _keys("F1")) in rows
    # The preview's own keys (not actions) are listed too.
    assert any(group.startswith("Preview") and keys == _keys("Space") for group, _n, keys in rows)
    # And the list's: Enter plays, Home/End go to the first and last clip.
    in_list = {name: keys for group, name, keys in rows if group.startswith("The list")}
    assert in_list["First or last clip"] == f"{_keys('Home')} / {_keys('End')}"
    assert "Enter" in in_list["Play the selected clip (its result, else the original)"]
    dialog.close()


def test_f1_opens_the_shortcut_list(qtbot: QtBot, fake_window: FakeWindowFactory) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    main, _runner = fake_window()
    QTest.keyClick(main, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: isinstance(main.help_actions.dialog, ShortcutsDialog))
    assert main.help_actions.dialog is not None
    main.help_actions.dialog.close()


def test_the_help_menu_has_its_entries_in_order(fake_window: FakeWindowFactory) -> None:
    main, _runner = fake_window()
    menu = next(a.menu() for a in main.menuBar().actions() if a.text() == "&Help" and a.menu())
    texts = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert texts == [
        "&Keyboard shortcuts",
        "Get your useapi.net API &token…",
        "Open &log folder",
        "&Licences",
        "&About Kling Desktop",
    ]


# -- about ---------------------------------------------------------------------------------------


def test_component_versions_name_every_part() -> None:
    rows = dict((name.strip(), version) for name, version in component_versions())
    assert rows["Kling Desktop"] == __version__
    assert rows["Python"] == platform.python_version()
    assert rows["Qt"] == qVersion()
    assert rows["PySide6"] == PySide6.__version__
    assert rows["PyAV"] == av.__version__
    assert rows["FFmpeg (PyAV)"] == av.ffmpeg_version_info
    for library, version in av.library_versions.items():
        assert rows[library].startswith(".".join(map(str, version)))
        assert "LGPL" in rows[library] or "GPL" in rows[library]  # the licence it reports
    assert rows["Operating system"]


def test_about_shows_the_versions_and_copies_them(qtbot: QtBot, window: QMainWindow) -> None:
    opened: list[bool] = []
    dialog = AboutDialog(window, show_licences=lambda: opened.append(True))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.ready, timeout=5000)
    shown = {
        dialog.versions.topLevelItem(i).text(0).strip(): dialog.versions.topLevelItem(i).text(1)  # type: ignore[union-attr]
        for i in range(dialog.versions.topLevelItemCount())
    }
    assert shown["Kling Desktop"] == __version__
    assert shown["Qt"] == qVersion() and shown["PySide6"] == PySide6.__version__
    assert shown["PyAV"] == av.__version__ and shown["Python"] == platform.python_version()
    dialog.copy_button.click()
    copied = QGuiApplication.clipboard().text()
    assert f"Kling Desktop: {__version__}" in copied and f"PyAV: {av.__version__}" in copied
    assert dialog.licences_button is not None
    dialog.licences_button.click()
    assert opened == [True]


def test_about_from_the_window(qtbot: QtBot, fake_window: FakeWindowFactory) -> None:
    main, _runner = fake_window()
    main.acts.about_action.trigger()
    dialog = main.help_actions.dialog
    assert isinstance(dialog, AboutDialog)
    qtbot.waitUntil(lambda: dialog.ready, timeout=5000)
    dialog.close()


# -- licences ------------------------------------------------------------------------------------


def test_the_licence_files_ship_and_are_found_through_the_resource_helper() -> None:
    files = license_files()
    names = [p.name for p in files]
    assert names[0] == "NOTICE.txt"
    assert {"LGPL-3.0.txt", "GPL-3.0.txt", "LGPL-2.1.txt", "PyAV-BSD-3-Clause.txt"} <= set(names)
    assert all(p.parent == resource_path(LICENSES_DIR) and p.is_file() for p in files)
    notice = files[0].read_text(encoding="utf-8")
    for needed in (
        "Qt 6",
        "PySide6",
        "FFmpeg",
        "PyAV",
        "LGPL-3.0",
        "LGPL-2.1-or-later",
        "BSD 3-Clause",
        "https://www.qt.io/",
        "https://ffmpeg.org/",
        "https://github.com/PyAV-Org/PyAV",
        "https://www.gnu.org/licenses/lgpl-3.0.html",
    ):
        assert needed in notice, needed
    lgpl = resource_path(LICENSES_DIR, "LGPL-3.0.txt").read_text(encoding="utf-8")
    assert "GNU LESSER GENERAL PUBLIC LICENSE" in lgpl and "Version 3, 29 June 2007" in lgpl
    bsd = resource_path(LICENSES_DIR, "PyAV-BSD-3-Clause.txt").read_text(encoding="utf-8")
    assert "Redistributions in binary form must reproduce" in bsd


def test_the_bundle_spec_ships_the_licences() -> None:
    spec = (ROOT / "packaging" / "kling_desktop.spec").read_text(encoding="utf-8")
    assert 'datas = [(str(RESOURCES), "resources")]' in spec  # the whole folder is copied
    assert '(RESOURCES / "licenses").glob("*.txt")' in spec  # and the build refuses without
    assert "graft resources" in (ROOT / "MANIFEST.in").read_text(encoding="utf-8")


def test_the_licences_dialog_shows_the_notice_first(qtbot: QtBot, window: QMainWindow) -> None:
    dialog = LicencesDialog(window)
    qtbot.addWidget(dialog)
    assert dialog.files.count() == len(license_files())
    assert dialog.files.item(0).text() == "Third-party notices"  # type: ignore[union-attr]
    assert "third-party software notices" in dialog.text.toPlainText()
    row = next(i for i, p in enumerate(dialog.paths) if p.name == "LGPL-3.0.txt")
    dialog.files.setCurrentRow(row)
    assert "GNU LESSER GENERAL PUBLIC LICENSE" in dialog.text.toPlainText()
    assert dialog.text.isReadOnly()


# -- the token page and folders ------------------------------------------------------------------


def test_the_token_page_opens_in_the_browser(window: QMainWindow) -> None:
    opener = RecordingOpener(True)
    actions = HelpActions(window, window.actions, opener=opener)
    actions.token_page_action.trigger()
    assert [u.toString() for u in opener.urls] == [TOKEN_PAGE_URL]
    assert _cannot_open(window) is None


def test_the_token_page_address_is_shown_when_no_browser_opens_it(window: QMainWindow) -> None:
    actions = HelpActions(window, window.actions, opener=RecordingOpener(False))
    actions.open_token_page()
    dialog = _cannot_open(window)
    assert dialog is not None and dialog.text == TOKEN_PAGE_URL
    assert "No web browser" in dialog.message.text()


def test_open_folder_opens_the_folder(window: QMainWindow, tmp_path: Path) -> None:
    opener = RecordingOpener(True)
    open_folder(tmp_path, window, opener)
    assert [u.toLocalFile() for u in opener.urls] == [str(tmp_path)]
    assert _cannot_open(window) is None


def test_open_folder_says_where_it_is_when_nothing_opens_it(
    qtbot: QtBot, window: QMainWindow, tmp_path: Path
) -> None:
    clip = tmp_path / "clip.sound.mp4"
    clip.write_bytes(b"x")
    open_folder(clip, window, RecordingOpener(False))  # a file: its folder
    dialog = _cannot_open(window)
    assert dialog is not None
    qtbot.waitExposed(dialog)
    assert dialog.text == str(tmp_path)
    assert "No file manager could open this folder" in dialog.message.text()
    assert dialog.field.isReadOnly()
    dialog.field.selectAll()
    assert dialog.field.selectedText() == str(tmp_path)  # selectable
    dialog.copy_button.click()
    assert QGuiApplication.clipboard().text() == str(tmp_path)
    assert dialog.copy_button.text() == "Copied"
    assert dialog.isVisible()  # Copy leaves it open
    dialog.reject()


def test_open_link_reports_a_link_nobody_opens(window: QMainWindow) -> None:
    open_link("https://example.org/x", window, RecordingOpener(False))
    dialog = _cannot_open(window)
    assert dialog is not None and dialog.text == "https://example.org/x"


def test_the_log_folder_says_where_it_is_when_nothing_opens_it(
    fake_window: FakeWindowFactory, interactions: AnsweringInteractions
) -> None:
    main, _runner = fake_window()
    interactions.open_url = lambda url: False  # type: ignore[method-assign]  # no file manager
    main.acts.log_folder_action.trigger()
    dialog = _cannot_open(main)
    assert dialog is not None and Path(dialog.text).name == "logs"
    dialog.reject()
