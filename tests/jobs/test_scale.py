"""200 jobs at once against a fast simulator (in its own process, so its threads don't count):
all finish, and the app's thread count stays bounded by its pools, not by the job count."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from kling_desktop.api.client import KlingClient
from kling_desktop.jobs.model import JobOptions, JobState
from kling_desktop.jobs.store import JobStore
from kling_desktop.runner.engine import JobRunner
from kling_desktop.simulator import DEMO_TOKEN
from tests.fixtures.media import ClipFactory
from tests.fixtures.sim import simulator_process
from tests.jobs.conftest import fast_settings

pytestmark = pytest.mark.slow
JOBS = 200


@pytest.fixture
def remote_simulator(tmp_path: Path) -> Iterator[str]:
    with simulator_process(tmp_path / "sim", task_seconds=1.0) as url:
        yield url


def _threads() -> int:
    return len(os.listdir("/proc/self/task"))


def test_200_jobs_finish_with_bounded_threads(
    qtbot: QtBot, tmp_path: Path, clip_factory: ClipFactory, remote_simulator: str
) -> None:
    clip = clip_factory("one.mp4", 3.0, width=64, height=64, fps=5)
    clips = []
    for i in range(JOBS):
        copy = tmp_path / "many" / f"clip{i:03}.mp4"
        copy.parent.mkdir(exist_ok=True)
        copy.write_bytes(clip.read_bytes())
        clips.append(copy)
    settings = fast_settings()
    settings.poll_interval_s = 1.0
    store = JobStore(tmp_path / "jobs.sqlite3")
    runner = JobRunner(
        store, lambda: KlingClient(remote_simulator, DEMO_TOKEN, backoff_s=0.05), settings
    )
    baseline = _threads()
    peak = [baseline]
    sampler = QTimer()
    sampler.timeout.connect(lambda: peak.__setitem__(0, max(peak[0], _threads())))
    sampler.start(50)
    try:
        runner.add_files(clips, JobOptions(email="demo@example.com"), start=True)
        qtbot.waitUntil(
            lambda: (
                len(runner.jobs()) == JOBS
                and all(j.state in (JobState.DONE, JobState.FAILED) for j in runner.jobs())
            ),
            timeout=240_000,
        )
    finally:
        sampler.stop()
        runner.shutdown()
        store.close()
    states = [j.state for j in runner.jobs()]
    assert states.count(JobState.DONE) == JOBS, {j.error_message for j in runner.jobs()}
    # Pools: 2 checks + 3 transfers + 4 network; Qt may add a couple of its own.
    print(f"threads: baseline {baseline}, peak {peak[0]}")
    assert peak[0] - baseline <= 14
