"""``kill -9`` of ``kling-desktop add-sound --wait`` at each step, then ``resume``: every job
ends done, with exactly one paid submit (DESIGN §4.1, §4.2)."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kling_desktop.simulator import Simulator
from tests.cli.conftest import RunCli, cli_command, cli_env, jobs_json

pytestmark = pytest.mark.subprocess


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll a condition another process makes true (no signal crosses a process boundary)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


def stored_state(app_home: Path) -> str | None:
    db = app_home / "data" / "jobs.sqlite3"
    if not db.exists():
        return None
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as conn:
            row = conn.execute("SELECT state FROM jobs ORDER BY id LIMIT 1").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def start_add_sound(app_home: Path, simulator: Simulator, clip: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        cli_command("add-sound", "--wait", "--poll-interval", "0.3", str(clip)),
        env=cli_env(app_home, simulator),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def kill_hard(proc: subprocess.Popen[str]) -> None:
    proc.kill()  # SIGKILL: no cleanup of any kind runs
    proc.wait(timeout=10)


def resume_to_done(run_cli: RunCli, simulator: Simulator, clip: Path) -> None:
    result = run_cli("resume", "--wait", "--json", "--poll-interval", "0.3")
    assert result.returncode == 0, result.stderr
    [job] = jobs_json(result)
    assert job["state"] == "done", job
    assert Path(job["output"]).exists()
    assert simulator.submit_count == 1
    assert len(simulator.tasks()) == 1


def test_kill_right_after_the_submit_reached_the_service(
    app_home: Path, simulator: Simulator, run_cli: RunCli, clip: Path
) -> None:
    simulator.scenario.task_seconds = 1.0
    proc = start_add_sound(app_home, simulator, clip)
    try:
        assert simulator.wait_for_submits(1, timeout=30)
        kill_hard(proc)
    finally:
        proc.kill()
    resume_to_done(run_cli, simulator, clip)


def test_kill_while_polling(
    app_home: Path, simulator: Simulator, run_cli: RunCli, clip: Path
) -> None:
    simulator.scenario.task_seconds = 3.0
    proc = start_add_sound(app_home, simulator, clip)
    try:
        wait_for(lambda: stored_state(app_home) == "processing", 30, "processing")
        kill_hard(proc)
    finally:
        proc.kill()
    resume_to_done(run_cli, simulator, clip)


def test_kill_during_upload(
    app_home: Path, simulator: Simulator, run_cli: RunCli, clip: Path
) -> None:
    simulator.scenario.transfer_bytes_per_s = clip.stat().st_size / 3  # a 3 s upload
    proc = start_add_sound(app_home, simulator, clip)
    try:
        wait_for(lambda: stored_state(app_home) == "uploading", 30, "uploading")
        kill_hard(proc)
    finally:
        proc.kill()
    assert simulator.submit_count == 0
    simulator.scenario.transfer_bytes_per_s = 0
    resume_to_done(run_cli, simulator, clip)


def test_kill_during_download_leaves_no_stray_files(
    app_home: Path, simulator: Simulator, run_cli: RunCli, clip: Path
) -> None:
    simulator.scenario.task_seconds = 0.2
    proc = start_add_sound(app_home, simulator, clip)
    try:
        wait_for(lambda: stored_state(app_home) == "processing", 30, "processing")
        simulator.scenario.transfer_bytes_per_s = 20_000  # downloads now crawl
        wait_for(lambda: stored_state(app_home) == "downloading", 30, "downloading")
        wait_for(lambda: bool(list(clip.parent.glob(".clip.sound.mp4.*.part"))), 30, "a part")
        kill_hard(proc)
    finally:
        proc.kill()
    simulator.scenario.transfer_bytes_per_s = 0
    resume_to_done(run_cli, simulator, clip)
    names = sorted(p.name for p in clip.parent.iterdir())
    assert names == ["clip.mp4", "clip.sound.mp4"]  # same name reused, no leftovers
