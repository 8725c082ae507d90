"""Jobs in SQLite (WAL), so none is ever lost to a quit, a crash or ``kill -9`` (DESIGN §4.2).

Every state change is committed — and fsynced — before the side effect that depends on it
(DESIGN §4.1): the runner calls :meth:`JobStore.transition` and only then acts. The store is
safe to use from several threads; each call is one short transaction under a lock.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import logging
import os
import shutil
import sqlite3
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kling_desktop.jobs import policy
from kling_desktop.jobs.model import (
    IllegalTransition,
    Job,
    JobOptions,
    JobState,
    check_transition,
)

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3

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
        "version INTEGER NOT NULL DEFAULT 0",
    ):
        db.execute(f"ALTER TABLE jobs ADD COLUMN {column}")
    # Jobs an older version sent: one confirmed request each, and one paid submit when a task
    # may exist (a task id, or an answer that never came).
    db.execute(
        "UPDATE jobs SET confirmed_requests = 1 "
        "WHERE state NOT IN ('checking', 'ready', 'rejected')"
    )
    # An older version also failed jobs whose submit got an unclear answer (a plain 5xx, an
    # odd 4xx) and jobs whose user gave up on an uncertain one: they may have created a task,
    # so sending them again needs the user's new confirmation.
    db.execute(
        "UPDATE jobs SET paid_submits = 1 WHERE task_id IS NOT NULL "
        "OR state IN ('submitting', 'uncertain') "
        "OR (state = 'failed' AND submit_attempts > 0)"
    )


@_migration
def _v3(db: sqlite3.Connection) -> None:
    """A clip made of several paid requests (parts of a long clip, takes): each request is a
    row of its own pointing at the clip's row; and what the service was learned to do."""
    for column in (
        "parent_id INTEGER",
        "part_index INTEGER NOT NULL DEFAULT 0",
        "take_index INTEGER NOT NULL DEFAULT 0",
        "requests INTEGER NOT NULL DEFAULT 0",
        "plan TEXT NOT NULL DEFAULT ''",
        "outputs TEXT NOT NULL DEFAULT ''",
        "crop_sent INTEGER",
    ):
        db.execute(f"ALTER TABLE jobs ADD COLUMN {column}")
    db.execute("CREATE INDEX jobs_parent ON jobs(parent_id)")
    db.execute("CREATE TABLE facts (name TEXT PRIMARY KEY, value TEXT NOT NULL)")


# The table has one column per Job field (options as JSON).
_COLUMNS = tuple(f.name for f in dataclasses.fields(Job))
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM jobs"


class StoreError(Exception):
    pass


class JobGone(StoreError):
    """The job was removed (by the user, or another process) while work on it ran."""


class SubmitNotAllowed(StoreError):
    """The job has no confirmed paid request left to spend: nothing is sent."""


class StoreDamaged(StoreError):
    """The file is not a readable job database, and was not set aside (``recover=False``)."""

    def __init__(self, message: str, path: Path, damage: str) -> None:
        super().__init__(message)
        self.path, self.damage = path, damage


