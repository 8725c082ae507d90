"""The window end to end: real clips dropped, the real runner, HTTP to the simulator."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from kling_desktop.gui.job_table import Column
from kling_desktop.gui.notify import Level
from kling_desktop.jobs.model import Job, JobState
from kling_desktop.jobs.store import JobStore
from kling_desktop.paths import app_paths
from kling_desktop.simulator import Simulator
from tests.fixtures.media import ClipFactory
from tests.gui.conftest import (
    AnsweringInteractions,
    RealWindowFactory,
    drop_on,
    files_mime,
    urls_mime,
)

# The offscreen platform gives QVideoWidget's native child window no backing store; Qt says so
# when the window repaints or closes. Playback itself is unaffected (asserted below).
pytestmark = pytest.mark.qt_log_ignore(
    "QBackingStore::flush", "PulseAudioService", "No RHI backend", extend=True
)

TIMEOUT_MS = 20_000


def _job_named(window, name: str) -> Job | None:  # type: ignore[no-untyped-def]
    return next((j for j in window.model.jobs() if j.name == name), None)


def _state_of(window, name: str) -> JobState | None:  # type: ignore[no-untyped-def]
    job = _job_named(window, name)
    return job.state if job else None


def test_dropped_clips_are_checked_and_wait_as_ready(
    qtbot: QtBot, real_window: RealWindowFactory, clip_factory: ClipFactory, tmp_path: Path
) -> None:
    window, context = real_window()
    good = clip_factory("good.mp4", 4.0)
    short = clip_factory("short.mp4", 1.0)  # accepted: extended to 3 s for Kling
    fake = tmp_path / "fake.mp4"
    fake.write_text("not a clip, whatever its name says")
    folder = tmp_path / "more"
    folder.mkdir()
    clip_factory("inside.mov", 5.0).rename(folder / "inside.mov")
    (folder / "notes.txt").write_text("not a clip")

    assert drop_on(window.drop_zone, files_mime(good, short, fake, folder)) == (True, True)
    qtbot.waitUntil(lambda: window.model.rowCount() == 4, timeout=TIMEOUT_MS)
    qtbot.waitUntil(
        lambda: (
            _state_of(window, "good.mp4") is JobState.READY
            and _state_of(window, "inside.mov") is JobState.READY
            and _state_of(window, "short.mp4") is JobState.READY
            and _state_of(window, "fake.mp4") is JobState.REJECTED
        ),
        timeout=TIMEOUT_MS,
    )
    rejected = _job_named(window, "fake.mp4")
    assert rejected is not None and rejected.error_message
    row = window.model.row_of(rejected.id)
    assert window.model.index(row, Column.MESSAGE).data() == rejected.error_message
    # The short clip says what preparing it does, before anything is paid.
    extended = _job_named(window, "short.mp4")
    assert extended is not None
    message = window.model.index(window.model.row_of(extended.id), Column.MESSAGE).data()
    assert message.startswith("Will be extended to 3 s"), message
    assert "1 paid Kling job" in message
    assert (
        window.model.index(
            window.model.row_of(_job_named(window, "good.mp4").id), Column.DURATION
        ).data()
        == "4.0 s"
    )  # type: ignore[union-attr]
    # Dropped before the account list arrived, the clips still go to the chosen account.
    assert {j.email for j in window.model.jobs()} == {"demo@example.com"}
    # Nothing is spent on a drop.
    assert not [j for j in context.runner.jobs() if j.state is JobState.QUEUED]
    # The actions follow the runner's news within REFRESH_INTERVAL_MS.
    button = window.options.add_sound_button
    qtbot.waitUntil(lambda: button.isEnabled() and "3 clips" in button.text())


def test_web_links_and_empty_folders_are_refused_with_a_reason(
    qtbot: QtBot, real_window: RealWindowFactory, tmp_path: Path
) -> None:
    window, _ = real_window()
    drop_on(window, urls_mime(QUrl("https://example.com/clip.mp4")))
    qtbot.waitUntil(lambda: window.message_bar.isVisible())
    assert window.message_bar.text == "Only files on this computer can be added."
    assert window.message_bar.level is Level.WARNING

    empty = tmp_path / "nothing-here"
    empty.mkdir()
    (empty / "readme.txt").write_text("hi")
    window.message_bar.dismiss()
    drop_on(window.table.viewport(), files_mime(empty))
    qtbot.waitUntil(lambda: window.message_bar.isVisible(), timeout=TIMEOUT_MS)
    assert "nothing-here" in window.message_bar.text
    assert window.model.rowCount() == 0


def test_add_sound_runs_a_clip_to_done_and_previews_the_result(
    qtbot: QtBot,
    real_window: RealWindowFactory,
    clip_factory: ClipFactory,
    interactions: AnsweringInteractions,
    simulator: Simulator,
) -> None:
    window, context = real_window()
    clip = clip_factory("to-sound.mp4", 4.0)
    drop_on(window.drop_zone, files_mime(clip))
    qtbot.waitUntil(lambda: _state_of(window, "to-sound.mp4") is JobState.READY, timeout=TIMEOUT_MS)
    qtbot.waitUntil(window.acts.add_sound_action.isEnabled)
    assert simulator.submit_count == 0

    with qtbot.waitSignal(context.runner.batch_finished, timeout=TIMEOUT_MS):
        QTest.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert interactions.asked[0] == ("spend", 1)
    job = _job_named(window, "to-sound.mp4")
    assert job is not None and job.state is JobState.DONE, job
    assert job.output_path is not None and job.output_path.exists()
    assert simulator.submit_count == 1
    assert "finished with sound" in window.message_bar.text

    window.select_job(job.id)
    window.preview_selected()
    player = window.preview.player  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: player.loaded, timeout=TIMEOUT_MS)
    assert player.source == job.output_path
    assert player.has_audio
    qtbot.waitUntil(window.acts.copy_link_action.isEnabled)  # within REFRESH_INTERVAL_MS of DONE
    assert window.acts.reveal_action.isEnabled()
    assert not window.acts.retry_action.isEnabled() and not window.acts.stop_action.isEnabled()


def test_declining_the_confirmation_spends_nothing(
    qtbot: QtBot,
    real_window: RealWindowFactory,
    clip_factory: ClipFactory,
    interactions: AnsweringInteractions,
    simulator: Simulator,
) -> None:
    window, _context = real_window()
    drop_on(window, files_mime(clip_factory("maybe.mp4", 4.0)))
    qtbot.waitUntil(lambda: _state_of(window, "maybe.mp4") is JobState.READY, timeout=TIMEOUT_MS)
    qtbot.waitUntil(window.options.add_sound_button.isEnabled)
    interactions.spend_answer = False
    window.options.add_sound_button.click()
    assert interactions.asked == [("spend", 1)]
    assert _state_of(window, "maybe.mp4") is JobState.READY
    assert simulator.submit_count == 0


def test_a_restarted_window_resumes_a_job_left_processing(
    qtbot: QtBot,
    real_window: RealWindowFactory,
    clip_factory: ClipFactory,
    simulator: Simulator,
    interactions: AnsweringInteractions,
) -> None:
    simulator.scenario.task_seconds = 3.0
    window, _context = real_window()
    drop_on(window, files_mime(clip_factory("long.mp4", 4.0)))
    qtbot.waitUntil(lambda: _state_of(window, "long.mp4") is JobState.READY, timeout=TIMEOUT_MS)
    window.commands.add_sound()
    qtbot.waitUntil(
        lambda: _state_of(window, "long.mp4") is JobState.PROCESSING, timeout=TIMEOUT_MS
    )
    with qtbot.waitSignal(window.closed):
        window.close()
    # Closing with a job at Kling asks (quit / background / cancel); quitting keeps the job.
    assert [a for a in interactions.asked if a[0] == "close"] == [("close", 1)]
    store = JobStore(app_paths().database)
    try:
        assert [j.state for j in store.all()] == [JobState.PROCESSING]
    finally:
        store.close()

    again, _context2 = real_window()
    job = _job_named(again, "long.mp4")
    assert job is not None and job.state in (
        JobState.PROCESSING,
        JobState.DOWNLOADING,
        JobState.DONE,
    )
    qtbot.waitUntil(lambda: _state_of(again, "long.mp4") is JobState.DONE, timeout=TIMEOUT_MS)
    assert simulator.submit_count == 1  # resumed by polling, never resubmitted
