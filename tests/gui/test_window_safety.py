"""Money, history and the database, end to end: the window over the real runner and store,
talking HTTP to the simulator (issue 10 items 7, 9 and "the GUI thread never commits").
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt, QTimer
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from kling_desktop.gui.main_window import MainWindow
from kling_desktop.jobs.model import Job, JobState
from kling_desktop.simulator import Simulator
from tests.fixtures.media import ClipFactory
from tests.fixtures.sim import DEMO_EMAIL
from tests.gui.conftest import AnsweringInteractions, RealWindowFactory, drop_on, files_mime

pytestmark = pytest.mark.qt_log_ignore(
    "QBackingStore::flush", "PulseAudioService", "No RHI backend", extend=True
)

S = JobState
TIMEOUT_MS = 30_000


def _job(window: MainWindow, name: str) -> Job | None:
    return next((j for j in window.runner.jobs() if j.name == name), None)


def _state(window: MainWindow, name: str) -> JobState | None:
    job = _job(window, name)
    return job.state if job else None


def _select(window: MainWindow, *names: str) -> None:
    selection = window.table.selectionModel()
    selection.clearSelection()
    for name in names:
        job = _job(window, name)
        assert job is not None, name
        index = window.proxy.mapFromSource(window.model.index(window.model.row_of(job.id), 0))
        selection.select(
            index,
            QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows,
        )
    assert sorted(j.name for j in window.selected_jobs()) == sorted(names)


def _drop_and_wait_ready(qtbot: QtBot, window: MainWindow, *clips: Path) -> None:
    drop_on(window.drop_zone, files_mime(*clips))
    qtbot.waitUntil(
        lambda: all(_state(window, c.name) is S.READY for c in clips), timeout=TIMEOUT_MS
    )
    qtbot.waitUntil(window.options.add_sound_button.isEnabled)


def test_cancel_takes_an_upload_back_to_ready_and_nothing_is_spent(
    qtbot: QtBot,
    real_window: RealWindowFactory,
    clip_factory: ClipFactory,
    simulator: Simulator,
) -> None:
    window, context = real_window()
    clip = clip_factory("slow.mp4", 4.0)  # ~43 kB
    _drop_and_wait_ready(qtbot, window, clip)
    points = simulator.balance(DEMO_EMAIL)
    simulator.scenario.transfer_bytes_per_s = 4_000  # the upload takes ~10 s
    window.options.add_sound_button.click()
    qtbot.waitUntil(lambda: _state(window, "slow.mp4") is S.UPLOADING, timeout=TIMEOUT_MS)

    _select(window, "slow.mp4")
    qtbot.waitUntil(window.acts.cancel_action.isEnabled)
    window.table.setFocus()
    QTest.keyClick(window.table, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: _state(window, "slow.mp4") is S.READY, timeout=TIMEOUT_MS)
    assert "back to Ready; nothing was sent to Kling" in window.statusBar().currentMessage()
    simulator.scenario.transfer_bytes_per_s = 0.0
    # The upload that was in flight ends (cut short or answered); nothing follows it.
    qtbot.waitUntil(lambda: not context.runner._busy, timeout=TIMEOUT_MS)
    qtbot.wait(300)
    job = _job(window, "slow.mp4")
    assert job is not None and job.state is S.READY, job
    assert job.paid_submits == 0 and job.task_id is None
    assert simulator.submit_count == 0
    assert simulator.balance(DEMO_EMAIL) == points


def test_remove_asks_and_undo_brings_the_job_back_into_the_runner(
    qtbot: QtBot,
    real_window: RealWindowFactory,
    clip_factory: ClipFactory,
    interactions: AnsweringInteractions,
) -> None:
    window, context = real_window()
    _drop_and_wait_ready(qtbot, window, clip_factory("keep.mp4", 4.0))
    window.options.add_sound_button.click()
    qtbot.waitUntil(lambda: _state(window, "keep.mp4") is S.DONE, timeout=TIMEOUT_MS)
    done = _job(window, "keep.mp4")
    assert done is not None

    _select(window, "keep.mp4")
    window.table.setFocus()
    QTest.keyClick(window.table, Qt.Key.Key_Delete)
    assert interactions.asked[-1] == ("remove", [done.id])
    assert context.runner.job(done.id) is None and window.model.row_of(done.id) == -1
    qtbot.waitUntil(lambda: context.store.get(done.id) is None, timeout=TIMEOUT_MS)

    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: context.runner.job(done.id) is not None, timeout=TIMEOUT_MS)
    assert window.model.row_of(done.id) >= 0
    back = context.runner.job(done.id)
    assert back is not None and back.state is S.DONE and back.output_path == done.output_path
    assert context.store.get(done.id) == back


def test_a_clip_with_sound_dropped_again_says_so_and_is_not_queued(
    qtbot: QtBot,
    real_window: RealWindowFactory,
    clip_factory: ClipFactory,
    interactions: AnsweringInteractions,
    simulator: Simulator,
) -> None:
    window, _ = real_window()
    clip = clip_factory("again.mp4", 4.0)
    _drop_and_wait_ready(qtbot, window, clip)
    window.options.add_sound_button.click()
    qtbot.waitUntil(lambda: _state(window, "again.mp4") is S.DONE, timeout=TIMEOUT_MS)
    done = _job(window, "again.mp4")
    assert done is not None and done.output_path is not None

    interactions.duplicates_answer = False
    drop_on(window.drop_zone, files_mime(clip, done.output_path))
    qtbot.waitUntil(lambda: bool(interactions.duplicates), timeout=TIMEOUT_MS)
    today = dt.datetime.now()
    assert [d.sentence for d in interactions.duplicates[-1]] == [
        f"again.mp4 already has sound — added on {today.day} {today:%b %Y}.",
        f"{done.output_path.name} is a result of this app: it already has Kling's sound.",
    ]
    qtbot.wait(200)
    assert len(window.runner.jobs()) == 1
    assert simulator.submit_count == 1


def test_the_gui_thread_never_commits_to_the_database(
    qtbot: QtBot,
    real_window: RealWindowFactory,
    clip_factory: ClipFactory,
    interactions: AnsweringInteractions,
    simulator: Simulator,
) -> None:
    """Drop, Add sound, done, a failed download retried, remove, undo: every write is made
    on the runner's threads (DESIGN §4.3), none on the GUI thread."""
    gui = threading.get_ident()
    window, context = real_window(transfer_backoff_s=0.01)
    context.settings.prefer_clean_master = False
    store = context.store
    # Opening the database (its schema check) happened while the stack was built, before
    # the window existed; from here on the window's GUI thread must not write at all.
    at_start = store.commits[gui]

    first, second = clip_factory("one.mp4", 4.0), clip_factory("two.mp4", 4.0)
    _drop_and_wait_ready(qtbot, window, first, second)
    # Each of the two downloads breaks five times: both end failed (already paid for).
    simulator.scenario.truncate_downloads = 10
    window.options.add_sound_button.click()
    assert interactions.asked[-1] == ("spend", 2)
    qtbot.waitUntil(
        lambda: {_state(window, "one.mp4"), _state(window, "two.mp4")} == {S.FAILED},
        timeout=TIMEOUT_MS,
    )
    one = _job(window, "one.mp4")
    assert one is not None and one.error_code.startswith("download_"), one
    assert simulator.submit_count == 2

    _select(window, "one.mp4")
    qtbot.waitUntil(window.acts.retry_action.isEnabled)
    assert window.acts.retry_action.text() == "&Retry: download again"
    QTest.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: _state(window, "one.mp4") is S.DONE, timeout=TIMEOUT_MS)
    window.acts.retry_all_action.trigger()
    qtbot.waitUntil(lambda: _state(window, "two.mp4") is S.DONE, timeout=TIMEOUT_MS)
    assert simulator.submit_count == 2  # retried for free

    _select(window, "one.mp4", "two.mp4")
    window.acts.remove_action.trigger()
    assert [a for a in interactions.asked if a[0] == "remove"], interactions.asked
    qtbot.waitUntil(lambda: store.all() == [], timeout=TIMEOUT_MS)
    window.acts.undo_action.trigger()
    qtbot.waitUntil(lambda: len(store.all()) == 2, timeout=TIMEOUT_MS)
    qtbot.waitUntil(lambda: window.model.rowCount() == 2)

    assert store.commits[gui] - at_start == 0, store.commits
    elsewhere = sum(n for thread, n in store.commits.items() if thread != gui)
    assert elsewhere >= 10, store.commits  # adds, starts, steps, retries, remove, restore
    print(
        f"\ncommits by thread: GUI {store.commits[gui] - at_start} (+{at_start} at start-up), "
        f"others {elsewhere}"
    )


