"""Jobs in SQLite (WAL), so none is ever lost to a quit, a crash or ``kill -9`` (DESIGN §4.2).

Every state change is committed — and fsynced — before the side effect that depends on it
(DESIGN §4.1): the runner calls :meth:`JobStore.transition` and only then acts. The store is
safe to use from several threads; each call is one short transaction under a lock.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kling_desktop.jobs.model import Job, JobOptions, JobState, check_transition

SCHEMA_VERSION = 1

# Each entry upgrades the schema from version ``index`` to ``index + 1``.
_MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = []


def _migration(fn: Callable[[sqlite3.Connection], None]) -> Callable[[sqlite3.Connection], None]:
    _MIGRATIONS.append(fn)
    return fn


@_migration
def _v1(db: sqlite3.Connection) -> None:
    db.execute(
        """
        CREATE TABLE jobs (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            uid TEXT NOT NULL UNIQUE,
            input_path TEXT NOT NULL,
            state TEXT NOT NULL,
            options TEXT NOT NULL,
            duration_s REAL,
            upload_url TEXT NOT NULL DEFAULT '',
            task_id INTEGER,
            work_id INTEGER,
            result_url TEXT NOT NULL DEFAULT '',
            result_kind TEXT NOT NULL DEFAULT '',
            output_path TEXT,
            error_code TEXT NOT NULL DEFAULT '',
            error_message TEXT NOT NULL DEFAULT '',
            warnings TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL,
            submitted_at REAL,
            submit_attempts INTEGER NOT NULL DEFAULT 0,
            upload_attempts INTEGER NOT NULL DEFAULT 0,
            poll_errors INTEGER NOT NULL DEFAULT 0,
            slot_wait_since REAL
        )
        """
    )
    db.execute("CREATE INDEX jobs_state ON jobs(state)")


# The table has one column per Job field (options as JSON).
_COLUMNS = tuple(f.name for f in dataclasses.fields(Job))
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM jobs"


class StoreError(Exception):
    pass


class JobStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed "submitting" must survive a power cut, not only a crash.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._migrate()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- schema ---------------------------------------------------------------------------

    def _migrate(self) -> None:
        with self._tx() as db:
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"The job database {self.path} was written by a newer Kling Desktop "
                    f"(schema {version}); update the app."
                )
            for step in _MIGRATIONS[version:]:
                step(db)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- reading --------------------------------------------------------------------------

    def get(self, job_id: int) -> Job | None:
        with self._lock:
            row = self._db.execute(_SELECT + " WHERE id = ?", (job_id,)).fetchone()
        return _from_row(row) if row else None

    def all(self) -> list[Job]:
        with self._lock:
            rows = self._db.execute(_SELECT + " ORDER BY id").fetchall()
        return [_from_row(r) for r in rows]

    def in_states(self, *states: JobState) -> list[Job]:
        marks = ", ".join("?" for _ in states)
        with self._lock:
            rows = self._db.execute(
                f"{_SELECT} WHERE state IN ({marks}) ORDER BY id",
                [s.value for s in states],
            ).fetchall()
        return [_from_row(r) for r in rows]

    # -- writing --------------------------------------------------------------------------

    def add(
        self, input_path: Path, options: JobOptions, state: JobState = JobState.CHECKING
    ) -> Job:
        return self.add_many([input_path], options, state)[0]

    def add_many(
        self,
        input_paths: Sequence[Path],
        options: JobOptions,
        state: JobState = JobState.CHECKING,
    ) -> list[Job]:
        """Add several jobs in one transaction (one disk sync for a whole drop)."""
        added = []
        with self._tx() as db:
            for path in input_paths:
                job = Job(id=0, input_path=path, state=state, options=options)
                values = _to_row(job)
                del values["id"]
                marks = ", ".join("?" * len(values))
                cur = db.execute(
                    f"INSERT INTO jobs ({', '.join(values)}) VALUES ({marks})",
                    list(values.values()),
                )
                added.append(job.replace(id=int(cur.lastrowid or 0)))
        return added

    def transition(self, job_id: int, state: JobState, **fields: Any) -> Job:
        """Move a job to ``state`` (checked against the legal moves) and commit at once."""
        with self._tx():
            current = self.get(job_id)
            if current is None:
                raise StoreError(f"job {job_id} is gone")
            check_transition(job_id, current.state, state)
            return self._write(current, state=state, **fields)

    def transition_many(self, job_ids: Sequence[int], state: JobState) -> list[Job]:
        """Move several jobs to ``state`` in one transaction; all moves must be legal."""
        with self._tx():
            moved = []
            for job_id in job_ids:
                current = self.get(job_id)
                if current is None:
                    raise StoreError(f"job {job_id} is gone")
                check_transition(job_id, current.state, state)
                moved.append(self._write(current, state=state))
            return moved

    def update(self, job_id: int, **fields: Any) -> Job:
        """Change fields without changing the state."""
        if "state" in fields:
            raise ValueError("use transition() to change the state")
        with self._tx():
            current = self.get(job_id)
            if current is None:
                raise StoreError(f"job {job_id} is gone")
            return self._write(current, **fields)

    def remove(self, job_id: int) -> None:
        """Forget the job (files on disk are kept)."""
        with self._tx() as db:
            db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def _write(self, current: Job, **fields: Any) -> Job:
        new = current.replace(updated_at=time.time(), **fields)
        values = _to_row(new)
        job_id = values.pop("id")
        self._db.execute(
            f"UPDATE jobs SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?",
            [*values.values(), job_id],
        )
        return new


def _to_row(job: Job) -> dict[str, Any]:
    return {
        "id": job.id,
        "uid": job.uid,
        "input_path": str(job.input_path),
        "state": job.state.value,
        "options": json.dumps(dataclasses.asdict(job.options), sort_keys=True),
        "duration_s": job.duration_s,
        "upload_url": job.upload_url,
        "task_id": job.task_id,
        "work_id": job.work_id,
        "result_url": job.result_url,
        "result_kind": job.result_kind,
        "output_path": str(job.output_path) if job.output_path else None,
        "error_code": job.error_code,
        "error_message": job.error_message,
        "warnings": job.warnings,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
        "submitted_at": job.submitted_at,
        "submit_attempts": job.submit_attempts,
        "upload_attempts": job.upload_attempts,
        "poll_errors": job.poll_errors,
        "slot_wait_since": job.slot_wait_since,
    }


def _from_row(row: tuple[Any, ...]) -> Job:
    d = dict(zip(_COLUMNS, row, strict=True))
    known = {f.name for f in dataclasses.fields(JobOptions)}
    raw_options = json.loads(d["options"] or "{}")
    options = JobOptions(**{k: v for k, v in raw_options.items() if k in known})
    return Job(
        id=d["id"],
        uid=d["uid"],
        input_path=Path(d["input_path"]),
        state=JobState(d["state"]),
        options=options,
        duration_s=d["duration_s"],
        upload_url=d["upload_url"],
        task_id=d["task_id"],
        work_id=d["work_id"],
        result_url=d["result_url"],
        result_kind=d["result_kind"],
        output_path=Path(d["output_path"]) if d["output_path"] else None,
        error_code=d["error_code"],
        error_message=d["error_message"],
        warnings=d["warnings"],
        created_at=d["created_at"],
        updated_at=d["updated_at"],
        submitted_at=d["submitted_at"],
        submit_attempts=d["submit_attempts"],
        upload_attempts=d["upload_attempts"],
        poll_errors=d["poll_errors"],
        slot_wait_since=d["slot_wait_since"],
    )
