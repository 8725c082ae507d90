"""Review, second look: restarts between the steps of a clip of parts with takes, the finish
step, another process on the same data folder, the simulator's faults on poll and download.

A real bug has a test that failed before its fix (kept as the proof); a hazard that was
checked and found safe has a passing test that proves it.
"""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from kling_desktop.jobs import pipeline, policy
from kling_desktop.jobs.model import JobState
from kling_desktop.simulator import Simulator
from tests.cli.conftest import RunCli, cli_command, cli_env, jobs_json
from tests.cli.test_kill import kill_hard, stored_state, wait_for
from tests.fixtures.media import ClipFactory
from tests.jobs.conftest import Engine, assert_paid_within_confirmed

S = JobState

# -- kill -9 while a clip of parts with takes is put together ---------------------------------


@pytest.mark.subprocess
def test_kill_while_putting_takes_together_leaves_one_result_and_no_strays(
    app_home: Path, simulator: Simulator, run_cli: RunCli, clip_factory: ClipFactory
) -> None:
    simulator.scenario.task_seconds = 0.3
    clip = clip_factory("long.mp4", 25.0)
    folder = clip.parent
    proc = subprocess.Popen(
        cli_command("add-sound", "--wait", "--takes", "2", "--poll-interval", "0.2", str(clip)),
        env=cli_env(app_home, simulator),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        wait_for(lambda: stored_state(app_home) == "finishing", 120, "finishing")
        # The chosen take is written first: kill once it is in place, while take 2 is
        # being written (its temporary file is there).
        wait_for(lambda: (folder / "long.sound.mp4").exists(), 60, "the first result file")
        wait_for(lambda: bool(list(folder.glob(".long.sound.take2.mp4.*.part"))), 60, "take 2")
        kill_hard(proc)
    finally:
        proc.kill()
    assert simulator.submit_count == 4  # 2 parts x 2 takes
    result = run_cli("resume", "--wait", "--json", "--poll-interval", "0.2", timeout=120)
    assert result.returncode == 0, result.stderr
    [job] = jobs_json(result)
    assert job["state"] == "done", job
    assert simulator.submit_count == 4  # nothing paid again
    names = sorted(p.name for p in folder.iterdir())
    print("files after resume:", names, "result:", job["output"])
    # One result and its other take, under the first free name; nothing half-made beside it.
    assert names == ["long.mp4", "long.sound.mp4", "long.sound.take2.mp4"], names
    assert Path(job["output"]).name == "long.sound.mp4"


# -- a result link that stays gone ------------------------------------------------------------


def test_a_result_link_that_stays_gone_ends_in_a_clear_state_not_a_loop(
    engine: Engine, clip: Path
) -> None:
    """The link Kling gives for the result answers 404 every time (expired, removed): each 404
    asks the task again, which gives the same link. That must end (a failed download that
    Retry fetches again for free), not go round poll → download → 404 for ever."""
    tries = 1000
    engine.simulator.scenario.expired_results = tries
    [job_id] = engine.add(clip)
    job = engine.wait_state(job_id, S.FAILED, S.DONE, timeout=10_000)
    fetched = tries - engine.simulator.scenario.expired_results
    print("result fetches:", fetched, "→", job.state, job.error_message)
    assert job.state is S.FAILED and fetched <= 10
    assert job.error_message.startswith("The result's link at Kling stays gone")
    assert "Retry downloads it again at no cost" in job.error_message
    assert "Check your Kling account" not in job.error_message  # not a lost task: no mixed word
    assert policy.retry_kind(job) is policy.RetryKind.DOWNLOAD
    assert engine.simulator.submit_count == 1
    assert_paid_within_confirmed(engine)
    # The link works again: Retry fetches it (free) and the clip is done.
    engine.simulator.scenario.expired_results = 0
    engine.runner.retry(job_id)
    engine.qtbot.waitUntil(lambda: engine.job(job_id).state is not S.FAILED, timeout=10_000)
    assert engine.wait_state(job_id, S.DONE, S.FAILED).state is S.DONE
    assert engine.simulator.submit_count == 1


# -- remove in another process: a clip of parts with a request being sent ---------------------


@pytest.mark.subprocess
def test_remove_of_a_clip_whose_part_is_being_sent_says_why_at_once(
    app_home: Path, simulator: Simulator, run_cli: RunCli, clip_factory: ClipFactory
) -> None:
    simulator.scenario.task_seconds = 600.0
    clip = clip_factory("long.mp4", 25.0)
    sent = run_cli("add-sound", "--json", str(clip), timeout=120)
    assert sent.returncode == 0, sent.stderr
    [row] = jobs_json(sent)
    # A kill -9 right after part 2's "submitting" was written, before its answer came.
    db = app_home / "data" / "jobs.sqlite3"
    with sqlite3.connect(db) as conn:
        [(part2,)] = conn.execute(
            "SELECT id FROM jobs WHERE parent_id = ? AND part_index = 1", (row["id"],)
        ).fetchall()
        conn.execute("UPDATE jobs SET state = 'submitting', task_id = NULL WHERE id = ?", (part2,))
    began = time.monotonic()
    result = run_cli("remove", str(row["id"]))
    took = time.monotonic() - began
    print(result.stdout, result.stderr, f"{took:.1f} s")
    assert result.returncode != 0
    assert "not removed: its paid add-sound request is being sent" in result.stderr
    assert "could not be written" not in result.stderr
    assert took < 15  # not the 30 s wait for a removal that was never going to be written
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 3  # clip + 2 parts


# -- kill -9 between the paid requests of a clip of parts with takes --------------------------


def _add_sound_takes(app_home: Path, simulator: Simulator, clip: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        cli_command("add-sound", "--wait", "--takes", "2", "--poll-interval", "0.2", str(clip)),
        env=cli_env(app_home, simulator),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )


@pytest.mark.subprocess
@pytest.mark.parametrize("submits", [1, 3])
def test_kill_between_the_paid_requests_of_takes_pays_each_once(
    app_home: Path,
    simulator: Simulator,
    run_cli: RunCli,
    clip_factory: ClipFactory,
    submits: int,
) -> None:
    simulator.scenario.task_seconds = 0.5
    clip = clip_factory("long.mp4", 25.0)
    proc = _add_sound_takes(app_home, simulator, clip)
    try:
        assert simulator.wait_for_submits(submits, timeout=60)
        kill_hard(proc)
    finally:
        proc.kill()
    result = run_cli("resume", "--wait", "--json", "--poll-interval", "0.2", timeout=120)
    print(result.stderr)
    [job] = jobs_json(result)
    # A request whose submit reached Kling as the process died is found again, never resent;
    # one cut off before its answer may end uncertain (then the user decides), never paid twice.
    assert simulator.submit_count <= 4
    assert len(simulator.tasks()) == simulator.submit_count
    with sqlite3.connect(app_home / "data" / "jobs.sqlite3") as conn:
        rows = conn.execute(
            "SELECT task_id, paid_submits, confirmed_requests, state FROM jobs "
            "WHERE parent_id IS NOT NULL"
        ).fetchall()
    print(rows)
    ids = [r[0] for r in rows if r[0] is not None]
    assert len(ids) == len(set(ids))  # no two requests hold one task
    assert all(paid <= confirmed for _, paid, confirmed, _ in rows)
    if simulator.submit_count == 4:
        assert job["state"] == "done", job


# -- one Kling task, two of our rows: a look-up racing "resolve --found" ----------------------


def test_a_lost_submits_look_up_never_adopts_a_task_found_for_another_job_meanwhile(
    engine: Engine, clip_factory: ClipFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Job A's answer is lost and its look-up finds its task X; before that is written, the
    user says (resolve --found) that X is job B's. The runner checks that no job tracks X
    when it is asked, but the look-up had already read the job list: both would track X."""
    scenario = engine.simulator.scenario
    scenario.moderate_submit = True  # B: refused for certain, no task of its own
    [b] = engine.add(clip_factory("b.mp4", 4.0))
    engine.wait_state(b, S.FAILED)
    engine.settle()
    scenario.moderate_submit = False

    real = pipeline.reconcile
    found_task: list[int] = []
    go_on = threading.Event()

    def reconcile(client: Any, job: Any, taken: Any) -> Any:
        task = real(client, job, taken)
        if task is not None:
            found_task.append(task.id)
            assert go_on.wait(20)
        return task

    monkeypatch.setattr(pipeline, "reconcile", reconcile)
    scenario.drop_submit_response = 1  # A: created at Kling, its answer lost
    [a] = engine.add(clip_factory("a.mp4", 4.0))
    engine.qtbot.waitUntil(lambda: bool(found_task), timeout=20_000)
    [x] = found_task
    engine.runner.found(b, x)
    engine.qtbot.waitUntil(lambda: engine.store.get(b).task_id == x, timeout=10_000)  # type: ignore[union-attr]
    go_on.set()
    engine.wait_state(a, S.PROCESSING, S.UNCERTAIN, S.DONE, S.FAILED)
    engine.settle()
    rows = {j.id: j.task_id for j in engine.store.all()}
    print(rows)
    assert rows[a] != rows[b]
    assert_paid_within_confirmed(engine)
