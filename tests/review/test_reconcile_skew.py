"""Review: reconcile by our upload as the task's input, with the computer's clock a few
minutes ahead of the service's."""

from __future__ import annotations

import time
from pathlib import Path

from kling_desktop.jobs.model import JobState
from kling_desktop.runner.engine import JobRunner
from tests.jobs.conftest import Engine

S = JobState


def run_lost_answer(engine: Engine, clip: Path, skew_s: float) -> None:
    engine.runner.shutdown()
    engine.runner = JobRunner(
        engine.store,
        engine._client,
        engine.settings,
        transfer_backoff_s=0.02,
        reconcile_backoff_s=0.2,
        clock=lambda: time.time() + skew_s,  # this computer's clock vs the service's
    )
    scenario = engine.simulator.scenario
    scenario.task_seconds = 0.5
    scenario.drop_submit_response = 1  # created and charged, the answer never comes
    scenario.late_task_seconds = 1.5  # and it shows up only once it has finished
    [job_id] = engine.add(clip)
    engine.wait_state(job_id, S.UNCERTAIN, S.DONE, timeout=20_000)
    engine.qtbot.waitUntil(lambda: engine.job(job_id).state is S.DONE, timeout=15_000)
    assert engine.simulator.submit_count == 1


def test_control_no_skew_the_late_task_is_found_by_its_input(engine: Engine, clip: Path) -> None:
    run_lost_answer(engine, clip, 0.0)


def test_a_clock_five_minutes_ahead_still_finds_the_task_by_its_input(
    engine: Engine, clip: Path
) -> None:
    run_lost_answer(engine, clip, 300.0)