LOCK_SCRIPT = (
    "import sqlite3, sys, time; db = sqlite3.connect(sys.argv[1]); "
    "db.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(float(sys.argv[2]))"
)


class GapMeter:
    """A 10 ms QTimer on the GUI thread; the largest gap between its ticks."""

    def __init__(self) -> None:
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.last = 0.0
        self.largest = 0.0
        self.ticks = 0

    def _tick(self) -> None:
        now = time.perf_counter()
        self.largest = max(self.largest, now - self.last)
        self.last = now
        self.ticks += 1

    def start(self) -> None:
        self.last = time.perf_counter()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self._tick()


def _while_locked(
    qtbot: QtBot,
    window: MainWindow,
    database: Path,
    seconds: float,
    during: Path,
    interactions: AnsweringInteractions,
) -> tuple[float, GapMeter]:
    """Another process holds the database (``BEGIN EXCLUSIVE``: with WAL it blocks every
    writer) for ``seconds``; meanwhile the user drops ``during`` and presses Add sound.
    Returns how long it was held and the GUI gaps meanwhile."""
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCK_SCRIPT, str(database), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
        meter = GapMeter()
        meter.start()
        held_since = time.monotonic()
        drop_on(window.drop_zone, files_mime(during))
        window.options.add_sound_button.click()
        assert interactions.asked[-1] == ("spend", 1)
        _select(window, "before.mp4")  # the window keeps answering meanwhile
        qtbot.waitUntil(lambda: locker.poll() is not None, timeout=int(seconds * 1000) + 10_000)
        held_s = time.monotonic() - held_since
        meter.stop()
    finally:
        locker.kill()
        locker.wait()
        if locker.stdout is not None:
            locker.stdout.close()
    return held_s, meter