class JobStore:
    def __init__(self, path: Path, *, recover: bool = True) -> None:
        """Open the job database at ``path``, made if there is none.

        A file that is not a readable job database (not SQLite, cut short, a pre-existing
        empty file, no job table) is moved aside — never deleted — with its -wal and -shm, a
        new one is made and every job that can still be read from the old one is copied in;
        :attr:`recovery_note` says so in one sentence. With ``recover=False`` (another process
        uses the file) :class:`StoreDamaged` is raised instead. A database from a newer app
        raises :class:`StoreError`, and is left alone.
        """
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        #: Commits per thread id: the window's GUI thread must never commit (it would wait
        #: on the disk, or on another process holding the database).
        self.commits: collections.Counter[int] = collections.Counter()
        #: One sentence when the file was damaged and set aside while opening, else "".
        self.recovery_note = ""
        #: Where the damaged file was moved (``None``: nothing was).
        self.damaged_copy: Path | None = None
        #: Jobs read back from the damaged file.
        self.recovered_jobs = 0
        #: Rows that cannot be read (job id → why): left out by get/all/in_states, not fatal.
        self.bad_rows: dict[int, str] = {}
        damage = _damage(path)
        if damage is not None and not recover:
            raise StoreDamaged(
                f"The job list {path} is damaged ({damage}) and another Kling Desktop is "
                "using it; it is set aside when the app or `kling-desktop resume` next starts.",
                path,
                damage,
            )
        if damage is not None:
            self.damaged_copy = _set_aside(path, damage)
        self._db = self._connect()
        if damage is not None and self.damaged_copy is not None:
            self.recovered_jobs = self._salvage(self.damaged_copy)
            self.recovery_note = _recovery_sentence(damage, self.damaged_copy, self.recovered_jobs)
            # The caller tells the user (stderr, the message bar); the log keeps it too.
            log.info("%s", self.recovery_note)
        self._migrate()

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed "submitting" must survive a power cut, not only a crash.
        db.execute("PRAGMA synchronous=FULL")
        db.execute("PRAGMA busy_timeout=5000")
        return db

    def _salvage(self, damaged: Path) -> int:
        """Copy every job still readable in ``damaged`` into this (new, empty) database.

        Rows go in at the damaged file's schema version, so :meth:`_migrate` then upgrades
        them as it would have upgraded the file itself. Best effort: what fails is skipped.
        """
        try:
            version, columns, rows, highest = _read_damaged(damaged)
        except Exception:
            log.warning("Nothing could be read back from %s", damaged, exc_info=True)
            return 0
        if not rows:
            return 0
        try:
            return self._copy_rows(version, columns, rows, highest)
        except sqlite3.Error:
            log.warning("The jobs read back from %s could not be copied", damaged, exc_info=True)
            return 0

    def _copy_rows(
        self, version: int, columns: list[str], rows: list[tuple[Any, ...]], highest: int
    ) -> int:
        copied = 0
        with self._tx() as db:
            for step in _MIGRATIONS[:version]:
                step(db)
            db.execute(f"PRAGMA user_version={version}")
            known = {r[1] for r in db.execute("PRAGMA table_info(jobs)")}
            keep = [i for i, name in enumerate(columns) if name in known]
            names = ", ".join(columns[i] for i in keep)
            marks = ", ".join("?" for _ in keep)
            for row in rows:
                try:
                    db.execute(
                        f"INSERT INTO jobs ({names}) VALUES ({marks})", [row[i] for i in keep]
                    )
                    copied += 1
                except sqlite3.Error as exc:
                    log.warning("A recovered job row could not be copied: %s", exc)
            # New jobs never take the id of a job that was lost with the damaged file.
            db.execute(
                "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'jobs'", (highest,)
            )
        return copied

    def notes(self) -> list[str]:
        """What the user should be told about this job list, once: a recovery, unreadable
        rows. Each is one plain sentence (or two)."""
        notes = [self.recovery_note] if self.recovery_note else []
        with self._lock:
            bad = dict(self.bad_rows)
        if bad:
            notes.append(_bad_rows_sentence(self.path, bad))
        return notes

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
        """The job, or ``None`` when there is none — or its row cannot be read
        (:attr:`bad_rows` says why)."""
        with self._lock:
            row = self._db.execute(_SELECT + " WHERE id = ?", (job_id,)).fetchone()
        return self._jobs([row])[0] if row else None

    def all(self) -> list[Job]:
        """Every job; a row that cannot be read is left out (and kept in :attr:`bad_rows`)."""
        with self._lock:
            rows = self._db.execute(_SELECT + " ORDER BY id").fetchall()
        return [j for j in self._jobs(rows) if j is not None]

    def task_owner(self, task_id: int) -> int | None:
        """The id of the job (or request) that tracks this Kling task, if any: read inside a
        transaction, the answer holds until it ends."""
        with self._lock:
            row = self._db.execute(
                "SELECT id FROM jobs WHERE task_id = ? ORDER BY id LIMIT 1", (task_id,)
            ).fetchone()
        return int(row[0]) if row else None

    def in_states(self, *states: JobState) -> list[Job]:
        marks = ", ".join("?" for _ in states)
        with self._lock:
            rows = self._db.execute(
                f"{_SELECT} WHERE state IN ({marks}) ORDER BY id",
                [s.value for s in states],
            ).fetchall()
        return [j for j in self._jobs(rows) if j is not None]

    def _jobs(self, rows: Sequence[tuple[Any, ...]]) -> list[Job | None]:
        out: list[Job | None] = []
        for row in rows:
            try:
                out.append(_from_row(row))
            except BadRow as exc:
                out.append(None)
                job_id = row[0]
                with self._lock:
                    known = job_id in self.bad_rows
                    self.bad_rows[job_id] = str(exc)
                if not known:
                    log.info("Job %s in %s cannot be read: %s", job_id, self.path, exc)
        return out

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
            try:
                check_transition(job_id, current.state, JobState.SUBMITTING)
            except IllegalTransition as exc:  # moved on meanwhile (cancelled, put together)
                raise SubmitNotAllowed(f"job {job_id}: it is {current.state.value} now") from exc
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
        """Put removed jobs back as they were (Edit → Undo), keeping their ids. A job that
        is still (or again) in the list is never overwritten by an older copy."""
        with self._tx() as db:
            restored = []
            for job in jobs:
                values = _to_row(job)
                marks = ", ".join("?" * len(values))
                cur = db.execute(
                    f"INSERT OR IGNORE INTO jobs ({', '.join(values)}) VALUES ({marks})",
                    list(values.values()),
                )
                if cur.rowcount:
                    restored.append(job)
            return restored

    def remove_many(self, job_ids: Sequence[int]) -> tuple[list[Job], list[Job]]:
        """Forget jobs, decided on the rows as stored: a job whose paid request is being sent
        (stored "submitting") is kept. A clip goes with its requests, or (one of them being
        sent) stays with all of them. Returns (removed, kept) as they were stored — the
        removed ones are what Undo puts back."""
        with self._tx() as db:
            removed, kept = [], []
            for job_id in job_ids:
                current = self.get(job_id)
                if current is None:
                    continue
                family = [current, *self.children(job_id)]
                if any(job.state is JobState.SUBMITTING for job in family):
                    kept.append(current)
                    continue
                for job in family:
                    db.execute("DELETE FROM jobs WHERE id = ?", (job.id,))
                removed.extend(family)
            return removed, kept

    def children(self, parent_id: int) -> list[Job]:
        """The requests of a clip made of several (part, then take, order)."""
        with self._lock:
            rows = self._db.execute(
                _SELECT + " WHERE parent_id = ? ORDER BY part_index, take_index, id",
                (parent_id,),
            ).fetchall()
        return [j for j in self._jobs(rows) if j is not None]

    def start_parts(
        self,
        parent_id: int,
        requests: Callable[[Job], Sequence[Job]],
        parent_changes: Callable[[int], dict[str, Any]],
    ) -> tuple[Job, list[Job]]:
        """Turn a ready clip into its paid requests, in one transaction: ``requests(clip)``
        says which rows to add (each carries its own confirmed request), and the clip's row
        takes ``parent_changes(how many)``. Nothing happens unless the clip is still ready."""
        with self._tx() as db:
            current = self.get(parent_id)
            if current is None:
                raise JobGone(f"job {parent_id} is gone")
            if current.state is not JobState.READY or self.children(parent_id):
                return current, []
            added = []
            for job in requests(current):
                values = _to_row(job)
                del values["id"]
                cur = db.execute(
                    f"INSERT INTO jobs ({', '.join(values)}) VALUES "
                    f"({', '.join('?' * len(values))})",
                    list(values.values()),
                )
                added.append(job.replace(id=int(cur.lastrowid or 0)))
            if not added:
                return current, []
            changes = parent_changes(len(added))
            if "state" in changes:
                check_transition(parent_id, current.state, changes["state"])
            return self._write(current, **changes), added

    def as_parts(self, job_id: int, cache_dir: Path) -> list[Job]:
        """A done clip that was one request itself becomes a clip of one part, so that it can
        be remixed: Kling's result is copied to the cache (it is the sound to remix from) and
        the request's paid history moves to the new request's row. Returns the new row
        ([] when there is nothing to do)."""
        from kling_desktop.jobs import parts

        with self._tx() as db:
            current = self.get(job_id)
            if current is None:
                raise JobGone(f"job {job_id} is gone")
            if current.requests or current.state is not JobState.DONE:
                return []
            if current.output_path is None or not current.output_path.is_file():
                raise StoreError(f"The result of job {job_id} is gone; there is nothing to remix.")
            where = parts.folder(cache_dir, current)
            where.mkdir(parents=True, exist_ok=True)
            kept = where / "part1.sound.mp4"
            shutil.copy2(current.output_path, kept)
            request = current.replace(
                id=0,
                uid=uuid.uuid4().hex,
                parent_id=job_id,
                part_index=0,
                take_index=0,
                input_path=where / "part1.mp4",
                output_path=kept,
                requests=0,
                plan="",
                outputs="",
                options=dataclasses.replace(current.options, output_dir=str(where)),
            )
            values = _to_row(request)
            del values["id"]
            cur = db.execute(
                f"INSERT INTO jobs ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
                list(values.values()),
            )
            request = request.replace(id=int(cur.lastrowid or 0))
            plan = current.plan or parts.whole_clip_plan(current.duration_s or 0.0)
            self._write(
                current,
                requests=1,
                plan=plan,
                task_id=None,
                work_id=None,
                result_url="",
                confirmed_requests=0,
                paid_submits=0,
            )
            return [request]

    def fact(self, name: str) -> str | None:
        """Something the app learned about the service (e.g. how it reads a flag)."""
        with self._lock:
            row = self._db.execute("SELECT value FROM facts WHERE name = ?", (name,)).fetchone()
        return str(row[0]) if row else None

    def learn(self, name: str, value: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO facts (name, value) VALUES (?, ?)", (name, value))

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
        # ``version`` orders snapshots of one job (the wall clock may step back).
        new = current.replace(updated_at=time.time(), version=current.version + 1, **fields)
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


class BadRow(ValueError):
    """A stored row that is not a job (why, in words)."""


def _column_kinds() -> dict[str, tuple[str, bool]]:
    """Column → (``"number"`` or ``"text"``, may be NULL), from the Job fields' annotations."""
    kinds = {}
    for f in dataclasses.fields(Job):
        annotation = str(f.type)
        kind = "number" if annotation.split(" |")[0] in ("int", "float") else "text"
        kinds[f.name] = (kind, "None" in annotation)
    return kinds


_KINDS = _column_kinds()


def _from_row(row: tuple[Any, ...]) -> Job:
    """The job in ``row``; raises :class:`BadRow` (with a reason) for a row that is not one."""
    values = dict(zip(_COLUMNS, row, strict=True))
    for name, (kind, nullable) in _KINDS.items():
        value = values[name]
        if value is None or (value == "" and name in ("uid", "input_path", "state")):
            if not nullable and name != "options":
                raise BadRow(f"its {name} is missing")
        elif kind == "number" and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise BadRow(f"its {name} is not a number ({value!r})")
        elif kind == "text" and not isinstance(value, str):
            raise BadRow(f"its {name} is not text ({value!r})")
    try:
        raw_options = json.loads(values["options"] or "{}")
    except ValueError:
        raise BadRow("its options are not valid JSON") from None
    if not isinstance(raw_options, dict):
        raise BadRow("its options are not a JSON object")
    try:
        values["options"] = JobOptions(
            **{k: v for k, v in raw_options.items() if k in _OPTION_FIELDS}
        )
        values["state"] = JobState(values["state"])
    except ValueError:
        raise BadRow(f"its state {values['state']!r} is unknown") from None
    for name in _PATH_FIELDS:
        values[name] = Path(values[name]) if values[name] else None
    return Job(**values)


# -- a damaged database --------------------------------------------------------------------


def _damage(path: Path) -> str | None:
    """Why the file at ``path`` is not a readable job database, or ``None`` (it is one, it is
    from a newer app — :meth:`JobStore._migrate` says so —, or there is none yet).

    Read through a read-only connection, so a damaged file is not written to before it is
    set aside. Raises :class:`StoreError` when the file cannot be opened at all (permissions,
    a lock): that is not damage, and moving it would not help.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
    # Only a file that was there before: one made by this process has its header by now
    # (JobStore sets WAL mode, which writes it, before anything else).
    if size == 0 and (not wal.exists() or wal.stat().st_size == 0):
        return "it was empty (0 bytes)"
    had_wal = wal.exists() or shm.exists()
    try:
        db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error as exc:
        raise StoreError(f"The job list {path} could not be opened: {exc}.") from exc
    try:
        return _check(db, path)
    finally:
        db.close()
        # The read-only look may have made an empty -wal and an -shm: not the user's.
        if not had_wal and wal.exists() and wal.stat().st_size == 0:
            wal.unlink(missing_ok=True)
            shm.unlink(missing_ok=True)


def _check(db: sqlite3.Connection, path: Path) -> str | None:
    try:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            return None
        problems = [r[0] for r in db.execute("PRAGMA quick_check(5)")]
        if problems != ["ok"]:
            log.info("%s fails its quick check: %s", path, "; ".join(problems))
            return "its contents are damaged"
        if version == 0:
            tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            return "it is not a Kling Desktop job list" if tables else None
        columns = _SELECT if version == SCHEMA_VERSION else "SELECT id, uid, state FROM jobs"
        db.execute(columns + " LIMIT 0")
        return None
    except sqlite3.DatabaseError as exc:
        why = _damage_reason(exc)
        if why is None:
            raise StoreError(f"The job list {path} could not be read: {exc}.") from exc
        log.info("%s is damaged: %s", path, exc)
        return why


def _damage_reason(exc: sqlite3.Error) -> str | None:
    text = str(exc).lower()
    if "not a database" in text:
        return "it is not a database file"
    if "malformed" in text or "corrupt" in text:
        return "its contents are damaged"
    if "no such table" in text or "no such column" in text:
        return "its job table is missing or incomplete"
    return None  # locked, busy, permissions, out of memory: not the file's fault


def _set_aside(path: Path, damage: str) -> Path:
    """Move the damaged database (and its -wal/-shm) to ``<name>.damaged-YYYYmmdd-HHMMSS``."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while any(Path(f"{aside}{s}").exists() for s in ("", "-wal", "-shm")):
        n += 1
        aside = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
    try:
        os.replace(path, aside)
    except OSError as exc:
        raise StoreError(
            f"The job list {path} is damaged ({damage}) and could not be moved aside: "
            f"{exc.strerror or exc}. Move it somewhere else and start again."
        ) from exc
    for suffix in ("-wal", "-shm"):
        try:
            os.replace(f"{path}{suffix}", f"{aside}{suffix}")
        except FileNotFoundError:
            pass
        except OSError:
            log.warning("Could not move %s%s aside", path, suffix, exc_info=True)
    return aside


def _read_damaged(damaged: Path) -> tuple[int, list[str], list[tuple[Any, ...]], int]:
    """(schema version, column names, rows by id, highest id ever given) of what can still be
    read from ``damaged`` — from a copy, so the file set aside keeps its exact bytes."""
    with tempfile.TemporaryDirectory(prefix="kling-recover-") as scratch:
        copy = Path(scratch) / "jobs.sqlite3"
        shutil.copyfile(damaged, copy)
        if Path(f"{damaged}-wal").exists():
            shutil.copyfile(f"{damaged}-wal", f"{copy}-wal")
        pages = _fit_header(copy)
        db = sqlite3.connect(str(copy), timeout=1)
        try:
            return _read_rows(db, pages)
        finally:
            db.close()


def _fit_header(copy: Path) -> int:
    """Make a file that was cut short readable again: whole pages only, and the page count
    in its header saying so (SQLite refuses a file shorter than its header claims). Returns
    the file's size in units of 64 bytes, a bound on how many rows it may hold."""
    with copy.open("r+b") as f:
        header = f.read(100)
        size = f.seek(0, os.SEEK_END)
        if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
            return size // 64
        page_size = int.from_bytes(header[16:18], "big")
        page_size = 65536 if page_size == 1 else page_size
        if page_size < 512 or page_size & (page_size - 1):
            return size // 64
        pages = size // page_size
        f.truncate(pages * page_size)
        if int.from_bytes(header[28:32], "big") > pages:
            f.seek(28)
            f.write(pages.to_bytes(4, "big"))
        return pages * page_size // 64


def _read_rows(
    db: sqlite3.Connection, bound: int
) -> tuple[int, list[str], list[tuple[Any, ...]], int]:
    try:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error:
        version = 0
    try:
        columns = [str(r[1]) for r in db.execute("PRAGMA table_info(jobs)")]
    except sqlite3.Error:
        return 0, [], [], 0
    if "id" not in columns:
        return 0, [], [], 0
    if not 1 <= version <= SCHEMA_VERSION:  # unreadable: judge by the columns there are
        version = SCHEMA_VERSION if set(_COLUMNS) <= set(columns) else 1
    key = columns.index("id")
    select = f"SELECT {', '.join(columns)} FROM jobs"
    found: dict[int, tuple[Any, ...]] = {}
    whole = False
    # A damaged page ends a scan: read from both ends, then look up each id in between.
    for order in ("ASC", "DESC"):
        try:
            for row in db.execute(f"{select} ORDER BY id {order}"):
                if isinstance(row[key], int):
                    found.setdefault(row[key], row)
            whole = True
            break
        except sqlite3.Error:
            continue
    highest = max(found, default=0)
    try:
        seq = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'jobs'").fetchone()
        if seq and isinstance(seq[0], int):
            highest = max(highest, seq[0])
    except sqlite3.Error:
        pass
    if not whole:
        for job_id in range(1, min(max(highest, bound), 1_000_000) + 1):
            if job_id in found:
                continue
            try:
                row = db.execute(f"{select} WHERE id = ?", (job_id,)).fetchone()
            except sqlite3.Error:
                continue
            if row is not None:
                found[job_id] = row
    return version, columns, [found[i] for i in sorted(found)], highest


def _recovery_sentence(damage: str, aside: Path, recovered: int) -> str:
    if damage.startswith("it was empty"):
        return f"The job list was empty (0 bytes); it was moved to {aside} and a new one started."
    if recovered == 0:
        found = "no job could be read back from it; a new, empty job list was started"
    elif recovered == 1:
        found = "1 job was recovered from it"
    else:
        found = f"{recovered} jobs were recovered from it"
    return f"The job list was damaged ({damage}); it was moved to {aside} and {found}."


def _bad_rows_sentence(path: Path, bad: dict[int, str]) -> str:
    shown = "; ".join(f"job {job_id}: {why}" for job_id, why in sorted(bad.items())[:5])
    more = f"; and {len(bad) - 5} more" if len(bad) > 5 else ""
    if len(bad) == 1:
        head = "1 job in the job list cannot be read and is left out"
    else:
        head = f"{len(bad)} jobs in the job list cannot be read and are left out"
    return f"{head} ({shown}{more}). It stays in {path} as it is."
