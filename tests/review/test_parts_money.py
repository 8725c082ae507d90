"""Review: money of clips of parts (one paid request per part × take), attacked through the
real engine on a real store against the simulator.

A real bug had a test that failed (each is fixed now, its test kept as the proof); a
hazard that was checked and found safe has a passing test that proves it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kling_desktop.cli import resolve as resolve_cli
from kling_desktop.jobs.model import IllegalTransition, Job, JobState
from kling_desktop.jobs.store import SubmitNotAllowed
from tests.fixtures.media import ClipFactory
from tests.jobs.conftest import Engine, assert_paid_within_confirmed

S = JobState


# -- helpers -------------------------------------------------------------------------------


def _stored_requests(engine: Engine, clip_id: int) -> list[Job]:
    return engine.store.children(clip_id)


def _states(engine: Engine, clip_id: int) -> list[S]:
    return [r.state for r in _stored_requests(engine, clip_id)]


def _wait_requests(engine: Engine, clip_id: int, *states: S, timeout: int = 60_000) -> list[Job]:
    """Wait until the clip's stored requests are (in part order) in ``states``, and the
    runner's cache agrees."""

    def there() -> bool:
        stored = _states(engine, clip_id)
        cached = [r.state for r in engine.runner.requests_of(clip_id)]
        return stored == list(states) and cached == list(states)

    engine.qtbot.waitUntil(there, timeout=timeout)
    return _stored_requests(engine, clip_id)


def _one_uncertain_part(engine: Engine, clip_factory: ClipFactory, *, second: str) -> int:
    """A clip of two parts (25 s), sent one part after the other: part 1's submit creates its
    task but the answer is lost and the task stays invisible for 10 minutes (→ uncertain);
    part 2 ends ``second`` ("done" or "kling_failed")."""
    engine.settings.concurrency = 1
    scenario = engine.simulator.scenario
    scenario.drop_submit_response = 1
    scenario.late_task_seconds = 600.0
    scenario.task_seconds = 1.0
    scenario.final_failure = second == "kling_failed"
    [job_id] = engine.add(clip_factory("long.mp4", 25.0))
    _wait_requests(engine, job_id, S.UNCERTAIN, S.DONE if second == "done" else S.FAILED)
    engine.settle()
    scenario.final_failure = False
    return job_id


# -- BUG: the count the user confirms is not the count "Add sound" pays ----------------------


def test_takes_changed_just_before_add_sound_pay_what_the_confirmation_showed(
    engine: Engine, clip_factory: ClipFactory
) -> None:
    clip = clip_factory("voice.mp4", 5.0, audio=True)
    [job_id] = engine.add(clip, start=False)
    engine.wait_state(job_id, S.READY)
    engine.settle()
    # The sound panel: 3 takes (written on the store thread, news comes back later) …
    assert engine.runner.set_options([job_id], takes=3) == [job_id]
    # … and Add sound at once: the confirmation counts the paid jobs from the runner now.
    shown = engine.runner.paid_to_start(job_id)
    # The modal dialog runs the event loop while the user reads it: the options' news lands.
    engine.qtbot.wait(300)
    engine.runner.start([job_id], paid={job_id: shown})  # what the user confirmed
    engine.settle()
    assert_paid_within_confirmed(engine)
    paid = engine.simulator.submit_count
    assert paid <= shown
    job = engine.job(job_id)  # not sent: it stays ready and says why
    assert job.state is S.READY and "Press Add sound again" in job.warnings
    assert engine.runner.paid_to_start(job_id) == 3
    # Asked again with the right count, it goes.
    engine.runner.start([job_id], paid={job_id: 3})
    assert engine.wait_state(job_id, S.DONE, S.FAILED, timeout=60_000).state is S.DONE
    assert engine.simulator.submit_count == 3


# -- BUG: resolve --found on a clip of parts -------------------------------------------------


