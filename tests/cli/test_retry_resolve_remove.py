"""``retry``, ``resolve``, ``remove`` and the money fields of ``jobs --json``, run as real
processes against the simulator: what costs nothing stays free, and a new paid Kling job is
sent only when the command says so (DESIGN §4.1, §4.9, §6)."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from kling_desktop.paths import app_paths
from kling_desktop.settings import Settings
from kling_desktop.simulator import Simulator
from tests.cli.conftest import RunCli, cli_command, cli_env, jobs_json
from tests.cli.test_kill import stored_state, wait_for
from tests.fixtures.media import ClipFactory
from tests.fixtures.sim import wait_until

pytestmark = pytest.mark.subprocess

FAST = ("--poll-interval", "0.3")


def add_sound(run_cli: RunCli, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("add-sound", "--json", *FAST, *args)


def listed(run_cli: RunCli) -> list[dict[str, object]]:
    result = run_cli("jobs", "--json")
    assert result.returncode == 0, result.stderr
    return jobs_json(result)


def left_submitting(app_home: Path, job_id: int) -> None:
    """Leave a job as a crash right after its request left would: "submitting", no task id."""
    with sqlite3.connect(app_home / "data" / "jobs.sqlite3") as db:
        db.execute("UPDATE jobs SET state = 'submitting', task_id = NULL WHERE id = ?", (job_id,))


def make_uncertain(run_cli: RunCli, simulator: Simulator, clip: Path) -> dict[str, object]:
    """A job whose submit created a task but whose answer was lost, the task not (yet) to be
    seen anywhere: the engine cannot tell, so the job waits for the user."""
    simulator.scenario.drop_submit_response = 1
    simulator.scenario.late_task_seconds = 3.0
    result = add_sound(run_cli, str(clip))
    assert result.returncode == 1, result.stderr
    [job] = jobs_json(result)
    assert job["state"] == "uncertain", job
    assert job["task_id"] is None and job["retry"] == "resubmit"
    assert simulator.submit_count == 1
    return job


def test_help_lists_the_new_commands(run_cli: RunCli) -> None:
    top = run_cli("-h")
    assert top.returncode == 0
    for command in ("retry", "remove", "resolve"):
        assert command in top.stdout
        sub = run_cli(command, "-h")
        assert sub.returncode == 0, sub.stderr
        assert f"usage: kling-desktop {command}" in sub.stdout
    assert "--resubmit" in top.stdout and "--resend" in top.stdout  # what may pay
    assert "NEW PAID" in run_cli("retry", "-h").stdout


def test_usage_errors_exit_2(run_cli: RunCli) -> None:
    assert run_cli("retry").returncode == 2  # neither ids nor --all
    assert run_cli("retry", "--all", "1").returncode == 2
    assert run_cli("retry", "x").returncode == 2
    assert run_cli("remove").returncode == 2
    assert run_cli("resolve", "1").returncode == 2  # --found or --resend is required
    assert run_cli("resolve", "1", "--found", "5", "--resend").returncode == 2
    missing = run_cli("retry", "7")
    assert missing.returncode == 2
    assert "There is no job 7" in missing.stderr


def test_jobs_json_shows_what_was_paid_and_confirmed(run_cli: RunCli, clip: Path) -> None:
    result = add_sound(run_cli, "--wait", str(clip))
    assert result.returncode == 0, result.stderr
    [job] = listed(run_cli)
    assert job["state"] == "done"
    assert job["paid_submits"] == 1 and job["confirmed_requests"] == 1
    assert job["retry"] == "none"


@pytest.mark.slow
def test_retry_downloads_a_paid_result_again_at_no_cost(
    app_home: Path, simulator: Simulator, run_cli: RunCli, clip: Path, tmp_path: Path
) -> None:
    """The output folder became a file after the submit: the download fails after real
    retries (about 30 s of backoff), says the sound is paid, and `retry` fetches it free."""
    out = tmp_path / "results"
    simulator.scenario.task_seconds = 3.0
    proc = subprocess.Popen(
        cli_command("add-sound", "--wait", "--json", *FAST, "--output", str(out), str(clip)),
        env=cli_env(app_home, simulator),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: stored_state(app_home) == "processing", 30, "processing")
        shutil.rmtree(out)
        out.write_bytes(b"a file where the results folder was")
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 1, stderr
    [job] = jobs_json(subprocess.CompletedProcess([], 1, stdout, stderr))
    assert job["state"] == "failed"
    assert "already paid for: Retry downloads it again at no cost" in job["error"]
    assert job["retry"] == "download"
    assert simulator.submit_count == 1

    out.unlink()  # fixed
    again = run_cli("retry", "--wait", "--json", *FAST, str(job["id"]))
    assert again.returncode == 0, again.stderr
    [done] = jobs_json(again)
    assert done["state"] == "done"
    assert done["output"] == str(out / "clip.sound.mp4")
    assert (out / "clip.sound.mp4").is_file()
    assert simulator.submit_count == 1  # nothing paid again
    assert done["paid_submits"] == 1 == done["confirmed_requests"]


def test_kling_failed_job_is_sent_again_only_with_resubmit(
    simulator: Simulator, run_cli: RunCli, clip_factory: ClipFactory
) -> None:
    simulator.scenario.final_failure = True
    first = clip_factory("first.mp4", 4.0)
    second = clip_factory("second.mp4", 4.0)
    result = add_sound(run_cli, "--wait", str(first), str(second))
    assert result.returncode == 1, result.stderr
    assert [j["state"] for j in jobs_json(result)] == ["failed", "failed"]
    assert simulator.submit_count == 2
    simulator.scenario.final_failure = False

    refused = run_cli("retry", "--wait", "1")
    assert refused.returncode == 1
    assert "[1] first.mp4: retrying it needs a new paid Kling job" in refused.stderr
    assert "nothing was sent" in refused.stderr
    assert "kling-desktop retry --resubmit 1" in refused.stderr
    everything = run_cli("retry", "--all", "--wait")
    assert everything.returncode == 1
    assert everything.stderr.count("needs a new paid Kling job") == 2
    assert simulator.submit_count == 2  # nothing sent

    paid = run_cli("retry", "--resubmit", "--wait", "--json", *FAST, "1")
    assert paid.returncode == 0, paid.stderr
    assert "[1] first.mp4: sending a new paid Kling job for it." in paid.stderr
    [job] = jobs_json(paid)
    assert job["state"] == "done"
    assert job["paid_submits"] == 2 == job["confirmed_requests"]
    assert simulator.submit_count == 3  # exactly one more, for job 1 only
    by_id = {j["id"]: j for j in listed(run_cli)}
    assert by_id[2]["state"] == "failed" and by_id[2]["paid_submits"] == 1


def test_retry_all_with_nothing_failed(run_cli: RunCli) -> None:
    result = run_cli("retry", "--all")
    assert result.returncode == 0, result.stderr
    assert "No failed jobs to retry." in result.stdout


def test_retry_sends_a_confirmed_request_that_never_left_at_no_new_cost(
    run_cli: RunCli, simulator: Simulator, clip: Path, tmp_path: Path
) -> None:
    """The settings' output folder is a file: the preflight fails the job before anything
    is uploaded or paid, and once it is fixed `retry` sends the request already confirmed."""
    blocker = tmp_path / "results"
    blocker.write_bytes(b"in the way")
    settings = Settings()
    settings.output_folder = str(blocker)
    settings.save(app_paths().settings_file)
    failed = add_sound(run_cli, "--wait", str(clip))
    assert failed.returncode == 1, failed.stderr
    [job] = jobs_json(failed)
    assert job["state"] == "failed" and "not a folder" in job["error"]
    assert "Nothing was sent and nothing was charged" in job["error"]
    assert job["paid_submits"] == 0 and job["confirmed_requests"] == 1
    assert job["retry"] == "send"
    assert not [r for r in simulator.requests if r.method == "POST"]  # no upload, no submit
    blocker.unlink()
    again = run_cli("retry", "--wait", "--json", *FAST, str(job["id"]))
    assert again.returncode == 0, again.stderr
    [done] = jobs_json(again)
    assert done["state"] == "done" and done["output"] == str(blocker / "clip.sound.mp4")
    assert done["paid_submits"] == 1 == done["confirmed_requests"]
    assert simulator.submit_count == 1


def test_resolve_found_tracks_the_task_for_free(
    run_cli: RunCli, simulator: Simulator, clip: Path
) -> None:
    job = make_uncertain(run_cli, simulator, clip)
    [task] = simulator.tasks()  # what the user finds in their Kling account
    # The task shows up at Kling (the simulator shows it late, as the service may).
    assert wait_until(lambda: bool(simulator.tasks()[0]["visible"]), 10.0)
    result = run_cli(
        "resolve", str(job["id"]), "--found", str(task["id"]), "--wait", "--json", *FAST
    )
    assert result.returncode == 0, result.stderr
    assert f"tracking Kling task {task['id']} for it (free)" in result.stderr
    [done] = jobs_json(result)
    assert done["state"] == "done" and done["task_id"] == task["id"]
    assert Path(str(done["output"])).is_file()
    assert simulator.submit_count == 1 and done["paid_submits"] == 1
    again = run_cli("resolve", str(job["id"]), "--found", str(task["id"]))
    assert again.returncode == 1
    assert "nothing" in again.stderr


def test_resolve_resend_sends_exactly_one_new_paid_job(
    run_cli: RunCli, simulator: Simulator, clip: Path
) -> None:
    job = make_uncertain(run_cli, simulator, clip)
    retried = run_cli("retry", str(job["id"]))
    assert retried.returncode == 1
    assert f"kling-desktop resolve {job['id']} --found TASK_ID" in retried.stderr
    assert simulator.submit_count == 1
    result = run_cli("resolve", str(job["id"]), "--resend", "--wait", "--json", *FAST)
    assert result.returncode == 0, result.stderr
    assert "sending a new paid Kling job for it." in result.stderr
    [done] = jobs_json(result)
    assert done["state"] == "done"
    assert done["paid_submits"] == 2 == done["confirmed_requests"]
    assert simulator.submit_count == 2
    nothing = run_cli("resolve", str(job["id"]), "--resend")
    assert nothing.returncode == 1 and "nothing to resolve" in nothing.stderr
    assert simulator.submit_count == 2


def test_resubmit_of_an_uncertain_job_warns_it_may_charge_twice(
    run_cli: RunCli, simulator: Simulator, clip: Path
) -> None:
    job = make_uncertain(run_cli, simulator, clip)
    result = run_cli("retry", "--resubmit", "--wait", "--json", *FAST, str(job["id"]))
    assert result.returncode == 0, result.stderr
    assert (
        "sending a new paid Kling job for it. Its request was sent before and the answer "
        "lost: Kling may already be working on it, so this may charge you twice."
    ) in result.stderr
    assert simulator.submit_count == 2


def test_remove_forgets_jobs_keeps_files_and_refuses_one_in_flight(
    app_home: Path, run_cli: RunCli, simulator: Simulator, clip_factory: ClipFactory
) -> None:
    done_clip = clip_factory("done.mp4", 4.0)
    assert add_sound(run_cli, "--wait", str(done_clip)).returncode == 0
    simulator.scenario.task_seconds = 60.0
    busy_clip = clip_factory("busy.mp4", 4.0)
    sent = add_sound(run_cli, str(busy_clip))  # returns once Kling has it
    assert sent.returncode == 0, sent.stderr
    [busy] = jobs_json(sent)
    assert busy["state"] == "processing"
    flight_clip = clip_factory("flight.mp4", 4.0)
    assert add_sound(run_cli, str(flight_clip)).returncode == 0
    left_submitting(app_home, 3)

    result = run_cli("remove", "1", "2", "3")
    assert result.returncode == 1, result.stderr
    assert "[1] done.mp4: removed from the list (the clip and its result stay on disk)." in (
        result.stdout
    )
    assert f"Kling still runs this job (task {busy['task_id']}) and charges for it" in (
        result.stdout
    )
    assert "[3] flight.mp4: not removed: its paid add-sound request is being sent" in (
        result.stderr
    )
    assert [j["id"] for j in listed(run_cli)] == [3]
    assert done_clip.exists() and done_clip.with_name("done.sound.mp4").exists()
    assert busy_clip.exists() and flight_clip.exists()
    unknown = run_cli("remove", "3", "9")
    assert unknown.returncode == 2 and "no job 9" in unknown.stderr
    assert [j["id"] for j in listed(run_cli)] == [3]  # nothing was removed
    assert simulator.submit_count == 3
