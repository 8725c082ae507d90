"""Review: races between the engine's owner thread (its cached view of each job) and the
worker threads that write step outcomes."""

from __future__ import annotations

import time
import types
from pathlib import Path

import pytest

from kling_desktop.jobs import store as store_mod
from kling_desktop.jobs.model import JobState
from tests.fixtures.sim import wait_until
from tests.jobs.conftest import Engine

S = JobState


def test_remove_then_undo_while_the_submit_answer_is_not_yet_handled(
    engine: Engine, clip: Path
) -> None:
    # A slow upload, so the owner sees the job "uploading" first.
    engine.simulator.scenario.transfer_bytes_per_s = 40_000
    [job_id] = engine.add(clip)
    engine.wait_state(job_id, S.UPLOADING)
    # The owner thread is busy for a moment (a repaint, a dialog opening): the submit leaves
    # and its answer is stored, while the queued news has not been handled yet.
    assert wait_until(
        lambda: (j := engine.store.get(job_id)) is not None and j.task_id is not None, 30
    )
    assert engine.simulator.submit_count == 1
    assert engine.job(job_id).state in (S.QUEUED, S.UPLOADING)  # the owner's stale view
    # The user removes the row (nothing asked: it shows as a local upload), then Edit → Undo.
    removed = engine.runner.remove(job_id)
    engine.settle()
    stored_after_remove = engine.store.get(job_id)
    engine.runner.restore(removed)
    engine.settle()
    engine.qtbot.waitUntil(
        lambda: (j := engine.runner.job(job_id)) is not None and j.state.is_final, timeout=30_000
    )
    job = engine.store.get(job_id)
    print("removed snapshot:", removed, "\nstored after remove:", stored_after_remove)
    print("final:", job)
    assert engine.simulator.submit_count == 1, (
        f"{engine.simulator.submit_count} paid submits; confirmed "
        f"{job.confirmed_requests if job else '?'}; the first task "
        "was forgotten with the removed row"
    )


def test_a_wall_clock_step_back_during_a_submit_does_not_strand_the_paid_job(
    engine: Engine, clip: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    offset = [0.0]
    clock = types.SimpleNamespace(
        time=lambda: time.time() - offset[0], strftime=time.strftime, monotonic=time.monotonic
    )
    monkeypatch.setattr(store_mod, "time", clock)
    begin = engine.store.begin_submit

    def begin_then_step_back(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        job = begin(*args, **kwargs)  # type: ignore[arg-type]
        offset[0] = 5.0  # NTP steps the clock back by 5 s while the request is out
        return job

    monkeypatch.setattr(engine.store, "begin_submit", begin_then_step_back)
    [job_id] = engine.add(clip)
    try:
        engine.wait_state(job_id, S.DONE, S.FAILED, S.UNCERTAIN, timeout=20_000)
    finally:
        print("owner view:", engine.runner.job(job_id))
        print("stored:", engine.store.get(job_id))
    assert engine.job(job_id).state is S.DONE
    assert engine.simulator.submit_count == 1