def test_resolve_found_refuses_a_task_that_another_part_already_holds(
    engine: Engine, clip_factory: ClipFactory
) -> None:
    job_id = _one_uncertain_part(engine, clip_factory, second="done")
    first, second = _stored_requests(engine, job_id)
    assert second.task_id is not None and first.task_id is None
    act, refusal = resolve_cli._found(engine.runner, engine.job(job_id), second.task_id)
    print("resolve --found says:", refusal or "tracking it")
    if act is not None:
        act()
        engine.qtbot.waitUntil(
            lambda: engine.store.get(first.id).state is not S.UNCERTAIN,  # type: ignore[union-attr]
            timeout=10_000,
        )
        engine.settle()
    first = engine.store.get(first.id)  # type: ignore[assignment]
    print("part 1 after resolve:", first)
    # Two parts never share one Kling task (part 2's sound is not part 1's).
    assert first.task_id != second.task_id


def test_found_on_a_clip_goes_to_its_uncertain_part_not_to_a_part_that_never_left(
    engine: Engine, clip_factory: ClipFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kling_desktop.media import prepare

    real = prepare.prepare_part

    def prepare_part(source: Path, plan: Any, part: Any, *args: Any, **kwargs: Any) -> Path:
        if part.index == 0:  # part 1's upload cannot be made (the disk is full)
            raise prepare.PrepareError("the disk is full")
        return real(source, plan, part, *args, **kwargs)

    monkeypatch.setattr(prepare, "prepare_part", prepare_part)
    engine.settings.concurrency = 1
    scenario = engine.simulator.scenario
    scenario.drop_submit_response = 1  # part 2's submit: created, answer lost …
    scenario.late_task_seconds = 600.0  # … and not to be seen for 10 minutes
    [job_id] = engine.add(clip_factory("long.mp4", 25.0))
    never_left, uncertain = _wait_requests(engine, job_id, S.FAILED, S.UNCERTAIN)
    engine.settle()
    assert never_left.paid_submits == 0 and never_left.error_code == "prepare_failed"
    assert engine.job(job_id).state is S.UNCERTAIN  # the clip shows its uncertain part
    [task] = engine.simulator.tasks()  # the user finds it in their Kling account
    act, refusal = resolve_cli._found(engine.runner, engine.job(job_id), task["id"])
    assert act is not None, refusal
    act()
    engine.qtbot.waitUntil(
        lambda: any(r.task_id == task["id"] for r in _stored_requests(engine, job_id)),
        timeout=10_000,
    )
    never_left, uncertain = _stored_requests(engine, job_id)
    print("never left:", never_left, "\nuncertain:", uncertain)
    assert_paid_within_confirmed(engine)
    assert never_left.task_id is None  # it never sent anything: the task is not its
    assert uncertain.task_id == task["id"]


# -- BUG: resolve --resend on a clip pays for more than it says ------------------------------


def test_resolve_resend_on_a_clip_pays_only_what_it_announces(
    engine: Engine, clip_factory: ClipFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    job_id = _one_uncertain_part(engine, clip_factory, second="kling_failed")
    assert engine.job(job_id).state is S.UNCERTAIN
    before = engine.simulator.submit_count
    assert before == 2
    act, refusal = resolve_cli._resend(engine.runner, engine.job(job_id))
    announced = capsys.readouterr().err
    assert act is not None, refusal
    act()
    engine.qtbot.waitUntil(lambda: engine.simulator.submit_count > before, timeout=30_000)
    engine.qtbot.wait(1500)  # a second paid request, if any, has time to leave
    engine.settle()
    paid = engine.simulator.submit_count - before
    print(f"announced: {announced.strip()!r}; paid {paid}")
    assert_paid_within_confirmed(engine)
    assert "a new paid Kling job" in announced
    assert paid == 1


# -- checked and found safe ------------------------------------------------------------------


def test_after_a_remix_neither_the_clip_row_nor_its_new_request_can_pay_again(
    engine: Engine, clip_factory: ClipFactory
) -> None:
    """as_parts moves a done clip's paid history to a new request row: neither row can be
    sent again, by the store or by any user action, and a restart changes nothing."""
    [job_id] = engine.add(clip_factory("plain.mp4", 4.0, audio=True))
    done = engine.wait_state(job_id, S.DONE, timeout=30_000)
    task_id = done.task_id
    assert engine.runner.remix(job_id, original_volume=1.0)
    engine.settle(timeout=30_000)
    [request] = engine.runner.requests_of(job_id)
    clip_row = engine.store.get(job_id)
    assert clip_row is not None and clip_row.task_id is None
    assert clip_row.confirmed_requests == clip_row.paid_submits == 0
    assert request.task_id == task_id and request.paid_submits == request.confirmed_requests
    for row_id in (job_id, request.id):
        with pytest.raises((SubmitNotAllowed, IllegalTransition)):
            engine.store.begin_submit(row_id, time.time())
    for row_id in (job_id, request.id):
        engine.runner.retry(row_id)
        engine.runner.resubmit(row_id)
        engine.runner.resolve_uncertain(row_id, resubmit=True)
        engine.runner.start([row_id])
    engine.settle()
    engine.restart()
    engine.runner.resume()
    engine.settle(timeout=30_000)
    engine.qtbot.wait(500)
    engine.settle()
    assert_paid_within_confirmed(engine)
    assert engine.simulator.submit_count == 1
    assert engine.job(job_id).state is S.DONE


def test_remove_and_undo_while_one_part_uploads_and_one_processes_pays_each_part_once(
    engine: Engine, clip_factory: ClipFactory
) -> None:
    engine.settings.concurrency = 1
    engine.simulator.scenario.transfer_bytes_per_s = 60_000  # slow uploads
    engine.simulator.scenario.task_seconds = 4.0
    [job_id] = engine.add(clip_factory("long.mp4", 25.0))
    engine.qtbot.waitUntil(
        lambda: _states(engine, job_id) == [S.PROCESSING, S.UPLOADING], timeout=60_000
    )
    removed = engine.runner.remove(job_id)
    assert [j.id for j in removed] == [job_id]
    engine.settle()
    assert engine.store.all() == []
    engine.runner.restore(removed)
    job = engine.wait_state(job_id, S.DONE, S.FAILED, S.UNCERTAIN, timeout=60_000)
    engine.settle()
    assert job.state is S.DONE, job.error_message
    assert_paid_within_confirmed(engine)
    assert engine.simulator.submit_count == 2
    for request in _stored_requests(engine, job_id):
        assert request.paid_submits == request.confirmed_requests == 1


@pytest.mark.parametrize("at", ["queued", "uploading", "uncertain"])
def test_a_restart_at_each_step_of_a_clip_of_parts_pays_each_part_once(
    engine: Engine, clip_factory: ClipFactory, at: str
) -> None:
    engine.settings.concurrency = 1
    scenario = engine.simulator.scenario
    scenario.task_seconds = 1.0
    if at == "uploading":
        scenario.transfer_bytes_per_s = 60_000
    if at == "uncertain":
        scenario.drop_submit_response = 1
        scenario.late_task_seconds = 3.0
    [job_id] = engine.add(clip_factory("long.mp4", 25.0))
    wanted: Callable[[list[S]], bool] = {
        "queued": lambda s: len(s) == 2,  # right after start_parts
        "uploading": lambda s: S.UPLOADING in s,
        "uncertain": lambda s: S.UNCERTAIN in s,
    }[at]
    engine.qtbot.waitUntil(lambda: wanted(_states(engine, job_id)), timeout=60_000)
    engine.restart()
    engine.runner.resume()
    job = engine.wait_state(job_id, S.DONE, S.FAILED, timeout=60_000)
    engine.settle()
    assert job.state is S.DONE, job.error_message
    assert_paid_within_confirmed(engine)
    assert engine.simulator.submit_count == 2
    for request in _stored_requests(engine, job_id):
        assert request.paid_submits == request.confirmed_requests == 1


def test_cancel_of_a_clip_while_a_part_is_submitting_sends_nothing_more(
    engine: Engine, clip_factory: ClipFactory
) -> None:
    """Cancel reaches every request; the one already being sent keeps its one paid request
    (its lost answer is found by replyRef), the others go back to Ready and send nothing
    until Add sound is pressed again."""
    engine.settings.concurrency = 1
    scenario = engine.simulator.scenario
    scenario.drop_submit_response = 1
    scenario.late_task_seconds = 2.0
    [job_id] = engine.add(clip_factory("long.mp4", 25.0))
    engine.qtbot.waitUntil(
        lambda: _states(engine, job_id)[:1] in ([S.SUBMITTING], [S.UNCERTAIN]), timeout=60_000
    )
    engine.runner.cancel(job_id)
    engine.qtbot.waitUntil(lambda: _states(engine, job_id) == [S.DONE, S.READY], timeout=60_000)
    engine.settle()
    engine.qtbot.wait(500)
    assert engine.simulator.submit_count == 1
    engine.runner.start([job_id])  # Add sound again: the part that never left goes now
    job = engine.wait_state(job_id, S.DONE, S.FAILED, timeout=60_000)
    engine.settle()
    assert job.state is S.DONE, job.error_message
    assert_paid_within_confirmed(engine)
    assert engine.simulator.submit_count == 2


def test_one_task_list_for_many_jobs_never_gives_a_job_another_jobs_task(
    engine: Engine, clip_factory: ClipFactory
) -> None:
    engine.simulator.scenario.task_seconds = 3.0
    engine.settings.concurrency = 3
    clips = [clip_factory(f"c{i}.mp4", 4.0) for i in range(5)]
    ids = engine.add(*clips)
    for job_id in ids:
        engine.wait_state(job_id, S.DONE, S.FAILED, S.UNCERTAIN, timeout=60_000)
    engine.settle()
    jobs = [engine.store.get(i) for i in ids]
    assert all(j is not None and j.state is S.DONE for j in jobs), jobs
    by_ref = {t["reply_ref"]: t["id"] for t in engine.simulator.tasks()}
    for job in jobs:
        assert job is not None and by_ref[job.reply_ref] == job.task_id
    assert engine.simulator.submit_count == 5
    assert_paid_within_confirmed(engine)


def test_two_runners_on_one_job_list_both_starting_and_running_one_clip_pay_each_part_once(
    engine: Engine, clip_factory: ClipFactory
) -> None:
    """Two processes on one data folder (two stores on one file, two runners): both press
    Add sound on the same ready clip of parts and both carry its requests on."""
    from kling_desktop.jobs.store import JobStore
    from kling_desktop.runner.engine import JobRunner

    [job_id] = engine.add(clip_factory("long.mp4", 25.0), start=False)
    engine.wait_state(job_id, S.READY)
    engine.settle()
    other_store = JobStore(engine.db)
    other = JobRunner(
        other_store,
        engine._client,
        engine.settings,
        transfer_backoff_s=0.02,
        reconcile_backoff_s=0.2,
    )
    try:
        engine.runner.start([job_id])
        other.start([job_id])
        engine.qtbot.waitUntil(lambda: len(_stored_requests(engine, job_id)) == 2, timeout=10_000)
        other.resume()  # the second process picks the requests up too
        engine.qtbot.waitUntil(
            lambda: (j := engine.store.get(job_id)) is not None and j.state in (S.DONE, S.FAILED),
            timeout=60_000,
        )
        engine.qtbot.waitUntil(lambda: engine.runner.settled() and other.settled(), timeout=30_000)
        engine.qtbot.wait(500)
    finally:
        other.shutdown()
        other_store.close()
    assert_paid_within_confirmed(engine)
    assert engine.simulator.submit_count == 2
    for request in _stored_requests(engine, job_id):
        assert request.paid_submits == request.confirmed_requests == 1


def test_a_clip_replaced_while_the_app_was_closed_pays_for_none_of_its_parts(
    engine: Engine, clip_factory: ClipFactory
) -> None:
    import os

    engine.settings.concurrency = 1
    engine.simulator.scenario.transfer_bytes_per_s = 40_000  # part 1 uploads slowly
    clip = clip_factory("long.mp4", 25.0)
    [job_id] = engine.add(clip)
    engine.qtbot.waitUntil(lambda: _states(engine, job_id)[:1] == [S.UPLOADING], timeout=60_000)
    engine.restart()  # quit while part 1 uploads (its prepared file is kept in the cache)
    engine.simulator.scenario.transfer_bytes_per_s = 0.0
    other = clip_factory("other.mp4", 24.0)  # the user replaces the clip meanwhile
    os.replace(other, clip)
    engine.runner.resume()
    engine.qtbot.waitUntil(
        lambda: all(s in (S.FAILED, S.DONE, S.READY, S.REJECTED) for s in _states(engine, job_id)),
        timeout=60_000,
    )
    engine.settle()
    print([(r.part_index, r.state, r.error_code) for r in _stored_requests(engine, job_id)])
    assert_paid_within_confirmed(engine)
    assert engine.simulator.submit_count == 0  # nothing paid for a clip that is gone
