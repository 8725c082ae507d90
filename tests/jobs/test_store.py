"""The job store: every change committed at once, illegal moves refused, schema versioned."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kling_desktop.jobs.model import TRANSITIONS, IllegalTransition, JobOptions, JobState
from kling_desktop.jobs.store import SCHEMA_VERSION, JobStore, StoreError, SubmitNotAllowed


def test_transition_is_visible_to_another_connection_at_once(tmp_path: Path) -> None:
    # What a crash right after transition() leaves behind is what a new process reads.
    db = tmp_path / "jobs.sqlite3"
    store = JobStore(db)
    job = store.add(Path("/clips/a.mp4"), JobOptions(email="a@example.com"))
    store.transition(job.id, JobState.READY, duration_s=4.0)
    store.transition(job.id, JobState.QUEUED)
    store.transition(job.id, JobState.UPLOADING)
    store.transition(job.id, JobState.SUBMITTING, upload_url="http://u", submitted_at=1.0)
    other = JobStore(db)
    seen = other.get(job.id)
    assert seen is not None
    assert seen.state is JobState.SUBMITTING
    assert seen.upload_url == "http://u"
    assert seen.options.email == "a@example.com"
    assert seen.uid == job.uid


def test_wal_mode_and_schema_version(tmp_path: Path) -> None:
    db = tmp_path / "jobs.sqlite3"
    JobStore(db).close()
    raw = sqlite3.connect(db)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_newer_schema_is_refused_with_a_sentence(tmp_path: Path) -> None:
    db = tmp_path / "jobs.sqlite3"
    JobStore(db).close()
    raw = sqlite3.connect(db)
    raw.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match="newer Kling Desktop"):
        JobStore(db)


def test_illegal_transition_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    job = store.add(Path("/clips/a.mp4"), JobOptions())
    with pytest.raises(IllegalTransition):
        store.transition(job.id, JobState.DONE)
    stored = store.get(job.id)
    assert stored is not None and stored.state is JobState.CHECKING


def test_a_submit_on_a_job_that_moved_on_is_refused_as_not_sent(tmp_path: Path) -> None:
    """Cancelled back to ready while its slot retry was on its way: the retry is told
    "not sent" (nothing happens), not an illegal move shown as connection trouble."""
    store = JobStore(tmp_path / "jobs.sqlite3")
    job = store.add(Path("/clips/a.mp4"), JobOptions())
    store.transition(job.id, JobState.READY, duration_s=4.0)
    store.update(job.id, confirmed_requests=1)  # "Add sound" was confirmed, then cancelled
    with pytest.raises(SubmitNotAllowed, match="ready"):
        store.begin_submit(job.id, 1.0)
    stored = store.get(job.id)
    assert stored is not None and stored.state is JobState.READY and stored.paid_submits == 0


def test_remove_forgets_the_job(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    job = store.add(Path("/clips/a.mp4"), JobOptions())
    store.remove(job.id)
    assert store.get(job.id) is None
    assert store.all() == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(list(JobState)), max_size=25))
def test_no_sequence_of_events_reaches_an_illegal_state_or_loses_a_job(
    tmp_path_factory: pytest.TempPathFactory, moves: list[JobState]
) -> None:
    """Whatever is asked, the stored state only ever follows the legal table, and every job
    that was added is still there (reopened from disk) in the state the table allowed."""
    db = tmp_path_factory.mktemp("sm") / "jobs.sqlite3"
    store = JobStore(db)
    jobs = [store.add(Path(f"/clips/{i}.mp4"), JobOptions()) for i in range(3)]
    expected = {j.id: JobState.CHECKING for j in jobs}
    for index, target in enumerate(moves):
        job_id = jobs[index % len(jobs)].id
        current = expected[job_id]
        if target in TRANSITIONS[current]:
            store.transition(job_id, target)
            expected[job_id] = target
        else:
            with pytest.raises(IllegalTransition):
                store.transition(job_id, target)
    store.close()
    reopened = JobStore(db)
    assert {j.id: j.state for j in reopened.all()} == expected
    reopened.close()


def test_every_state_can_reach_an_end_and_done_is_terminal() -> None:
    assert TRANSITIONS[JobState.DONE] == frozenset()
    for state in JobState:
        seen, frontier = {state}, [state]
        while frontier:
            for nxt in TRANSITIONS[frontier.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
        assert seen & {JobState.DONE, JobState.FAILED, JobState.REJECTED}, state
