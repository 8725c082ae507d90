"""Review: races and faults on the money path (the engine's rows against the store thread,
clips of parts and takes, the commands, the simulator's faults), each attacked through the
real engine on a real store against the simulator.

A bug found has a test that failed before its fix; a hazard checked and found safe has a
passing test that proves it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from kling_desktop.jobs import parts
from kling_desktop.jobs.model import JobState
from tests.fixtures.media import ClipFactory
from tests.jobs.conftest import Engine

S = JobState


def _invariant(engine: Engine) -> None:
    """paid_submits ≤ confirmed_requests for every row; tasks at the service ≤ confirmed."""
    rows = engine.store.all()
    for row in rows:
        assert row.paid_submits <= row.confirmed_requests, row
    ours = [t for t in engine.simulator.tasks() if not t["foreign"]]
    assert len(ours) <= sum(r.confirmed_requests for r in rows)


# -- BUG: a finish that failed half way left a whole result behind that nothing lists --------


def test_a_finish_that_fails_half_way_then_retried_leaves_only_files_the_job_lists(
    engine: Engine, clip_factory: ClipFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The result is remuxed, then exporting its sound fails (the disk is full): the clip
    fails, Retry puts it together again (free) under a fresh name. The first try's result
    stayed as ``v.sound.mp4`` beside ``v.sound (2).mp4``, listed by no job."""
    from kling_desktop.media import sound

    real = sound.export_audio
    calls = [0]

    def export_audio(*args: Any, **kwargs: Any) -> Path:
        calls[0] += 1
        if calls[0] == 1:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(sound, "export_audio", export_audio)
    out = tmp_path / "out"
    out.mkdir()
    clip = clip_factory("v.mp4", 5.0, audio=True)
    [job_id] = engine.add(clip, export_audio="wav", output_dir=str(out))
    job = engine.wait_state(job_id, S.DONE, S.FAILED, timeout=60_000)
    engine.settle()
    assert job.state is S.FAILED and job.error_code == "finish_failed"
    assert os.listdir(out) == []  # nothing half made is left for the user to wonder about
    engine.runner.retry(job_id)
    job = engine.wait_state(job_id, S.DONE, timeout=60_000)
    engine.settle()
    assert job.output_path is not None
    listed = {job.output_path.name}
    listed |= {Path(p).name for files in parts.outputs(job).values() for p in files if p}
    assert set(os.listdir(out)) == listed
    assert engine.simulator.submit_count == 1
    _invariant(engine)


# -- BUG: a strict clip with takes, longer than "longest clip", stayed ready with nothing sent --


def test_a_strict_clip_of_takes_longer_than_the_longest_clip_setting_is_sent_when_started(
    engine: Engine, clip_factory: ClipFactory
) -> None:
    """Strict sends the clip as it is (never split), so the longest-clip setting does not
    apply to it — its check accepts it. But its plan carried that setting's refusal and no
    parts: with 2 takes (a clip of parts) "Add sound" made no requests, and the clip stayed
    ready, nothing sent and nothing said (add-sound exited 0)."""
    clip = clip_factory("strict.mp4", 10.0)
    [job_id] = engine.add(clip, strict=True, takes=2, max_length_s=5.0)
    engine.qtbot.waitUntil(
        lambda: engine.job(job_id).state.is_final and not engine.runner.is_starting(job_id),
        timeout=60_000,
    )
    engine.settle()
    job = engine.job(job_id)
    assert job.state is S.DONE, (job.state, job.error_message, job.warnings)
    assert engine.simulator.submit_count == engine.runner.paid_to_start(job_id) == 2
    _invariant(engine)
