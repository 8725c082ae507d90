"""The window's preview: it follows the selected row and resets when that row goes."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from kling_desktop.gui.preview import NO_TIME, PreviewPane
from kling_desktop.jobs.model import Job, JobState
from tests.fixtures.media import ClipFactory
from tests.gui.conftest import FakeWindowFactory

pytestmark = pytest.mark.qt_log_ignore("PulseAudioService", "No RHI backend", extend=True)


def _done_job(clip_factory: ClipFactory, job_id: int = 1) -> Job:
    original = clip_factory(f"clip{job_id}.mp4", 3.0)
    result = clip_factory(f"clip{job_id}.sound.mp4", 3.0, audio=True)
    return Job(id=job_id, input_path=original, state=JobState.DONE, output_path=result)


def test_the_preview_resets_when_its_row_is_removed(
    qtbot: QtBot, fake_window: FakeWindowFactory, clip_factory: ClipFactory
) -> None:
    job = _done_job(clip_factory)
    window, runner = fake_window(jobs=(job,))
    pane = window.preview
    assert isinstance(pane, PreviewPane)
    window.select_job(job.id)
    qtbot.waitUntil(lambda: pane.player.has_picture, timeout=5000)
    assert pane.player.source == job.output_path
    assert pane.result_button.isChecked() and pane.time_label.text() == "0:00 / 0:03"

    window.commands.remove_selected()
    assert runner.job(job.id) is None
    qtbot.waitUntil(lambda: pane.player.source is None, timeout=2000)
    assert not pane.result_button.isChecked() and not pane.original_button.isChecked()
    assert pane.time_label.text() == NO_TIME
    assert not pane.showing_picture and not pane.player.has_picture
    assert not pane.play_button.isEnabled()


def test_the_preview_resets_when_the_filter_hides_its_row(
    qtbot: QtBot, fake_window: FakeWindowFactory, clip_factory: ClipFactory
) -> None:
    from kling_desktop.gui.job_table import JobFilter

    job = _done_job(clip_factory)
    window, _runner = fake_window(jobs=(job,))
    pane = window.preview
    assert isinstance(pane, PreviewPane)
    window.select_job(job.id)
    qtbot.waitUntil(lambda: pane.player.loaded, timeout=5000)
    window.set_filter(JobFilter.FAILED)
    qtbot.waitUntil(lambda: pane.player.source is None, timeout=2000)
    assert pane.time_label.text() == NO_TIME


def test_a_missing_result_says_so_without_the_previous_length(
    qtbot: QtBot, fake_window: FakeWindowFactory, clip_factory: ClipFactory, tmp_path: Path
) -> None:
    first = _done_job(clip_factory, 1)
    gone = Job(
        id=2,
        input_path=tmp_path / "gone.mp4",
        state=JobState.DONE,
        output_path=tmp_path / "gone.sound.mp4",
    )
    window, _runner = fake_window(jobs=(first, gone))
    pane = window.preview
    assert isinstance(pane, PreviewPane)
    window.select_job(first.id)
    qtbot.waitUntil(lambda: pane.player.loaded, timeout=5000)
    with qtbot.waitSignal(pane.player.error, timeout=5000):
        window.select_job(gone.id)
    assert "gone.sound.mp4" in pane.note.text()
    assert pane.time_label.text() == NO_TIME
