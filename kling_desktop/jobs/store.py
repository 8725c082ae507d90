"""Jobs in SQLite (WAL), so none is ever lost to a quit, a crash or ``kill -9`` (DESIGN §4.2).

Every state change is committed — and fsynced — before the side effect that depends on it
(DESIGN §4.1): the runner calls :meth:`JobStore.transition` and only then acts. The store is
safe to use from several threads; each call is one short transaction under a lock.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kling_desktop.jobs import policy
from kling_desktop.jobs.model import Job, JobOptions, JobState, check_transition

SCHEMA_VERSION = 2

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


@_migration
def _v2(db: sqlite3.Connection) -> None:
    """The pay-once counters (jobs/policy.py) and what the clip was when it was checked."""
    for column in (
        "confirmed_requests INTEGER NOT NULL DEFAULT 0",
        "paid_submits INTEGER NOT NULL DEFAULT 0",
        "input_size INTEGER",
        "input_mtime REAL",
        "download_attempts INTEGER NOT NULL DEFAULT 0",
        "reconcile_attempts INTEGER NOT NULL DEFAULT 0",
    ):
        db.execute(f"ALTER TABLE jobs ADD COLUMN {column}")
    # Jobs an older version sent: one confirmed request each, and one paid submit when a task
    # may exist (a task id, or an answer that never came).
    db.execute(
        "UPDATE jobs SET confirmed_requests = 1 "
        "WHERE state NOT IN ('checking', 'ready', 'rejected')"
    )
    db.execute(
        "UPDATE jobs SET paid_submits = 1 WHERE task_id IS NOT NULL "
        "OR state IN ('submitting', 'uncertain')"
    )


# The table has one column per Job field (options as JSON).
_COLUMNS = tuple(f.name for f in dataclasses.fields(Job))
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM jobs"


class StoreError(Exception):
    pass


class JobGone(StoreError):
    """The job was removed (by the user, or another process) while work on it ran."""


class SubmitNotAllowed(StoreError):
    """The job has no confirmed paid request left to spend: nothing is sent."""


class JobStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        #: Commits per thread id: the window's GUI thread must never commit (it would wait
        #: on the disk, or on another process holding the database).
        self.commits: collections.Counter[int] = collections.Counter()
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
        with self._lock:
            version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version == SCHEMA_VERSION:
            return  # nothing to write: opening never waits on another process's lock
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
            self.commits[threading.get_ident()] += 1

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
                raise JobGone(f"job {job_id} is gone")
            check_transition(job_id, current.state, state)
            return self._write(current, state=state, **fields)

    def transition_many(self, job_ids: Sequence[int], state: JobState) -> list[Job]:
        """Move several jobs to ``state`` in one transaction; all moves must be legal."""
        with self._tx():
            moved = []
            for job_id in job_ids:
                current = self.get(job_id)
                if current is None:
                    raise JobGone(f"job {job_id} is gone")
                check_transition(job_id, current.state, state)
                moved.append(self._write(current, state=state))
            return moved

    def begin_submit(self, job_id: int, now: float, **fields: Any) -> Job:
        """Commit "submitting" — before the paid request is sent — or refuse.

        The decision is taken inside the transaction on the row as stored, so two runners
        (threads or processes) can never both spend the job's one confirmed request.
        """
        with self._tx():
            current = self.get(job_id)
            if current is None:
                raise JobGone(f"job {job_id} is gone")
            if not policy.may_submit(current):
                raise SubmitNotAllowed(
                    f"job {job_id}: {current.paid_submits} of {current.confirmed_requests} "
                    f"confirmed paid requests already sent (state {current.state.value})"
                )
            check_transition(job_id, current.state, JobState.SUBMITTING)
            return self._write(
                current,
                state=JobState.SUBMITTING,
                submitted_at=now,
                submit_attempts=current.submit_attempts + 1,
                paid_submits=current.paid_submits + 1,
                **fields,
            )

    def apply(self, job_id: int, decide: Callable[[Job], dict[str, Any] | None]) -> Job:
        """Read the job, let ``decide`` say what changes (``state`` included), write it — all in
        one transaction, so the decision is taken on the row as stored, not a stale copy."""
        with self._tx():
            current = self.get(job_id)
            if current is None:
                raise JobGone(f"job {job_id} is gone")
            changes = decide(current)
            if not changes:
                return current
            if "state" in changes and changes["state"] is not current.state:
                check_transition(job_id, current.state, changes["state"])
            return self._write(current, **changes)

    def restore(self, jobs: Sequence[Job]) -> list[Job]:
        """Put removed jobs back as they were (Edit → Undo), keeping their ids."""
        with self._tx() as db:
            for job in jobs:
                values = _to_row(job)
                marks = ", ".join("?" * len(values))
                db.execute(
                    f"INSERT OR REPLACE INTO jobs ({', '.join(values)}) VALUES ({marks})",
                    list(values.values()),
                )
        return list(jobs)

    def remove_many(self, job_ids: Sequence[int]) -> None:
        with self._tx() as db:
            db.executemany("DELETE FROM jobs WHERE id = ?", [(i,) for i in job_ids])

    def apply_many(
        self, job_ids: Sequence[int], decide: Callable[[Job], dict[str, Any] | None]
    ) -> list[Job]:
        """:meth:`apply` for several jobs in one transaction (one disk sync for a batch);
        jobs that are gone are skipped."""
        with self._tx():
            out = []
            for job_id in job_ids:
                current = self.get(job_id)
                if current is None:
                    continue
                changes = decide(current)
                if changes:
                    if "state" in changes and changes["state"] is not current.state:
                        check_transition(job_id, current.state, changes["state"])
                    current = self._write(current, **changes)
                out.append(current)
            return out

    def update(self, job_id: int, **fields: Any) -> Job:
        """Change fields without changing the state."""
        if "state" in fields:
            raise ValueError("use transition() to change the state")
        with self._tx():
            current = self.get(job_id)
            if current is None:
                raise JobGone(f"job {job_id} is gone")
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


_PATH_FIELDS = frozenset({"input_path", "output_path"})
_OPTION_FIELDS = frozenset(f.name for f in dataclasses.fields(JobOptions))


def _to_row(job: Job) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name in _COLUMNS:
        value = getattr(job, name)
        if name == "options":
            value = json.dumps(dataclasses.asdict(value), sort_keys=True)
        elif name == "state":
            value = value.value
        elif name in _PATH_FIELDS:
            value = str(value) if value is not None else None
        row[name] = value
    return row


def _from_row(row: tuple[Any, ...]) -> Job:
    values = dict(zip(_COLUMNS, row, strict=True))
    raw_options = json.loads(values["options"] or "{}")
    values["options"] = JobOptions(**{k: v for k, v in raw_options.items() if k in _OPTION_FIELDS})
    values["state"] = JobState(values["state"])
    for name in _PATH_FIELDS:
        values[name] = Path(values[name]) if values[name] else None
    return Job(**values)
