"""A second start on the same data folder hands its files to the running window and exits
(DESIGN §4.8): the first window's side in this process, the second start a real
``kling-desktop FILE`` subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from kling_desktop import instance
from kling_desktop.accounts.vault import Vault
from kling_desktop.gui.launch import Launcher, wait_for_engine
from kling_desktop.gui.notify import Level
from kling_desktop.paths import app_paths
from kling_desktop.simulator import DEMO_TOKEN, Simulator
from tests.gui.conftest import AnsweringInteractions, FakeWindowFactory, fast_settings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def first_window_lock() -> Iterator[instance.InstanceLock]:
    """This process holds the data folder as the first window does."""
    lock = instance.InstanceLock(app_paths().ensure().data_dir, instance.WINDOW)
    assert lock.try_acquire()
    yield lock
    lock.release()


def second_start(app_home: Path, cwd: Path, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ)
    env.update(KLING_DESKTOP_HOME=str(app_home), QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    return subprocess.Popen(
        [sys.executable, "-m", "kling_desktop", *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(proc: subprocess.Popen[str]) -> tuple[str, str]:
    out, err = proc.communicate(timeout=30)
    return out, err


@pytest.mark.subprocess
@pytest.mark.qt_log_ignore("This plugin does not support raise")  # offscreen
def test_a_second_start_hands_its_file_to_the_running_window(
    qtbot: QtBot,
    fake_window: FakeWindowFactory,
    first_window_lock: instance.InstanceLock,
    app_home: Path,
    clip: Path,
) -> None:
    window, runner = fake_window()
    launcher = Launcher(Vault())
    launcher.window = window
    server = instance.serve_hand_offs(first_window_lock.data_dir, launcher.receive_files)
    assert server is not None
    window.showMinimized()

    proc = second_start(app_home, clip.parent, clip.name)  # relative: made absolute first

    def added() -> list[tuple[str, Any]]:
        return [c for c in runner.calls if c[0] == "add_files"]

    qtbot.waitUntil(lambda: proc.poll() is not None and bool(added()), timeout=30_000)
    _out, err = finished(proc)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert f"the clips were added to the Kling Desktop window (process {os.getpid()})" in err
    (_, (paths, _options, _start)) = added()[0]
    assert paths == [clip]
    assert not window.isMinimized()
    assert window.isVisible()
    server.close()


@pytest.mark.subprocess
def test_a_window_that_does_not_answer_is_named_and_nothing_else_starts(
    qtbot: QtBot, first_window_lock: instance.InstanceLock, app_home: Path, tmp_path: Path
) -> None:
    # The lock says a window runs, but nobody listens: the second start must not open a
    # second engine on the job list; it says so and ends.
    proc = second_start(app_home, tmp_path)
    qtbot.waitUntil(lambda: proc.poll() is not None, timeout=30_000)
    _out, err = finished(proc)
    assert proc.returncode == 2
    assert "Traceback" not in err
    assert err.splitlines()[-1] == (
        f"kling-desktop: The Kling Desktop window (process {os.getpid()}) is already open on "
        "this job list but did not answer. Close it (or wait until it responds), then try again."
    )
    assert not (app_home / "data" / "jobs.sqlite3").exists()  # no engine, no store opened


def test_a_window_start_waits_for_a_command_then_opens(qtbot: QtBot, tmp_path: Path) -> None:
    command = instance.InstanceLock(tmp_path, "kling-desktop resume")
    assert command.try_acquire()
    holder = command.holder()
    assert holder is not None and not holder.is_window
    mine = instance.InstanceLock(tmp_path, instance.WINDOW)
    seen: list[str] = []

    def look_then_finish() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        seen.append(box.text())
        command.release()  # `resume` ends

    QTimer.singleShot(0, look_then_finish)
    assert wait_for_engine(mine, holder) is True
    assert mine.held
    assert seen == [f"kling-desktop resume (process {os.getpid()}) is using the job list."]
    mine.release()


def test_giving_up_the_wait_starts_nothing(qtbot: QtBot, tmp_path: Path) -> None:
    command = instance.InstanceLock(tmp_path, "kling-desktop add-sound")
    assert command.try_acquire()
    mine = instance.InstanceLock(tmp_path, instance.WINDOW)

    def cancel() -> None:
        box = QApplication.activeModalWidget()
        assert isinstance(box, QMessageBox)
        button = box.button(QMessageBox.StandardButton.Cancel)
        assert button is not None
        button.click()

    QTimer.singleShot(0, cancel)
    assert wait_for_engine(mine, command.holder()) is False
    assert not mine.held
    command.release()


def test_the_window_says_once_that_a_damaged_job_list_was_set_aside(
    qtbot: QtBot, simulator: Simulator, interactions: AnsweringInteractions
) -> None:
    database = app_paths().ensure().database
    database.write_bytes(b"not a database " * 100)
    launcher = Launcher(Vault(), interactions=interactions)
    window = launcher.open(
        demo=False, base_url=simulator.url, token=DEMO_TOKEN, settings=fast_settings()
    )
    try:
        [aside] = database.parent.glob("jobs.sqlite3.damaged-*")
        assert window.message_bar.isVisible()
        assert window.message_bar.level is Level.WARNING
        assert window.message_bar.text == (
            f"The job list was damaged (it is not a database file); it was moved to {aside} "
            "and no job could be read back from it; a new, empty job list was started."
        )
    finally:
        with qtbot.waitSignal(window.closed):
            window.close()