def test_a_database_locked_by_another_process_does_not_freeze_the_window(
    qtbot: QtBot,
    real_window: RealWindowFactory,
    clip_factory: ClipFactory,
    interactions: AnsweringInteractions,
) -> None:
    window, context = real_window()
    _drop_and_wait_ready(qtbot, window, clip_factory("before.mp4", 4.0))
    held_s, meter = _while_locked(
        qtbot, window, context.store.path, 7.0, clip_factory("during.mp4", 4.0), interactions
    )
    print(
        f"\nlock held {held_s:.1f} s: {meter.ticks} ticks of a 10 ms timer, largest GUI gap "
        f"{meter.largest * 1000:.0f} ms"
    )
    assert held_s > 5.0  # longer than the store's busy timeout
    assert meter.largest < 0.2, f"the window froze for {meter.largest * 1000:.0f} ms"
    # The user is told the list could not be saved (the runner's sentence, and what to do).
    qtbot.waitUntil(lambda: "database is locked" in window.message_bar.text, timeout=TIMEOUT_MS)
    assert "may not have been saved" in window.message_bar.text


def test_what_the_user_did_while_the_database_was_locked_happens_once_it_is_free(
    qtbot: QtBot,
    real_window: RealWindowFactory,
    clip_factory: ClipFactory,
    interactions: AnsweringInteractions,
    simulator: Simulator,
) -> None:
    window, context = real_window()
    _drop_and_wait_ready(qtbot, window, clip_factory("before.mp4", 4.0))
    _while_locked(
        qtbot, window, context.store.path, 6.0, clip_factory("during.mp4", 4.0), interactions
    )
    qtbot.waitUntil(lambda: _state(window, "before.mp4") is S.DONE, timeout=15_000)
    qtbot.waitUntil(lambda: _state(window, "during.mp4") is S.READY, timeout=15_000)
    assert simulator.submit_count == 1
