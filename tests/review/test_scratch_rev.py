from __future__ import annotations
import os
from pathlib import Path
from typing import Any
import pytest
from tests.jobs.conftest import Engine
from tests.fixtures.media import ClipFactory
from kling_desktop.jobs.model import JobState as S
from kling_desktop.jobs import parts


def _invariant(engine: Engine) -> None:
    rows = engine.store.all()
    for row in rows:
        assert row.paid_submits <= row.confirmed_requests, row
    ours = [t for t in engine.simulator.tasks() if not t["foreign"]]
    assert len(ours) <= sum(r.confirmed_requests for r in rows)


def test_finish_fails_then_retry_leaves_no_orphans(
    engine: Engine, clip_factory: ClipFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from kling_desktop.media import sound

    real = sound.export_audio
    calls = [0]

    def export_audio(*a: Any, **k: Any) -> Path:
        calls[0] += 1
        if calls[0] == 1:
            raise OSError(28, "No space left on device")
        return real(*a, **k)

    monkeypatch.setattr(sound, "export_audio", export_audio)
    out = tmp_path / "out"
    out.mkdir()
    [job_id] = engine.add(
        clip_factory("v.mp4", 5.0, audio=True), export_audio="wav", output_dir=str(out)
    )
    job = engine.wait_state(job_id, S.DONE, S.FAILED, timeout=60_000)
    engine.settle()
    print(job.state, job.error_message, sorted(os.listdir(out)))
    assert job.state is S.FAILED
    engine.runner.retry(job_id)
    job = engine.wait_state(job_id, S.DONE, timeout=60_000)
    engine.settle()
    listed = {
        job.output_path.name,
        *(Path(p).name for v in parts.outputs(job).values() for p in v if p),
    }
    print(sorted(os.listdir(out)), listed)
    assert set(os.listdir(out)) == listed
    assert engine.simulator.submit_count == 1


def test_429_on_take_2_of_3(engine: Engine, clip_factory: ClipFactory) -> None:
    engine.settings.concurrency = 1
    sc = engine.simulator.scenario
    sc.task_seconds = 1.0
    [job_id] = engine.add(clip_factory("v.mp4", 5.0), takes=3)
    engine.qtbot.waitUntil(lambda: engine.simulator.submit_count >= 1, timeout=60_000)
    sc.submit_429 = 2
    job = engine.wait_state(job_id, S.DONE, S.FAILED, S.UNCERTAIN, timeout=90_000)
    engine.settle()
    print(
        job.state,
        job.error_message,
        [(r.state, r.paid_submits, r.confirmed_requests) for r in engine.store.children(job_id)],
    )
    assert job.state is S.DONE
    assert engine.simulator.submit_count == 3
    _invariant(engine)


@pytest.mark.parametrize(
    "fault",
    [
        "submit_500_after_create",
        "submit_redirect_after_create",
        "submit_400_nobody",
        "drop_submit_response",
        "submit_lost_other_client",
    ],
)
def test_fault_on_take_2_of_3(engine: Engine, clip_factory: ClipFactory, fault: str) -> None:
    engine.settings.concurrency = 1
    sc = engine.simulator.scenario
    sc.task_seconds = 1.0
    [job_id] = engine.add(clip_factory("v.mp4", 5.0), takes=3)
    engine.qtbot.waitUntil(lambda: engine.simulator.submit_count >= 1, timeout=60_000)
    setattr(sc, fault, 1)
    job = engine.wait_state(job_id, S.DONE, S.FAILED, S.UNCERTAIN, timeout=90_000)
    engine.settle()
    rows = engine.store.children(job_id)
    print(
        fault,
        job.state,
        job.error_message,
        [(r.state, r.task_id, r.paid_submits, r.confirmed_requests) for r in rows],
    )
    _invariant(engine)
    tids = [r.task_id for r in rows if r.task_id is not None]
    assert len(tids) == len(set(tids))
    foreign = {t["id"] for t in engine.simulator.tasks() if t["foreign"]}
    assert not (set(tids) & foreign)
