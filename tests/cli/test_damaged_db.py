"""Every command meets a damaged job database with a sentence and carries on — never a
traceback (issue 10): the real ``kling-desktop`` in a subprocess, on its own home."""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from kling_desktop.instance import InstanceLock
from kling_desktop.jobs.model import JobOptions, JobState
from kling_desktop.jobs.store import SCHEMA_VERSION, JobStore
from tests.cli.conftest import RunCli, jobs_json

pytestmark = pytest.mark.subprocess

COMMANDS = [("jobs",), ("jobs", "--json"), ("resume", "--json")]


def database(app_home: Path) -> Path:
    return app_home / "data" / "jobs.sqlite3"


def damaged_copies(app_home: Path) -> list[Path]:
    return sorted((app_home / "data").glob("jobs.sqlite3.damaged-*[0-9]"))


def done_jobs(app_home: Path, count: int) -> None:
    """``count`` finished jobs, as a past run would have left them."""
    db = database(app_home)
    store = JobStore(db)
    store.add_many([Path(f"/clips/c{i}.mp4") for i in range(count)], JobOptions())
    store.close()
    raw = sqlite3.connect(db, isolation_level=None)
    raw.execute("UPDATE jobs SET state = 'done', output_path = '/clips/out-' || id || '.mp4'")
    raw.close()


def garbage(app_home: Path) -> bytes:
    db = database(app_home)
    db.parent.mkdir(parents=True, exist_ok=True)
    db.write_bytes(b"\x00\x01 not sqlite at all " * 200)
    return db.read_bytes()


def truncated(app_home: Path) -> bytes:
    done_jobs(app_home, 300)
    db = database(app_home)
    data = db.read_bytes()
    db.write_bytes(data[: len(data) * 6 // 10])
    return db.read_bytes()


def empty(app_home: Path) -> bytes:
    db = database(app_home)
    db.parent.mkdir(parents=True, exist_ok=True)
    db.write_bytes(b"")
    return b""


DAMAGES: dict[str, tuple[Callable[[Path], bytes], str]] = {
    "garbage": (garbage, "The job list was damaged (it is not a database file); it was moved to"),
    "truncated": (
        truncated,
        "The job list was damaged (its contents are damaged); it was moved to",
    ),
    "empty": (empty, "The job list was empty (0 bytes); it was moved to"),
}


def assert_no_traceback(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert "Error:" not in stderr, stderr


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_list_is_set_aside_with_one_sentence(
    app_home: Path, run_cli: RunCli, damage: str, command: tuple[str, ...]
) -> None:
    make, sentence = DAMAGES[damage]
    original = make(app_home)
    result = run_cli(*command)
    assert_no_traceback(result.stderr)
    assert result.returncode == 0, result.stderr
    [aside] = damaged_copies(app_home)
    assert aside.read_bytes() == original
    [line] = [ln for ln in result.stderr.splitlines() if "job list" in ln]
    assert line.startswith(f"kling-desktop: {sentence} {aside}")
    if damage == "truncated":
        found = int(re.search(r"and (\d+) jobs were recovered from it\.$", line)[1])  # type: ignore[index]
        assert 0 < found < 300
    if "--json" in command:
        listed = jobs_json(result)
        if command[0] == "jobs" and damage == "truncated":
            assert len(listed) == found
            assert all(j["state"] == "done" for j in listed)
    # Said once: the next command finds a good list and says nothing about it.
    again = run_cli("jobs", "--json")
    assert again.returncode == 0
    assert "job list" not in again.stderr
    assert len(damaged_copies(app_home)) == 1


def bad_row(app_home: Path) -> int:
    done_jobs(app_home, 3)
    raw = sqlite3.connect(database(app_home), isolation_level=None)
    raw.execute("UPDATE jobs SET state = 'exploded' WHERE id = 2")
    raw.execute("UPDATE jobs SET state = ? WHERE id <> 2", (JobState.READY.value,))
    raw.close()
    return 2


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_one_bad_row_is_left_out_and_said_once_per_run(
    app_home: Path, run_cli: RunCli, command: tuple[str, ...]
) -> None:
    bad = bad_row(app_home)
    result = run_cli(*command)
    assert_no_traceback(result.stderr)
    assert result.returncode == 0, result.stderr
    assert result.stderr.count("cannot be read") == 1
    assert (
        f"kling-desktop: 1 job in the job list cannot be read and is left out (job {bad}: "
        "its state 'exploded' is unknown). It stays in "
    ) in result.stderr
    if command == ("jobs",):
        assert [ln.split("]")[0] for ln in result.stdout.splitlines()] == ["[1", "[3"]
    elif command == ("jobs", "--json"):
        assert [j["id"] for j in jobs_json(result)] == [1, 3]
    assert damaged_copies(app_home) == []


def test_a_newer_database_keeps_its_sentence_and_stays(app_home: Path, run_cli: RunCli) -> None:
    done_jobs(app_home, 1)
    raw = sqlite3.connect(database(app_home), isolation_level=None)
    raw.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    raw.close()
    for command in COMMANDS:
        result = run_cli(*command)
        assert_no_traceback(result.stderr)
        assert result.returncode == 2
        assert "was written by a newer Kling Desktop" in result.stderr
        assert result.stdout == "" or json.loads(result.stdout) is None
    assert damaged_copies(app_home) == []


def test_jobs_leaves_a_damaged_list_alone_while_another_process_uses_it(
    app_home: Path, run_cli: RunCli
) -> None:
    # Moving the file from under a running window would lose what it writes next: `jobs`
    # only says so; the holder (or the next start) sets it aside.
    original = garbage(app_home)
    holder = InstanceLock(app_home / "data", "kling-desktop resume")
    assert holder.try_acquire()
    try:
        result = run_cli("jobs")
    finally:
        holder.release()
    assert_no_traceback(result.stderr)
    assert result.returncode == 2
    assert result.stderr == (
        f"kling-desktop: The job list {database(app_home)} is damaged (it is not a database "
        f"file); kling-desktop resume (process {os.getpid()}) is using it, so it stays as it "
        "is until Kling Desktop or `kling-desktop resume` next starts and sets it aside.\n"
    )
    assert database(app_home).read_bytes() == original
    assert damaged_copies(app_home) == []
