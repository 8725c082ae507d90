"""A damaged job database: set aside (never deleted), a new one made, what can be read copied
back, and one sentence to show; a bad row is left out and reported, never fatal (issue 10)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from kling_desktop.jobs.model import Job, JobOptions, JobState
from kling_desktop.jobs.store import (
    _MIGRATIONS,
    SCHEMA_VERSION,
    JobStore,
    StoreDamaged,
    StoreError,
)


def damaged_copies(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.iterdir() if re.search(r"\.damaged-\d{8}-\d{6}(-\d+)?$", p.name)
    )


def store_with_jobs(db: Path, count: int) -> list[Job]:
    store = JobStore(db)
    jobs = store.add_many([Path(f"/clips/clip-{i:04}.mp4") for i in range(count)], JobOptions())
    store.close()  # the last connection checkpoints: everything is in the main file
    assert not Path(f"{db}-wal").exists()
    return jobs


def test_a_garbage_file_is_set_aside_and_a_new_list_started(tmp_path: Path) -> None:
    db = tmp_path / "jobs.sqlite3"
    garbage = b"this is not a database, just some words\n" * 50
    db.write_bytes(garbage)
    store = JobStore(db)
    [aside] = damaged_copies(tmp_path)
    assert aside.read_bytes() == garbage
    assert store.damaged_copy == aside
    assert store.recovery_note == (
        f"The job list was damaged (it is not a database file); it was moved to {aside} and "
        "no job could be read back from it; a new, empty job list was started."
    )
    assert store.notes() == [store.recovery_note]
    assert store.all() == []
    job = store.add(Path("/clips/new.mp4"), JobOptions())
    store.close()
    again = JobStore(db)  # the new list is a good one: nothing to say the next time
    assert again.recovery_note == "" and again.notes() == []
    assert [j.id for j in again.all()] == [job.id]
    again.close()


def test_a_truncated_file_gives_back_the_jobs_it_still_holds(tmp_path: Path) -> None:
    db = tmp_path / "jobs.sqlite3"
    jobs = store_with_jobs(db, 300)
    whole = db.read_bytes()
    cut = whole[: len(whole) * 6 // 10]
    db.write_bytes(cut)
    store = JobStore(db)
    [aside] = damaged_copies(tmp_path)
    assert aside.read_bytes() == cut
    back = store.all()
    assert 0 < len(back) < 300
    assert store.recovered_jobs == len(back)
    assert store.recovery_note == (
        f"The job list was damaged (its contents are damaged); it was moved to {aside} and "
        f"{len(back)} jobs were recovered from it."
    )
    by_id = {j.id: j for j in jobs}
    for job in back:  # the very same jobs, not look-alikes
        assert job.uid == by_id[job.id].uid
        assert job.input_path == by_id[job.id].input_path
        assert job.state is JobState.CHECKING
    # A new job never takes the id of one that was lost with the damaged part.
    new = store.add(Path("/clips/new.mp4"), JobOptions())
    assert new.id > 300
    store.close()


def test_a_damaged_page_in_the_middle_still_gives_back_the_rest(tmp_path: Path) -> None:
    db = tmp_path / "jobs.sqlite3"
    store_with_jobs(db, 300)
    data = bytearray(db.read_bytes())
    page = 4096
    # Table leaf pages start with 0x0D; break one in the middle of the file.
    leaves = [n for n in range(1, len(data) // page) if data[n * page] == 0x0D]
    broken = leaves[len(leaves) // 2]
    data[broken * page : broken * page + 200] = b"\xff" * 200
    db.write_bytes(bytes(data))
    store = JobStore(db)
    assert store.damaged_copy is not None
    assert store.damaged_copy.read_bytes() == bytes(data)
    assert "its contents are damaged" in store.recovery_note
    # Rows on both sides of the broken page come back (a scan from each end, then look-ups).
    back = [j.id for j in store.all()]
    assert 250 < len(back) < 300
    assert back[0] == 1 and back[-1] == 300
    store.close()


def test_a_pre_existing_empty_file_is_set_aside_and_reported(tmp_path: Path) -> None:
    db = tmp_path / "jobs.sqlite3"
    db.write_bytes(b"")
    store = JobStore(db)
    [aside] = damaged_copies(tmp_path)
    assert aside.stat().st_size == 0
    assert store.recovery_note == (
        f"The job list was empty (0 bytes); it was moved to {aside} and a new one started."
    )
    assert db.stat().st_size > 0
    store.close()


def test_a_new_file_is_not_damage(tmp_path: Path) -> None:
    db = tmp_path / "jobs.sqlite3"
    store = JobStore(db)  # SQLite makes the file empty; the store writes its header at once
    other = JobStore(db)
    assert store.notes() == [] and other.notes() == []
    other.close()
    store.close()
    assert damaged_copies(tmp_path) == []


def test_the_wal_and_shm_go_aside_with_it(tmp_path: Path) -> None:
    db = tmp_path / "jobs.sqlite3"
    db.write_bytes(b"garbage" * 100)
    Path(f"{db}-wal").write_bytes(b"wal bytes")
    Path(f"{db}-shm").write_bytes(b"shm bytes")
    store = JobStore(db)
    aside = store.damaged_copy
    assert aside is not None
    assert Path(f"{aside}-wal").read_bytes() == b"wal bytes"
    assert Path(f"{aside}-shm").exists()  # SQLite's shared-memory index: rebuilt, not data
    assert not Path(f"{db}-shm").read_bytes().startswith(b"shm bytes")
    store.close()


def test_two_damages_in_one_second_keep_both_copies(tmp_path: Path) -> None:
    db = tmp_path / "jobs.sqlite3"
    for n in range(2):
        db.write_bytes(b"garbage %d" % n * 100)
        JobStore(db).close()
    copies = damaged_copies(tmp_path)
    assert len(copies) == 2
    assert {c.read_bytes()[:9] for c in copies} == {b"garbage 0", b"garbage 1"}


def test_a_newer_schema_keeps_its_error_and_is_not_moved(tmp_path: Path) -> None:
    db = tmp_path / "jobs.sqlite3"
    JobStore(db).close()
    raw = sqlite3.connect(db)
    raw.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match="newer Kling Desktop"):
        JobStore(db)
    assert damaged_copies(tmp_path) == []


def test_without_recover_damage_raises_and_the_file_stays(tmp_path: Path) -> None:
    db = tmp_path / "jobs.sqlite3"
    db.write_bytes(b"garbage" * 100)
    with pytest.raises(StoreDamaged, match="is damaged"):
        JobStore(db, recover=False)
    assert db.read_bytes() == b"garbage" * 100
    assert damaged_copies(tmp_path) == []


def test_an_old_schema_is_recovered_and_then_migrated(tmp_path: Path) -> None:
    # A version-1 file (before the pay-once counters): its rows must come back with what the
    # v2 migration gives them, or a job with a task could be paid for again.
    db = tmp_path / "jobs.sqlite3"
    raw = sqlite3.connect(db, isolation_level=None)
    raw.execute("PRAGMA journal_mode=DELETE")
    _MIGRATIONS[0](raw)
    raw.execute("PRAGMA user_version=1")
    raw.execute("BEGIN")
    for i, (state, task) in enumerate([("processing", 77), ("ready", None)] * 1000):
        raw.execute(
            "INSERT INTO jobs (uid, input_path, state, options, task_id, created_at, updated_at)"
            " VALUES (?, ?, ?, '{}', ?, 1.0, 1.0)",
            (f"uid-{i}", f"/clips/{i}.mp4", state, task),
        )
    raw.execute("COMMIT")
    raw.close()
    data = db.read_bytes()
    db.write_bytes(data[: len(data) * 8 // 10])
    store = JobStore(db)
    back = store.all()
    assert back and store.recovered_jobs == len(back)
    for job in back:
        if job.task_id is not None:
            assert job.state is JobState.PROCESSING
            assert (job.confirmed_requests, job.paid_submits) == (1, 1)
        else:
            assert (job.confirmed_requests, job.paid_submits) == (0, 0)
    version = store._db.execute("PRAGMA user_version").fetchone()[0]
    assert version == SCHEMA_VERSION
    store.close()


# -- one bad row among good ones ------------------------------------------------------------


def drop_not_null(db: Path, column: str) -> None:
    """Make ``column`` nullable, as an older or foreign writer might have left it."""
    raw = sqlite3.connect(db, isolation_level=None)
    raw.execute("PRAGMA writable_schema=ON")
    raw.execute(
        "UPDATE sqlite_master SET sql = replace(sql, ?, ?) WHERE name = 'jobs'",
        (f"{column} TEXT NOT NULL", f"{column} TEXT"),
    )
    raw.execute("PRAGMA writable_schema=OFF")
    raw.close()


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("UPDATE jobs SET state = 'exploded' WHERE id = ?", "its state 'exploded' is unknown"),
        ("UPDATE jobs SET options = '{not json' WHERE id = ?", "its options are not valid JSON"),
        ("UPDATE jobs SET options = '[1, 2]' WHERE id = ?", "its options are not a JSON object"),
        ("UPDATE jobs SET input_path = NULL WHERE id = ?", "its input_path is missing"),
        ("UPDATE jobs SET created_at = 'yesterday' WHERE id = ?", "its created_at is not a number"),
        ("UPDATE jobs SET uid = X'00ff' WHERE id = ?", "its uid is not text"),
    ],
)
def test_one_bad_row_is_left_out_and_reported(tmp_path: Path, sql: str, reason: str) -> None:
    db = tmp_path / "jobs.sqlite3"
    jobs = store_with_jobs(db, 3)
    drop_not_null(db, "input_path")
    bad = jobs[1].id
    raw = sqlite3.connect(db, isolation_level=None)
    raw.execute(sql, (bad,))
    raw.close()
    store = JobStore(db)
    assert store.recovery_note == ""  # the file is fine: only a row is not
    assert [j.id for j in store.all()] == [jobs[0].id, jobs[2].id]
    assert store.get(bad) is None
    assert store.get(jobs[0].id) is not None
    assert bad not in [j.id for j in store.in_states(*JobState)]
    assert list(store.bad_rows) == [bad]
    assert store.bad_rows[bad].startswith(reason)
    assert store.notes() == [
        f"1 job in the job list cannot be read and is left out (job {bad}: "
        f"{store.bad_rows[bad]}). It stays in {db} as it is."
    ]
    # The good jobs still work as ever.
    store.transition(jobs[2].id, JobState.READY)
    store.close()
    assert damaged_copies(tmp_path) == []


def test_several_bad_rows_in_one_sentence(tmp_path: Path) -> None:
    db = tmp_path / "jobs.sqlite3"
    jobs = store_with_jobs(db, 9)
    raw = sqlite3.connect(db, isolation_level=None)
    raw.execute("UPDATE jobs SET state = 'x' WHERE id > ?", (jobs[1].id,))
    raw.close()
    store = JobStore(db)
    assert len(store.all()) == 2
    [note] = store.notes()
    assert note.startswith("7 jobs in the job list cannot be read and are left out (job 3: ")
    assert "; and 2 more)" in note
    store.close()
