"""Clips of parts through the real engine and the simulator: one paid request per part ×
take, each paid once whatever happens; the clip shows its requests; Retry, Send again,
Remove, Undo, a restart and a remix act on them as the user expects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import pytest

from kling_desktop.jobs import parts
from kling_desktop.jobs.model import Job, JobOptions, JobState
from kling_desktop.jobs.policy import RetryKind
from kling_desktop.media.prepare import Part, Plan
from kling_desktop.runner.book import JobBook
from tests.fixtures.media import ClipFactory
from tests.jobs.conftest import Engine

S = JobState


def _length(path: Path) -> float:
    with av.open(str(path)) as container:
        return float(container.duration or 0) / 1_000_000


def _paid_once(engine: Engine, clip_id: int, expected: int) -> list[Job]:
    requests = engine.runner.requests_of(clip_id)
    assert len(requests) == expected
    for request in requests:
        assert request.paid_submits == request.confirmed_requests == 1, request
    task_ids = {r.task_id for r in requests}
    assert len(task_ids) == expected and None not in task_ids
    return requests


def test_a_long_clip_is_three_paid_requests_and_one_result(
    engine: Engine, clip_factory: ClipFactory
) -> None:
    clip = clip_factory("long.mp4", 45.0, audio=True)
    seen: list[S] = []
    engine.runner.job_changed.connect(lambda j: seen.append(j.state))
    [job_id] = engine.add(clip)
    with engine.qtbot.waitSignal(engine.runner.batch_finished, timeout=60_000) as batch:
        pass
    job = engine.job(job_id)
    assert job.state is S.DONE, job.error_message
    assert [j.id for j in batch.args[0].done] == [job_id]  # one summary, for the clip
    assert [j.id for j in engine.runner.jobs()] == [job_id]  # the requests are not listed
    _paid_once(engine, job_id, 3)
    assert len(engine.simulator.tasks()) == 3
    assert S.FINISHING in seen and S.PARTS not in seen  # the stored PARTS is never shown
    assert job.output_path == clip.with_name("long.sound.mp4")
    assert abs(_length(job.output_path) - 45.0) < 0.1
    # The clip row never pays: its own counters stay zero in the store.
    stored = engine.store.get(job_id)
    assert stored is not None and stored.confirmed_requests == stored.paid_submits == 0


def test_a_lost_submit_answer_of_one_part_is_found_not_paid_again(
    engine: Engine, clip_factory: ClipFactory
) -> None:
    engine.simulator.scenario.drop_submit_response = 1
    [job_id] = engine.add(clip_factory("long.mp4", 30.0))
    job = engine.wait_state(job_id, S.DONE, S.FAILED, S.UNCERTAIN, timeout=60_000)
    assert job.state is S.DONE, job.error_message
    _paid_once(engine, job_id, 2)
    assert len(engine.simulator.tasks()) == 2


def test_a_failed_part_is_sent_again_alone_and_only_when_asked(
    engine: Engine, clip_factory: ClipFactory
) -> None:
    engine.settings.concurrency = 1  # parts go one after another
    engine.simulator.scenario.final_failure = True
    [job_id] = engine.add(clip_factory("long.mp4", 45.0))
    engine.qtbot.waitUntil(lambda: len(engine.simulator.tasks()) >= 1, timeout=30_000)
    engine.simulator.scenario.final_failure = False  # only the first part's task fails
    job = engine.wait_state(job_id, S.FAILED, S.DONE, S.FINISHING, timeout=60_000)
    engine.settle()
    job = engine.job(job_id)
    assert job.state is S.FAILED
    assert job.error_message.startswith("Part 1 of 3:")
    assert engine.runner.retry_kind(job_id) is RetryKind.RESUBMIT
    assert engine.runner.paid_to_resend(job_id) == 1
    engine.runner.retry(job_id)  # Retry never pays
    engine.settle()
    assert len(engine.simulator.tasks()) == 3

    engine.runner.resubmit(job_id)  # the user confirmed one new paid job
    job = engine.wait_state(job_id, S.DONE, timeout=60_000)
    assert len(engine.simulator.tasks()) == 4
    first, *others = engine.runner.requests_of(job_id)
    assert first.paid_submits == first.confirmed_requests == 2
    assert all(r.paid_submits == r.confirmed_requests == 1 for r in others)
    assert job.output_path is not None and abs(_length(job.output_path) - 45.0) < 0.1


def test_a_restart_between_parts_pays_each_part_once(
    engine: Engine, clip_factory: ClipFactory
) -> None:
    engine.settings.concurrency = 1
    [job_id] = engine.add(clip_factory("long.mp4", 45.0))
    engine.qtbot.waitUntil(lambda: len(engine.simulator.tasks()) == 1, timeout=30_000)
    engine.restart()
    engine.runner.resume()
    job = engine.wait_state(job_id, S.DONE, S.FAILED, S.UNCERTAIN, timeout=60_000)
    assert job.state is S.DONE, job.error_message
    _paid_once(engine, job_id, 3)
    assert len(engine.simulator.tasks()) == 3


def test_remove_takes_the_requests_along_and_undo_brings_them_back(
    engine: Engine, clip_factory: ClipFactory
) -> None:
    [job_id] = engine.add(clip_factory("long.mp4", 25.0))
    engine.wait_state(job_id, S.DONE, timeout=60_000)
    removed = engine.runner.remove(job_id)
    engine.settle()
    assert engine.store.all() == [] and engine.runner.jobs() == []
    engine.runner.restore(removed)
    engine.settle()
    assert [j.id for j in engine.runner.jobs()] == [job_id]
    assert len(engine.runner.requests_of(job_id)) == 2
    assert engine.job(job_id).state is S.DONE


def test_takes_and_options_before_sending_and_a_free_remix_after(
    engine: Engine, clip_factory: ClipFactory
) -> None:
    clip = clip_factory("voice.mp4", 5.0, audio=True)
    [job_id] = engine.add(clip, start=False)
    engine.wait_state(job_id, S.READY)
    assert engine.runner.paid_to_start(job_id) == 1
    assert engine.runner.set_options([job_id], takes=2) == [job_id]
    engine.settle()
    assert engine.runner.paid_to_start(job_id) == 2
    engine.runner.start([job_id])
    job = engine.wait_state(job_id, S.DONE, S.FAILED, timeout=60_000)
    assert job.state is S.DONE, job.error_message
    assert len(engine.simulator.tasks()) == 2
    takes = parts.outputs(job)["takes"]
    assert takes[0] == "" and Path(takes[1]).name == "voice.sound.take2.mp4"
    # Once sent, the number of takes no longer changes; a done clip is remixed instead.
    assert engine.runner.set_options([job_id], takes=4) == []
    before = job.output_path.stat().st_mtime_ns if job.output_path else 0
    assert engine.runner.remix(job_id, original_volume=0.5, take=1)
    engine.settle(timeout=30_000)
    job = engine.job(job_id)
    assert job.options.original_volume == 0.5 and job.options.take == 1
    assert job.output_path is not None and job.output_path.stat().st_mtime_ns != before
    assert len(engine.simulator.tasks()) == 2  # nothing paid


def test_a_clip_that_was_one_request_is_remixed_for_free(
    engine: Engine, clip_factory: ClipFactory
) -> None:
    clip = clip_factory("plain.mp4", 4.0, audio=True)
    [job_id] = engine.add(clip)
    job = engine.wait_state(job_id, S.DONE, timeout=30_000)
    assert job.requests == 0 and job.task_id is not None
    assert engine.runner.remix(job_id, original_volume=1.0, export_audio="wav")
    engine.settle(timeout=30_000)
    job = engine.job(job_id)
    assert job.requests == 1 and job.state is S.DONE
    [request] = engine.runner.requests_of(job_id)
    assert request.paid_submits == request.confirmed_requests == 1  # its paid history moved
    assert clip.with_name("plain.sound.wav").is_file()
    assert len(engine.simulator.tasks()) == 1


def test_the_clip_shows_the_request_furthest_behind_while_any_is_at_work() -> None:
    clip = Job(id=1, input_path=Path("/c.mp4"), state=S.PARTS, requests=3, options=JobOptions())
    rows = [
        Job(id=2, input_path=Path("/p1"), state=S.FAILED, parent_id=1, error_message="Kling."),
        Job(id=3, input_path=Path("/p2"), state=S.PROCESSING, parent_id=1, part_index=1),
        Job(id=4, input_path=Path("/p3"), state=S.DONE, parent_id=1, part_index=2),
    ]
    assert parts.view(clip, rows).state is S.PROCESSING  # not "ended" while one still runs
    rows[1] = rows[1].replace(state=S.DONE)
    shown = parts.view(clip, rows)
    assert shown.state is S.FAILED and "Kling." in shown.error_message
    assert parts.view(clip, [r.replace(state=S.DONE) for r in rows]).state is S.FINISHING


def test_the_cache_of_a_removed_clip_is_cleared_on_the_next_start(
    engine: Engine, clip_factory: ClipFactory
) -> None:
    [kept_id] = engine.add(clip_factory("kept.mp4", 25.0))
    [gone_id] = engine.add(clip_factory("gone.mp4", 25.0))
    engine.wait_state(kept_id, S.DONE, timeout=60_000)
    gone = engine.wait_state(gone_id, S.DONE, timeout=60_000)
    cache = engine.db.parent / "cache"
    kept_folder = parts.folder(cache, engine.job(kept_id))
    gone_folder = parts.folder(cache, gone)
    assert kept_folder.is_dir() and gone_folder.is_dir()
    engine.runner.remove(gone_id)
    engine.settle()
    assert gone_folder.is_dir()  # Undo may still bring it back in this session
    engine.restart()
    engine.runner.resume()
    engine.settle()
    assert not gone_folder.exists()
    assert kept_folder.is_dir()  # Kling's sound of a listed clip stays, for remixing
    assert list(kept_folder.glob("part*.sound*.mp4"))


def test_a_part_that_cannot_be_prepared_is_not_sent_and_retries_for_free(
    engine: Engine, clip_factory: ClipFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kling_desktop.media import prepare

    real = prepare.prepare_part
    broken = [True]

    def prepare_part(*args: Any, **kwargs: Any) -> Path:
        if broken[0]:
            raise prepare.PrepareError("the disk is full")
        return real(*args, **kwargs)

    monkeypatch.setattr(prepare, "prepare_part", prepare_part)
    [job_id] = engine.add(clip_factory("short.mp4", 1.5))
    job = engine.wait_state(job_id, S.FAILED, S.DONE, timeout=30_000)
    assert job.state is S.FAILED
    assert job.error_message == (
        "The clip could not be prepared for the upload: the disk is full. Nothing was sent; "
        "Retry tries again (free)."
    )
    assert engine.runner.retry_kind(job_id) is RetryKind.SEND
    assert not engine.simulator.tasks() and not engine.simulator.requests
    broken[0] = False
    engine.runner.retry(job_id)
    job = engine.wait_state(job_id, S.DONE, timeout=30_000)
    _paid_once(engine, job_id, 1)


def test_two_processes_starting_one_clip_make_its_requests_once(tmp_path: Path) -> None:
    """Two job lists on one file (two processes) both press "Add sound" on a ready clip of
    three parts: the requests — each a confirmed paid request — are made once."""
    from kling_desktop.jobs.store import JobStore
    from kling_desktop.media.prepare import Part, Plan

    plan = Plan(
        duration_s=45.0,
        parts=(Part(0, 0.0, 15.0), Part(1, 15.0, 30.0), Part(2, 30.0, 45.0)),
        steps=("split",),
    )
    first, second = JobStore(tmp_path / "jobs.sqlite3"), JobStore(tmp_path / "jobs.sqlite3")
    clip = first.add(tmp_path / "long.mp4", JobOptions(), state=S.READY)
    first.update(clip.id, plan=plan.to_json())
    made = [
        store.start_parts(clip.id, lambda c: parts.requests_for(c, tmp_path, 0.0), parts.started)
        for store in (first, second)
    ]
    assert [len(requests) for _, requests in made] == [3, 0]
    rows = second.all()
    assert sum(r.confirmed_requests for r in rows) == 3
    assert [r.state for r in rows] == [S.PARTS, S.QUEUED, S.QUEUED, S.QUEUED]
    first.close()
    second.close()


def test_a_running_clip_says_its_count_first_then_the_part_furthest_behind() -> None:
    """A narrow row cuts its text at the end: the count must come first."""
    plan = Plan(45.0, tuple(Part(i, i * 15.0, (i + 1) * 15.0) for i in range(3)), ("split",))
    clip = Job(id=1, input_path=Path("long.mp4"), state=JobState.PARTS, requests=3,
               plan=plan.to_json())  # fmt: skip
    states = (JobState.DONE, JobState.PROCESSING, JobState.WAITING_SLOT)
    requests = [
        Job(id=2 + i, input_path=Path("long.mp4"), state=state, parent_id=1, part_index=i)
        for i, state in enumerate(states)
    ]
    book = JobBook([clip, *requests])
    assert book.progress_of(1, lambda: False).text == (
        "1 of 3 parts done · part 3: Waiting for a free slot"
    )


def test_add_sound_on_a_clip_with_parts_cancelled_back_counts_only_those() -> None:
    """The question counts what "Add sound" sends: the parts that are ready again."""
    plan = Plan(45.0, tuple(Part(i, i * 15.0, (i + 1) * 15.0) for i in range(3)), ("split",))
    clip = Job(id=1, input_path=Path("long.mp4"), state=JobState.PARTS, requests=6,
               plan=plan.to_json(), options=JobOptions(takes=2))  # fmt: skip
    states = [JobState.DONE, JobState.READY, JobState.PROCESSING] * 2
    requests = [
        Job(
            id=2 + i,
            input_path=Path("long.mp4"),
            state=state,
            parent_id=1,
            part_index=i % 3,
            take_index=i // 3,
        )
        for i, state in enumerate(states)
    ]
    book = JobBook([clip, *requests])
    assert book.paid_to_start(1) == 2  # part 2 of each take, not 3 parts × 2 takes
