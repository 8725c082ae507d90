"""Many jobs processing on one account are checked with one task list a round, not one
request each — and only positive evidence from the list lets a job's own look-up wait."""

from __future__ import annotations

import re
from pathlib import Path

from pytestqt.qtbot import QtBot

from kling_desktop.api.models import Task
from kling_desktop.jobs import policy
from kling_desktop.jobs.model import Job, JobState
from kling_desktop.simulator import Scenario, Simulator
from tests.fixtures.media import ClipFactory
from tests.fixtures.sim import DEMO_EMAIL
from tests.jobs.conftest import Engine

S = JobState
_ONE_TASK = re.compile(r"/tasks/\d+$")


def test_eight_processing_jobs_are_checked_with_one_list_a_round(
    tmp_path: Path, qtbot: QtBot, clip_factory: ClipFactory
) -> None:
    simulator = Simulator(accounts=[(DEMO_EMAIL, 8)], scenario=Scenario(task_seconds=4.0))
    simulator.start()
    engine = Engine(tmp_path / "jobs.sqlite3", simulator, qtbot)
    try:
        _eight_jobs(engine, clip_factory)
    finally:
        engine.close()
        simulator.stop()


def _eight_jobs(engine: Engine, clip_factory: ClipFactory) -> None:
    engine.settings.poll_interval_s = 0.5
    engine.settings.concurrency = 8
    clips = [clip_factory(f"clip{i}.mp4", 3.0) for i in range(8)]
    ids = engine.add(*clips)
    for job_id in ids:
        assert engine.wait_state(job_id, S.DONE, S.FAILED, timeout=60_000).state is S.DONE
    paths = [r.path for r in engine.simulator.requests if r.method == "GET"]
    alone = sum(1 for p in paths if _ONE_TASK.search(p))
    lists = sum(1 for p in paths if p.rstrip("/").endswith("/tasks"))
    assert lists >= 2
    # Polled one by one, 8 jobs × ~8 rounds of 0.5 s would be ~60 look-ups; with the list,
    # each job is looked up alone about once (to act on its end) plus the first rounds.
    assert alone <= 3 * len(ids), (alone, lists)
    assert len(engine.simulator.tasks()) == 8


def _job(**fields: object) -> Job:
    base = Job(id=1, input_path=Path("/c.mp4"), state=S.PROCESSING, task_id=7, submitted_at=100.0)
    return base.replace(**fields)


def test_only_a_listed_task_with_a_running_status_lets_the_look_up_wait() -> None:
    running = Task(id=7, status=10, status_name="processing")
    assert policy.still_running(_job(), running, now=110.0)
    assert not policy.still_running(_job(), None, now=110.0)  # not in the list
    assert not policy.still_running(_job(), Task(id=7), now=110.0)  # no status given
    done = Task(id=7, status=99, status_name="succeed", status_final=True)
    assert not policy.still_running(_job(), done, now=110.0)  # its end is looked up alone
    assert not policy.still_running(_job(task_id=8), running, now=110.0)
    late = 100.0 + policy.PROCESSING_LIMIT_S + 1
    assert not policy.still_running(_job(), running, now=late)  # the time limit decides alone
