"""``--demo``: the built-in simulator, its own home, and a clip run to done with no token."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from kling_desktop.accounts.vault import Vault
from kling_desktop.files import new_file_mode
from kling_desktop.gui.demo import DEMO_RESULTS_NAME, clean_demo_results
from kling_desktop.gui.launch import Launcher
from kling_desktop.jobs.model import JobState
from kling_desktop.jobs.store import JobStore
from kling_desktop.paths import app_paths
from tests.gui.conftest import AnsweringInteractions

pytestmark = pytest.mark.qt_log_ignore(
    "QBackingStore::flush", "PulseAudioService", "No RHI backend", extend=True
)
TIMEOUT_MS = 30_000


def test_demo_runs_a_sample_clip_to_done_apart_from_real_jobs(
    qtbot: QtBot, interactions: AnsweringInteractions
) -> None:
    launcher = Launcher(Vault(), interactions=interactions)
    # Not qtbot.addWidget: the launcher deletes its windows once they close.
    window = launcher.open(demo=True, demo_task_seconds=0.5)
    try:
        assert window.is_demo and window.demo_bar.isVisible()
        assert "no credits are spent" in window.demo_bar.text
        assert window.stack.currentWidget() is not window.welcome  # no token needed
        qtbot.waitUntil(lambda: window.account_combo.isEnabled(), timeout=TIMEOUT_MS)
        assert window.account_combo.currentData() == "demo@example.com"

        window.add_sample_clip()
        qtbot.waitUntil(
            lambda: [j.state for j in window.model.jobs()] == [JobState.READY], timeout=TIMEOUT_MS
        )
        qtbot.waitUntil(window.options.add_sound_button.isEnabled)
        window.options.add_sound_button.click()
        assert interactions.asked == [("spend", 1)]
        qtbot.waitUntil(
            lambda: [j.state for j in window.model.jobs()] == [JobState.DONE], timeout=TIMEOUT_MS
        )
        job = window.model.jobs()[0]
        assert job.output_path is not None and job.output_path.exists()
        demo_home = app_paths().data_dir / "demo"
        results = app_paths().default_output_dir.parent / DEMO_RESULTS_NAME
        assert job.output_path.parent == results  # a visible folder the demo names
        assert job.input_path.is_relative_to(demo_home)
        # The result is the user's file like any other: the umask's mode, not 0600.
        assert job.output_path.stat().st_mode & 0o777 == new_file_mode()

        window.select_job(job.id)
        player = window.preview.player  # type: ignore[attr-defined]
        qtbot.waitUntil(
            lambda: player.source == job.output_path and player.loaded,
            timeout=TIMEOUT_MS,
        )
        assert player.has_audio

        # Accounts and token in the demo: it says the demo's account is not the user's.
        window.open_accounts()
        dialog = window.tools.accounts_dialog
        assert dialog is not None
        note = dialog.findChild(QLabel, "demoAccountsNote")
        assert note is not None and "You are in the demo" in note.text()
        dialog.reject()
    finally:
        with qtbot.waitSignal(window.closed):
            window.close()
    # The user's own job list never saw the demo job.
    store = JobStore(app_paths().database)
    try:
        assert store.all() == []
    finally:
        store.close()


def test_try_the_demo_switches_the_window_live(
    qtbot: QtBot, interactions: AnsweringInteractions
) -> None:
    launcher = Launcher(Vault(), interactions=interactions)
    first = launcher.open(demo=False)
    # The token is read off the GUI thread; the welcome panel waits for the answer.
    assert first.stack.currentWidget() is not first.welcome
    qtbot.waitUntil(lambda: first.stack.currentWidget() is first.welcome)  # no token anywhere
    with qtbot.waitSignal(first.closed, timeout=TIMEOUT_MS):
        first.welcome.demo_button.click()
    demo = launcher.window
    assert demo is not None and demo is not first and demo.is_demo
    assert demo.isVisible()
    assert demo.acts.demo_action.text() == "Leave the &demo"
    with qtbot.waitSignal(demo.closed):
        demo.close()


def test_a_new_demo_run_clears_only_the_demo_results(tmp_path: Path) -> None:
    folder = tmp_path / DEMO_RESULTS_NAME
    folder.mkdir()
    for name in ("sample-clip.sound.mp4", "sample-clip.sound (2).mp4", ".a.sound.mp4.x1.part"):
        (folder / name).write_bytes(b"demo")
    (folder / "my own notes.txt").write_text("keep me")
    assert clean_demo_results(folder) == 3
    assert [p.name for p in folder.iterdir()] == ["my own notes.txt"]
