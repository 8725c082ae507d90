"""The table model's bookkeeping: rows by job id and the ticking clock, kept per event."""

from __future__ import annotations

import threading
from pathlib import Path

from pytestqt.qtbot import QtBot

from kling_desktop.gui.job_table import JobTableModel
from kling_desktop.jobs.model import Job, JobState
from tests.gui.fakes import FakeRunner


def _jobs(*states: JobState) -> tuple[Job, ...]:
    return tuple(
        Job(id=i, input_path=Path(f"/clips/{i}.mp4"), state=state)
        for i, state in enumerate(states, start=1)
    )


def test_rows_follow_adds_and_removals(qtbot: QtBot) -> None:
    runner = FakeRunner(_jobs(JobState.DONE, JobState.DONE, JobState.DONE))
    model = JobTableModel(runner)  # type: ignore[arg-type]
    assert [model.row_of(i) for i in (1, 2, 3)] == [0, 1, 2]
    runner.remove(2)
    assert [model.row_of(i) for i in (1, 2, 3)] == [0, -1, 1]
    assert model.job_at(model.row_of(3)) == runner.job(3)
    runner.remove(1)
    assert model.row_of(3) == 0 and model.rowCount() == 1


def test_the_clock_runs_only_while_a_job_is_timed(qtbot: QtBot) -> None:
    runner = FakeRunner(_jobs(JobState.READY, JobState.PROCESSING))
    model = JobTableModel(runner)  # type: ignore[arg-type]
    assert model._clock.isActive()
    runner.set_state(1, JobState.PROCESSING)
    runner.set_state(2, JobState.DONE)
    assert model._clock.isActive()
    with qtbot.waitSignal(model.dataChanged, timeout=3000) as blocker:
        pass  # the clock ticks the row still processing
    assert blocker.args[0].row() == model.row_of(1)
    runner.set_state(1, JobState.DONE)
    assert not model._clock.isActive()


def test_a_wait_before_the_next_try_counts_down(qtbot: QtBot) -> None:
    from kling_desktop.gui.job_texts import status_text
    from kling_desktop.runner.engine import Progress

    runner = FakeRunner(_jobs(JobState.WAITING_SLOT))
    model = JobTableModel(runner)  # type: ignore[arg-type]
    job = runner.job(1)
    assert job is not None
    wait = Progress(None, "Waiting for a free slot", until=1000.0)
    assert status_text(job, wait, now=991.0) == "Waiting for a free slot · next try in 9 s"
    assert status_text(job, wait, now=995.2) == "Waiting for a free slot · next try in 5 s"
    runner.set_state(1, JobState.QUEUED)
    runner.set_progress(1, Progress(None, "Upload interrupted", until=10**10))
    assert model._clock.isActive()  # the row is redrawn every second while it waits
    with qtbot.waitSignal(model.dataChanged, timeout=3000) as blocker:
        pass
    assert blocker.args[0].row() == model.row_of(1)


def test_a_thumbnail_finished_after_the_list_is_gone_goes_nowhere(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """The window closed while a thumbnail was being made: its late picture is dropped, not
    handed to a model whose Qt object is gone (a RuntimeError in the event loop)."""
    import shiboken6
    from PySide6.QtCore import QCoreApplication, QThreadPool
    from PySide6.QtGui import QColor, QImage

    picture = tmp_path / "thumb.png"
    image = QImage(16, 9, QImage.Format.Format_RGB32)
    image.fill(QColor("red"))
    assert image.save(str(picture))
    started, release = threading.Event(), threading.Event()

    def slow_thumbnail(_path: Path) -> Path | None:
        started.set()
        release.wait(10)
        return picture

    runner = FakeRunner(_jobs(JobState.READY))
    model = JobTableModel(runner, thumbnail_maker=slow_thumbnail)  # type: ignore[arg-type]
    assert started.wait(10)
    shiboken6.delete(model)
    release.set()
    assert QThreadPool.globalInstance().waitForDone(10_000)
    QCoreApplication.processEvents()  # the late outcome arrives here: nothing must raise
