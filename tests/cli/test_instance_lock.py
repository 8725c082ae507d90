"""One process per data folder (DESIGN §4.8, issue 10 item 5), with real processes: a second
engine command waits for the first or names it; read-only commands run alongside; a lock
left by ``kill -9`` is taken over at once."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from kling_desktop.simulator import Simulator
from tests.cli.conftest import RunCli, cli_command, cli_env, jobs_json
from tests.cli.test_kill import kill_hard, start_add_sound, stored_state, wait_for

pytestmark = pytest.mark.subprocess

WAITING = "is using this job list; waiting until it has finished"


def lock_holder_pid(app_home: Path) -> int | None:
    try:
        return int(json.loads((app_home / "data" / "instance.json").read_text())["pid"])
    except (OSError, ValueError, KeyError):
        return None


def start(app_home: Path, simulator: Simulator, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        cli_command(*args),
        env=cli_env(app_home, simulator, **env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_resumes_on_one_folder_take_turns_and_pay_once(
    app_home: Path, simulator: Simulator, clip: Path
) -> None:
    # A job cut off mid-upload: both resumes would upload and submit it, were they let.
    simulator.scenario.transfer_bytes_per_s = clip.stat().st_size / 3
    proc = start_add_sound(app_home, simulator, clip)
    try:
        wait_for(lambda: stored_state(app_home) == "uploading", 30, "uploading")
        kill_hard(proc)
    finally:
        proc.kill()
    simulator.scenario.transfer_bytes_per_s = 0
    simulator.scenario.task_seconds = 1.0

    resume = ("resume", "--wait", "--json", "--poll-interval", "0.3")
    first, second = start(app_home, simulator, *resume), start(app_home, simulator, *resume)
    outs = {p.pid: p.communicate(timeout=90) for p in (first, second)}
    assert first.returncode == 0 and second.returncode == 0, outs
    waited = [pid for pid, (_out, err) in outs.items() if WAITING in err]
    assert len(waited) == 1, outs  # exactly one waited, for the other by its pid
    [ran] = [pid for pid in outs if pid not in waited]
    assert f"kling-desktop resume (process {ran}) {WAITING}" in outs[waited[0]][1]
    [job] = json.loads(outs[ran][0])["jobs"]
    assert job["state"] == "done"
    # The one that waited found the job finished: nothing left for it to do.
    assert json.loads(outs[waited[0]][0]) == {"jobs": []}
    assert simulator.submit_count == 1
    assert len(simulator.tasks()) == 1


def test_a_short_wait_limit_names_the_holder_and_jobs_runs_alongside(
    app_home: Path, simulator: Simulator, run_cli: RunCli, clip: Path
) -> None:
    simulator.scenario.task_seconds = 60.0
    holder = start_add_sound(app_home, simulator, clip)
    try:
        wait_for(lambda: stored_state(app_home) == "processing", 30, "processing")
        assert lock_holder_pid(app_home) == holder.pid

        blocked = run_cli("resume", env=cli_env(app_home, simulator, KLING_DESKTOP_LOCK_WAIT="0.5"))
        assert blocked.returncode == 2
        assert "Traceback" not in blocked.stderr
        who = f"kling-desktop add-sound (process {holder.pid})"
        data = app_home / "data"
        assert blocked.stderr.splitlines() == [
            f"kling-desktop: {who} {WAITING} (Ctrl-C to give up)…",
            f"kling-desktop: {who} is still using the job list in {data}; try again when it "
            "has finished.",
        ]
        assert simulator.submit_count == 1  # the blocked one sent nothing

        # Read-only commands never take the lock: they answer at once.
        listed = run_cli("jobs", "--json")
        assert listed.returncode == 0, listed.stderr
        assert [j["state"] for j in jobs_json(listed)] == ["processing"]
        assert listed.stderr == ""
        assert holder.poll() is None
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_a_lock_left_by_kill_9_is_taken_over_at_once(
    app_home: Path, simulator: Simulator, run_cli: RunCli, clip: Path
) -> None:
    simulator.scenario.task_seconds = 2.0
    proc = start_add_sound(app_home, simulator, clip)
    try:
        wait_for(lambda: stored_state(app_home) == "processing", 30, "processing")
        kill_hard(proc)
    finally:
        proc.kill()
    assert lock_holder_pid(app_home) == proc.pid  # its note stays; its lock went with it

    done = run_cli(
        "resume",
        "--wait",
        "--json",
        "--poll-interval",
        "0.3",
        env=cli_env(app_home, simulator, KLING_DESKTOP_LOCK_WAIT="0"),
    )
    assert done.returncode == 0, done.stderr
    assert "waiting" not in done.stderr
    [job] = jobs_json(done)
    assert job["state"] == "done"
    assert simulator.submit_count == 1
