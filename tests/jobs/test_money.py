"""Each money hazard the issue lists, reproduced against the simulator over real HTTP.

Every case ends with at most one paid task per confirmed request, and in a state a user
understands: done with *their* clip's result, or uncertain/failed with a sentence and a way on.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import pytest

from kling_desktop.jobs import policy
from kling_desktop.jobs.model import Job, JobState
from kling_desktop.jobs.store import JobStore
from tests.fixtures.media import ClipFactory
from tests.jobs.conftest import Engine

S = JobState


def own_tasks(engine: Engine, job: Job) -> list[dict[str, Any]]:
    return [t for t in engine.simulator.tasks() if t.get("reply_ref") == job.reply_ref]


def video_seconds(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.duration is not None and stream.time_base is not None
        return float(stream.duration * stream.time_base)


@pytest.mark.parametrize(
    "fault", ["submit_500_after_create", "submit_redirect_after_create", "submit_400_nobody"]
)
def test_submit_answer_that_hides_a_created_task_is_found_not_resent(
    engine: Engine, clip: Path, fault: str
) -> None:
    """A plain 500, a 302 or an empty 400 after Kling created the task: reconcile finds it."""
    setattr(engine.simulator.scenario, fault, 1)
    [job_id] = engine.add(clip)
    job = engine.wait_state(job_id, S.DONE, S.FAILED, S.UNCERTAIN, timeout=30_000)
    assert job.state is S.DONE, job.error_message
    assert engine.simulator.submit_count == 1
    assert job.task_id == own_tasks(engine, job)[0]["id"]
    assert job.paid_submits == 1 == job.confirmed_requests


@pytest.mark.parametrize("status", [400, 404, 596, 302, 503])
def test_one_odd_poll_answer_does_not_end_the_job(engine: Engine, clip: Path, status: int) -> None:
    engine.simulator.scenario.task_seconds = 1.0
    engine.simulator.scenario.poll_odd_status = status
    engine.simulator.scenario.poll_odd_once = 1
    [job_id] = engine.add(clip)
    job = engine.wait_state(job_id, S.DONE, S.FAILED, timeout=40_000)
    assert job.state is S.DONE, job.error_message
    assert engine.simulator.submit_count == 1


def test_another_clients_task_is_never_adopted(engine: Engine, clip_factory: ClipFactory) -> None:
    """Our submit never reached Kling while another client on the same account started one:
    the job becomes uncertain (never done with someone else's video); sending it again is the
    user's paid choice and then gives *our* clip's result."""
    ours = clip_factory("ours.mp4", 5.0)
    engine.simulator.scenario.submit_lost_other_client = 1
    [job_id] = engine.add(ours)
    job = engine.wait_state(job_id, S.UNCERTAIN, S.DONE, S.PROCESSING, timeout=30_000)
    assert job.state is S.UNCERTAIN, job.state
    assert job.task_id is None
    assert engine.simulator.foreign_task_count == 1
    assert engine.simulator.submit_count == 0
    assert "charge you twice" in job.error_message
    # Retry alone never sends it again.
    engine.runner.retry(job_id)
    engine.runner.retry_all_failed()
    engine.settle()
    assert engine.simulator.submit_count == 0
    assert engine.job(job_id).state is S.UNCERTAIN
    # The user confirms a new paid job.
    engine.runner.resubmit(job_id)
    engine.wait_state(job_id, S.QUEUED, S.SUBMITTING, S.PROCESSING, S.DOWNLOADING, S.DONE)
    job = engine.wait_state(job_id, S.DONE, S.FAILED, timeout=30_000)
    assert job.state is S.DONE, job.error_message
    assert engine.simulator.submit_count == 1
    assert job.confirmed_requests == 2 == job.paid_submits  # the lost one may have cost
    assert job.output_path is not None
    assert abs(video_seconds(job.output_path) - 5.0) < 0.2
    assert [t["id"] for t in own_tasks(engine, job)] == [job.task_id]


def test_a_task_that_shows_up_late_is_adopted_by_itself(engine: Engine, clip: Path) -> None:
    engine.simulator.scenario.drop_submit_response = 1
    engine.simulator.scenario.late_task_seconds = 2.0
    [job_id] = engine.add(clip)
    engine.wait_state(job_id, S.UNCERTAIN, timeout=20_000)
    job = engine.wait_state(job_id, S.DONE, S.FAILED, timeout=30_000)
    assert job.state is S.DONE, job.error_message
    assert engine.simulator.submit_count == 1
    assert job.paid_submits == 1


def test_kling_failed_task_is_sent_again_only_when_confirmed(engine: Engine, clip: Path) -> None:
    engine.simulator.scenario.final_failure = True
    [job_id] = engine.add(clip)
    job = engine.wait_state(job_id, S.FAILED, S.DONE)
    assert job.error_code == "kling_failed" and "new paid" in job.error_message
    engine.runner.retry(job_id)
    engine.settle()
    assert engine.job(job_id).state is S.FAILED and engine.simulator.submit_count == 1
    assert not engine.runner._timers.pending(job_id)  # and nothing is due later either
    engine.simulator.scenario.final_failure = False
    engine.runner.resubmit(job_id)
    engine.wait_state(job_id, S.QUEUED, S.SUBMITTING, S.PROCESSING, S.DOWNLOADING, S.DONE)
    assert engine.wait_state(job_id, S.DONE, S.FAILED).state is S.DONE
    assert engine.simulator.submit_count == 2 == engine.job(job_id).confirmed_requests


def test_refused_submit_is_failed_with_its_sentence_and_charged_nothing(
    engine: Engine, clip: Path
) -> None:
    engine.simulator.scenario.moderate_submit = True
    [job_id] = engine.add(clip)
    job = engine.wait_state(job_id, S.FAILED, S.DONE)
    assert job.error_code == "moderation"
    assert job.paid_submits == 0 and engine.simulator.submit_count == 0
    assert policy.retry_kind(job) is policy.RetryKind.SEND


def test_download_retries_wait_for_real_between_tries(engine: Engine, clip: Path) -> None:
    engine.runner._steps.transfer_backoff = policy.Backoff(base_s=0.3, cap_s=5.0, jitter=0.0)
    engine.simulator.scenario.truncate_downloads = 2
    notes: list[str] = []
    engine.runner.job_progress.connect(lambda _id, p: notes.append(p.text))
    [job_id] = engine.add(clip)
    job = engine.wait_state(job_id, S.DONE, S.FAILED, timeout=30_000)
    assert job.state is S.DONE, job.error_message
    waits = [n for n in notes if n.startswith("Download interrupted")]
    assert waits, notes
    downloads = [r for r in engine.simulator.requests if r.path.startswith("/cdn/")]
    assert len(downloads) == 3  # two cut off, then the whole file


class FlakyStore(JobStore):
    """A store whose next few writes of a polled task fail, as a locked or full disk would."""

    def __init__(self, path: Path, fail: Callable[[Job], bool], times: int) -> None:
        super().__init__(path)
        self._fail, self.failures_left = fail, times

    def apply(self, job_id: int, decide: Callable[[Job], Any]) -> Job:
        current = self.get(job_id)
        if current is not None and self.failures_left and self._fail(current):
            self.failures_left -= 1
            raise sqlite3.OperationalError("database is locked")
        return super().apply(job_id, decide)


def test_a_database_error_while_handling_a_poll_does_not_strand_the_job(
    engine: Engine, clip: Path
) -> None:
    engine.runner.shutdown()
    engine.store.close()
    engine.store = FlakyStore(engine.db, lambda job: job.state is S.PROCESSING, times=2)
    engine.runner = engine._make_runner()
    troubles: list[str] = []
    engine.runner.store_trouble.connect(troubles.append)
    [job_id] = engine.add(clip)
    job = engine.wait_state(job_id, S.DONE, S.FAILED, timeout=40_000)
    assert job.state is S.DONE, job.error_message
    assert troubles and "tries again" in troubles[0]
    assert engine.simulator.submit_count == 1


def test_the_gui_thread_commits_nothing_during_a_whole_job(engine: Engine, clip: Path) -> None:
    import threading

    opened = engine.store.commits[threading.get_ident()]  # creating a new database file
    [job_id] = engine.add(clip, start=False)
    engine.wait_state(job_id, S.READY)
    engine.runner.start([job_id])
    assert engine.wait_state(job_id, S.DONE, S.FAILED).state is S.DONE
    engine.runner.remove_many([job_id])
    engine.qtbot.waitUntil(lambda: engine.store.get(job_id) is None)
    assert engine.store.commits[threading.get_ident()] == opened
    assert sum(engine.store.commits.values()) >= 5


def test_removed_jobs_come_back_with_undo(engine: Engine, clip: Path) -> None:
    [job_id] = engine.add(clip)
    job = engine.wait_state(job_id, S.DONE, S.FAILED)
    removed = engine.runner.remove_many([job_id])
    assert [j.id for j in removed] == [job_id]
    engine.qtbot.waitUntil(lambda: engine.store.get(job_id) is None)
    with engine.qtbot.waitSignal(engine.runner.job_added):
        engine.runner.restore(removed)
    assert engine.job(job_id) == job
    engine.qtbot.waitUntil(lambda: engine.store.get(job_id) == job)


def test_cancel_takes_back_a_clip_that_has_not_left(engine: Engine, clip: Path) -> None:
    engine.simulator.scenario.transfer_bytes_per_s = 20_000.0  # a slow line: stays uploading
    [job_id] = engine.add(clip)
    engine.wait_state(job_id, S.UPLOADING)
    engine.runner.cancel(job_id)
    job = engine.wait_state(job_id, S.READY)
    engine.settle()  # the cancelled upload has ended and reported
    assert engine.job(job_id).state is S.READY
    assert engine.simulator.submit_count == 0
    assert job.paid_submits == 0
