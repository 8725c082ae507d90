"""The job engine: drives every job through check → upload → submit → poll → download.

Used by the window and the command line alike. It lives on the owner's thread and never blocks
it: checks, uploads, submits, polls and downloads run on pooled QThreads, and their outcomes
come back as queued signals. Polls are scheduled with timers, so 200 processing jobs need no
more threads than the network pool's few.

Every decision — what a reply, an error or a restart means for a job, and whether money may
be spent — is taken by ``jobs/policy.py`` inside the store's transaction; the engine carries
decisions out. The owner (GUI) thread never writes to the database: user actions are written
by a one-thread store pool, in order.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal, Slot

from kling_desktop.cancel import Cancelled, CancelToken
from kling_desktop.jobs import parts, pipeline, policy
from kling_desktop.jobs.model import Job, JobOptions, JobState
from kling_desktop.jobs.policy import Action, Decision
from kling_desktop.jobs.store import JobGone, JobStore
from kling_desktop.runner.steps import (
    Outcome,
    Progress,
    Relay,
    Steps,
    is_store_error,
    unless_moved,
)
from kling_desktop.runner.timers import Timers
from kling_desktop.runner.worker import run_in_thread
from kling_desktop.settings import Settings

if TYPE_CHECKING:  # requests loads with the first client, not with the window
    from kling_desktop.api.client import KlingClient

__all__ = ["BatchSummary", "ClientFactory", "JobRunner", "NoClient", "Progress"]

log = logging.getLogger(__name__)

S = JobState
PROCESSING_LIMIT_S = policy.PROCESSING_LIMIT_S


@dataclass(frozen=True)
class BatchSummary:
    """Sent once when the engine goes idle after working: failures first."""

    done: list[Job] = field(default_factory=list)
    failed: list[Job] = field(default_factory=list)  # failed, uncertain, stopped

    @property
    def headline(self) -> str:
        parts = []
        if self.failed:
            parts.append(f"{len(self.failed)} need attention")
        if self.done:
            parts.append(f"{len(self.done)} done")
        return ", ".join(parts) or "Nothing to do"


ClientFactory = Callable[[], "KlingClient | None"]


#: Kept for callers that name them here; the policy owns the values.
NoClient = pipeline.NoClient
TRANSFER_TRIES = policy.TRANSFER_TRIES


class JobRunner(QObject):
    job_added = Signal(object)  # Job
    job_changed = Signal(object)  # Job: the new snapshot
    job_removed = Signal(int)  # job id
    job_progress = Signal(int, object)  # job id, Progress
    files_added = Signal(object)  # list[int]: the ids of one add_files() call, in order
    batch_finished = Signal(object)  # BatchSummary
    connection_changed = Signal(bool, str)  # online, a sentence for the status bar
    idle_changed = Signal(bool)  # True when nothing is active
    store_trouble = Signal(str)  # a sentence: the database could not be written (retrying)

    def __init__(
        self,
        store: JobStore,
        client_factory: ClientFactory,
        settings: Settings,
        *,
        transfer_backoff_s: float = 2.0,
        reconcile_backoff_s: float = policy.RECONCILE_BACKOFF.base_s,
        clock: Callable[[], float] = time.time,
        cache_dir: Path | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._clock = clock
        self._store = store
        self._client_factory = client_factory
        self._settings = settings
        self._jobs: dict[int, Job] = {job.id: job for job in store.all()}
        self._progress: dict[int, Progress] = {}
        self._busy: dict[int, CancelToken] = {}  # jobs with a worker in flight
        # Scheduled actions (next poll, next slot try, ...): one timer for all of them.
        self._timers = Timers(
            lambda job_id: job_id in self._jobs and job_id not in self._busy, self
        )
        self._start_after_check: set[int] = set()
        self._not_before: dict[int, float] = {}  # queued jobs backing off after a failure
        self._store_errors: dict[int, int] = {}  # steps whose database write failed, in a row
        self._batch: set[int] = set()
        self._online: bool | None = None
        self._idle = True
        self._shutting_down = False
        self._local = threading.local()
        self._client_generation = 0
        # Checks are quick and local: their own pool, so 100 dropped files never hold up
        # an upload. Uploads/downloads are bounded by the concurrency setting. Submits and
        # polls are short requests on a small pool, however many jobs are processing. The
        # owner thread's own writes go to one store thread, in order.
        self._check_pool = _pool(2)
        self._transfer_pool = _pool(settings.concurrency)
        self._net_pool = _pool(4)
        self._db_pool = _pool(1)
        # Putting clips of parts together (decoding, mixing, muxing): one at a time.
        self._finish_pool = _pool(1)
        self._cache_dir = cache_dir or store.path.parent / "cache"
        self._store_wait = threading.Event()  # set at shutdown: stop waiting for a lock
        self._calls_out = 0  # work handed to a pool whose outcome has not been handled yet
        self._removed_rows: dict[int, Job] = {}  # the store thread's: rows Undo puts back
        self._relay = Relay(self)
        self._relay.changed.connect(self._on_changed)
        self._relay.progress.connect(self._on_progress)
        self._relay.online.connect(lambda: self._set_online(True, "Connected"))
        self._steps = Steps(
            store,
            settings,
            self._relay,
            cache_dir=self._cache_dir,
            clock=clock,
            transfer_backoff=policy.Backoff(base_s=transfer_backoff_s, cap_s=60.0, jitter=0.2),
            reconcile_backoff=dataclasses.replace(
                policy.RECONCILE_BACKOFF, base_s=reconcile_backoff_s
            ),
            shutting_down=lambda: self._shutting_down,
        )
        # Set when the service refused the token (or there is none): queued clips wait for
        # client_changed() instead of failing one after another.
        self._paused_reason = ""

    # -- reading --------------------------------------------------------------------------

    def jobs(self) -> list[Job]:
        """The user's clips, as they show them: a clip of parts with its requests' state
        (:func:`jobs.parts.view`); the requests themselves are :meth:`requests_of`."""
        return [
            self._view(self._jobs[k]) for k in sorted(self._jobs) if self._jobs[k].parent_id is None
        ]

    def _all(self) -> list[Job]:
        """Every row as stored, requests of clips of parts too (the engine's own view)."""
        return [self._jobs[k] for k in sorted(self._jobs)]

    def job(self, job_id: int) -> Job | None:
        job = self._jobs.get(job_id)
        return self._view(job) if job is not None else None

    def requests_of(self, job_id: int) -> list[Job]:
        """The paid requests of a clip of parts (part, then take, order); [] for a clip that is
        one request itself."""
        return sorted(
            (j for j in self._jobs.values() if j.parent_id == job_id),
            key=lambda j: (j.part_index, j.take_index, j.id),
        )

    def paid_to_resend(self, job_id: int) -> int:
        """How many new paid Kling jobs :meth:`resubmit` would start for this job."""
        job = self._jobs.get(job_id)
        if job is None:
            return 0
        if job.requests:
            return len(parts.to_resubmit(self.requests_of(job_id)))
        return 1 if policy.retry_kind(job) is policy.RetryKind.RESUBMIT else 0

    def paid_to_start(self, job_id: int) -> int:
        """How many paid Kling jobs "Add sound" starts for a ready clip."""
        job = self._jobs.get(job_id)
        return parts.paid_requests(job) if job is not None else 0

    def _view(self, job: Job) -> Job:
        return parts.view(job, self.requests_of(job.id)) if job.requests else job

    def _family(self, job_id: int) -> list[int]:
        """A job's id, and its requests' ids when it is a clip of parts."""
        return [job_id, *(r.id for r in self.requests_of(job_id))]

    def progress(self, job_id: int) -> Progress:
        job = self._jobs.get(job_id)
        if job is not None and job.requests and job.state is S.PARTS:
            return self._parts_progress(job)
        progress = self._progress.get(job_id)
        if progress is not None:
            return progress
        job = self._jobs.get(job_id)
        if job is not None and job.state is S.PROCESSING:
            return Progress(None, "Adding sound", job.submitted_at)
        if job is not None and job.state is S.QUEUED and self._paused_reason:
            return Progress(None, "Waiting for a working API token")
        return Progress()

    def _parts_progress(self, clip: Job) -> Progress:
        requests = self.requests_of(clip.id)
        shown = parts.summary(clip, requests)
        fractions = []
        for request in requests:
            own = self._progress.get(request.id)
            if request.state is S.DONE:
                fractions.append(1.0)
            elif (
                own is not None
                and own.fraction is not None
                and request.state
                in (
                    S.QUEUED,
                    S.UPLOADING,
                    S.DOWNLOADING,
                )
            ):
                fractions.append(own.fraction * 0.3 if request.state is not S.DOWNLOADING else 0.9)
            elif request.state in (S.PROCESSING, S.SUBMITTING, S.WAITING_SLOT):
                fractions.append(0.5)
            else:
                fractions.append(0.0)
        fraction = sum(fractions) / len(fractions) if fractions else None
        text = shown.text
        if shown.shown is not None and shown.shown.state.is_active:
            own = self._progress.get(shown.shown.id)
            what = own.text if own is not None and own.text else shown.shown.state.label
            which = parts.label(clip, shown.shown)
            text = f"{which[:1].upper()}{which[1:]}: {what} · {text}" if which else what
        since = shown.shown.submitted_at if shown.shown is not None else None
        return Progress(fraction, text, since)

    def is_idle(self) -> bool:
        return not any(job.state.is_active for job in self._jobs.values())

    def retry_kind(self, job_id: int) -> policy.RetryKind:
        """What Retry would do for the job; RESUBMIT means only a confirmed new paid job."""
        job = self._jobs.get(job_id)
        if job is None:
            return policy.RetryKind.NONE
        if job.requests:
            return parts.retry_kind(job, self.requests_of(job_id))
        return policy.retry_kind(job)

    # -- user actions (each written by the store thread, never this one) -----------------

    def add_files(self, paths: Sequence[Path], options: JobOptions, *, start: bool = False) -> None:
        """Add clips; each is checked at once and then waits as "ready" (or starts: the
        caller has the user's confirmation of one paid job per clip). ``files_added`` says
        which ids they got."""
        if not options.output_dir and self._settings.output_folder:
            options = dataclasses.replace(options, output_dir=self._settings.output_folder)
        files = [Path(p).expanduser().absolute() for p in paths]

        def work() -> list[Job]:
            # One transaction for the whole drop: one disk sync, however many clips.
            return self._store.add_many(files, options)

        def added(jobs: list[Job]) -> None:
            for job in jobs:
                self._jobs[job.id] = job
                if start:
                    self._start_after_check.add(job.id)
                self.job_added.emit(job)
                self._run_check(job.id)
            self._update_idle()
            self.files_added.emit([job.id for job in jobs])

        self._call(self._db_pool, work, added, self._store_failed)

    def start(self, job_ids: Iterable[int] | None = None) -> None:
        """Send ready clips (all of them when ``job_ids`` is None): the user confirmed one
        paid job each. Clips still being checked follow when their check ends."""
        ids = list(self._jobs) if job_ids is None else list(job_ids)
        ready = [i for i in ids if i in self._jobs and self._jobs[i].state is S.READY]
        for job_id in ids:
            job = self._jobs.get(job_id)
            if job is not None and job.state is S.CHECKING:
                self._start_after_check.add(job_id)
        # A clip of parts that was taken back to ready: its requests go again.
        for job_id in ids:
            job = self._jobs.get(job_id)
            if job is not None and job.requests and job.state is S.PARTS:
                ready.extend(r.id for r in self.requests_of(job_id) if r.state is S.READY)
        if not ready:
            return
        cache, now = self._cache_dir, self._clock()

        def work() -> list[Job]:
            single = [i for i in ready if not parts.needs_parts(self._stored_or(i))]
            jobs = self._store.apply_many(single, policy.start)  # one sync for the batch
            for job_id in ready:
                if job_id in single:
                    continue
                clip, requests = self._store.start_parts(
                    job_id, lambda clip: parts.requests_for(clip, cache, now), parts.started
                )
                jobs.extend([clip, *requests])
            return jobs

        def started(jobs: list[Job]) -> None:
            for job in jobs:  # a clip's new requests first: the clip shows theirs
                if job.id not in self._jobs and job.parent_id in self._jobs:
                    self._jobs[job.id] = job
            for job in jobs:
                if job.state is S.QUEUED:
                    self._batch.add(job.id)
                self._on_changed(job)
            self._pump()

        self._call(self._db_pool, work, started, self._store_failed)

    def _stored_or(self, job_id: int) -> Job:
        """The job as the store holds it (store thread), else as this runner last saw it."""
        return self._store.get(job_id) or self._jobs[job_id]

    def retry(self, job_id: int) -> None:
        """Pick a failed job up where it stopped, at no new cost. A job that would need a new
        paid request (see :meth:`retry_kind`) is left alone: that is :meth:`resubmit`."""
        job = self._jobs.get(job_id)
        if job is None or job_id in self._busy:
            return
        if job.requests and job.state is S.PARTS:  # each request that can go on, for free
            for request in self.requests_of(job_id):
                self.retry(request.id)
            return
        if policy.retry_kind(job) in (policy.RetryKind.NONE, policy.RetryKind.RESUBMIT):
            return
        self._batch.add(job_id)
        self._decide(job_id, policy.retry)

    def retry_all_failed(self) -> None:
        for job in self.jobs():
            if job.state in (S.FAILED, S.STOPPED):
                self.retry(job.id)

    def resubmit(self, job_id: int) -> None:
        """Start a NEW PAID Kling job for a job Kling failed or lost, or an uncertain one.
        Only call this after the user confirmed that cost."""
        job = self._jobs.get(job_id)
        if job is None or job_id in self._busy:
            return
        if job.requests:  # the requests Kling failed or lost: one new paid job each
            for request in parts.to_resubmit(self.requests_of(job_id)):
                self.resubmit(request.id)
            return
        self._cancel_timer(job_id)  # an uncertain job's own look-ups stop here
        self._batch.add(job_id)
        self._decide(job_id, policy.resubmit)

    def resolve_uncertain(self, job_id: int, *, resubmit: bool) -> None:
        job = self._jobs.get(job_id)
        if job is not None and job.requests:
            for request in self.requests_of(job_id):
                if request.state is S.UNCERTAIN:
                    self.resolve_uncertain(request.id, resubmit=resubmit)
            return
        if resubmit:
            self.resubmit(job_id)
        else:
            self._cancel_timer(job_id)
            self._decide(job_id, policy.give_up)

    def found(self, job_id: int, task_id: int) -> None:
        """The user says which Kling task is this job's: track it (free). For a clip of
        parts, it is its first request that needs one."""
        job = self._jobs.get(job_id)
        if job is not None and job.requests:
            lost = [r for r in self.requests_of(job_id) if r.state in (S.UNCERTAIN, S.FAILED)]
            if lost:
                self.found(lost[0].id, task_id)
            return
        self._cancel_timer(job_id)
        self._batch.add(job_id)
        self._decide(job_id, lambda job: policy.found(job, task_id))

    def cancel(self, job_id: int) -> None:
        """Take back a clip that has not left the computer (queued, uploading, waiting for a
        token or a slot): it goes back to Ready and nothing is spent."""
        job = self._jobs.get(job_id)
        if job is not None and job.requests:
            for request in self.requests_of(job_id):
                self.cancel(request.id)
            return
        if job is None or job.state not in (S.QUEUED, S.UPLOADING, S.WAITING_SLOT):
            return
        token = self._busy.get(job_id)
        if token is not None:
            token.cancel()
        self._cancel_timer(job_id)
        self._not_before.pop(job_id, None)

        def back(job: Job) -> Decision:
            if job.state in (S.QUEUED, S.UPLOADING, S.WAITING_SLOT):
                return Decision({"state": S.READY, "slot_wait_since": None})
            return Decision()

        self._decide(job_id, back)

    def stop_tracking(self, job_id: int) -> None:
        """Ask useapi.net to stop tracking the task. Kling still runs and charges it."""
        job = self._jobs.get(job_id)
        if job is not None and job.requests:
            for request in self.requests_of(job_id):
                self.stop_tracking(request.id)
            return
        if job is None or job.state is not S.PROCESSING or job.task_id is None:
            return
        self._cancel_timer(job_id)
        task_id = job.task_id

        def work(client: KlingClient, token: CancelToken) -> Outcome:
            return self._steps.stop_tracking(client, job_id, task_id)

        def failed(job_id: int, exc: BaseException) -> None:
            self._set_online(False, str(exc))
            self._schedule_poll(job_id, 0)

        self._run(job_id, self._net_pool, work, on_error=failed)

    def remove(self, job_id: int) -> list[Job]:
        return self.remove_many([job_id])

    def remove_many(self, job_ids: Iterable[int]) -> list[Job]:
        """Forget jobs (their files stay); in-flight local work on them is cancelled. A job
        whose paid request is being sent this instant is kept. Returns the removed snapshots,
        for :meth:`restore` (Edit → Undo)."""
        removed = []
        asked = list(job_ids)
        for job_id in list(asked):
            job = self._jobs.get(job_id)
            if job is None or not job.requests:
                continue
            family = self.requests_of(job_id)
            if any(r.state is S.SUBMITTING and r.id in self._busy for r in family):
                asked.remove(job_id)  # one of its paid requests is being sent this instant
                continue
            asked.extend(r.id for r in family)
        for job_id in asked:
            job = self._jobs.get(job_id)
            if job is None or (job.state is S.SUBMITTING and job_id in self._busy):
                continue
            token = self._busy.pop(job_id, None)
            if token is not None:
                token.cancel()
            self._cancel_timer(job_id)
            self._start_after_check.discard(job_id)
            self._batch.discard(job_id)
            self._not_before.pop(job_id, None)
            del self._jobs[job_id]
            self._progress.pop(job_id, None)
            if job.parent_id is None:
                removed.append(job)
                self.job_removed.emit(job_id)
        if removed:
            ids = [job.id for job in removed]

            def work() -> list[Job]:
                # Decided on the stored rows: what Undo restores is the job as stored (a
                # worker may have written its task id since this thread last heard of it).
                gone, kept = self._store.remove_many(ids)
                for job in gone:
                    self._removed_rows[job.id] = job
                return kept

            self._call(self._db_pool, work, self._kept_after_all, self._store_failed)
        self._update_idle()
        return removed

    def _kept_after_all(self, kept: list[Job]) -> None:
        """Jobs whose paid request went out while they were being removed stay listed."""
        for job in kept:
            if job.id not in self._jobs:
                log.warning("job %s: kept, its paid request was being sent", job.id)
                self._jobs[job.id] = job
                self.job_added.emit(job)
        self._reload_families(kept)
        self._resume_jobs(kept)

    def _reload_families(self, clips: Sequence[Job]) -> None:
        """Bring a clip's requests back with it (Undo, or a removal that was refused)."""
        ids = [job.id for job in clips if job.requests]
        if not ids:
            return

        def work() -> list[Job]:
            return [r for i in ids for r in self._store.children(i)]

        def back(requests: list[Job]) -> None:
            for request in requests:
                self._jobs.setdefault(request.id, request)
            self._resume_jobs(requests)
            for clip_id in ids:
                if clip_id in self._jobs:
                    self.job_changed.emit(self.job(clip_id))

        self._call(self._db_pool, work, back, self._store_failed)

    def restore(self, jobs: Sequence[Job]) -> None:
        """Bring removed jobs back (Edit → Undo); they carry on where they were."""
        jobs = [job for job in jobs if job.id not in self._jobs]
        if not jobs:
            return

        def work() -> list[Job]:
            # Runs after the removal on the same store thread: put back the stored rows
            # (a clip of parts with its requests).
            rows = [self._removed_rows.pop(j.id, j) for j in jobs]
            family = [
                r
                for i, r in list(self._removed_rows.items())
                if r.parent_id in {j.id for j in jobs}
            ]
            for request in family:
                self._removed_rows.pop(request.id, None)
            return self._store.restore([*rows, *family])

        def back(restored: list[Job]) -> None:
            for job in restored:
                self._jobs[job.id] = job
            for job in restored:
                if job.parent_id is None:
                    self.job_added.emit(self._view(job))
            self._resume_jobs(restored)

        self._call(self._db_pool, work, back, self._store_failed)

    def resume(self) -> None:
        """Pick up every job an earlier run left unfinished (after a quit, crash or kill)."""
        self._resume_jobs(self._all())

    def _resume_jobs(self, jobs: Iterable[Job]) -> None:
        now = self._clock()
        for job in jobs:
            if job.id in self._busy:
                continue
            if job.requests and job.state is S.PARTS:
                self._finish_when_done(job.id)
                continue
            decision = policy.next_action(job, now)
            if decision.action is Action.NONE:
                continue
            self._batch.add(job.id)
            if decision.changes:
                self._decide(job.id, unless_moved(job.state, decision))
            else:
                self._carry_out(Outcome(job, decision))
        self._pump()
        self._update_idle()

    def client_changed(self) -> None:
        """The token or API URL changed: new clients from now on, and wake waiting work."""
        self._client_generation += 1
        self._online = None
        self._paused_reason = ""
        self._pump()
        for job in self._all():
            if job.state in (S.PROCESSING, S.WAITING_SLOT) and job.id not in self._busy:
                self._schedule(
                    job.id,
                    0.5,
                    self._run_poll if job.state is S.PROCESSING else self._run_submit,
                )

    def shutdown(self, wait_ms: int = 5000) -> None:
        """Stop all work; every job stays in the store and resumes on the next start."""
        self._shutting_down = True
        self._store_wait.set()
        self._timers.stop()
        for token in self._busy.values():
            token.cancel()
        for pool in (
            self._check_pool,
            self._transfer_pool,
            self._net_pool,
            self._finish_pool,
            self._db_pool,
        ):
            pool.clear()
            pool.waitForDone(wait_ms)

    # -- carrying decisions out ----------------------------------------------------------

    def _decide(self, job_id: int, decide: Callable[[Job], Decision]) -> None:
        """:meth:`_apply` on the store thread; the outcome is carried out here."""
        self._call(
            self._db_pool,
            lambda: self._steps.apply(job_id, decide),
            self._carry_out,
            lambda exc: self._step_failed(job_id, exc),
        )

    def _carry_out(self, outcome: Outcome) -> None:
        job, decision = outcome.job, outcome.decision
        if job.id not in self._jobs:
            return
        self._on_changed(job)
        job = self._jobs[job.id]
        action, delay = decision.action, decision.delay_s
        if decision.note:
            waits = delay > 0 and action is not Action.WAIT_TOKEN
            until = self._clock() + delay if waits else None
            self._progress[job.id] = Progress(None, decision.note, job.slot_wait_since, until)
            self.job_progress.emit(job.id, self._progress[job.id])
        if action is Action.CHECK:
            self._run_check(job.id)
        elif action is Action.SEND:
            if delay > 0:
                self._not_before[job.id] = time.monotonic() + delay
                QTimer.singleShot(int(delay * 1000) + 50, self, self._pump)
            self._pump()
        elif action is Action.SUBMIT:
            self._schedule(job.id, delay, self._run_submit)
        elif action is Action.RECONCILE:
            self._schedule(job.id, delay, self._run_reconcile)
        elif action is Action.POLL:
            self._schedule_poll(job.id, delay)
        elif action is Action.DOWNLOAD:
            self._schedule(job.id, delay, self._run_download)
        elif action is Action.FINISH:
            self._run_finish(job.id)
        elif action is Action.WAIT_TOKEN:
            self._set_online(False, decision.note)
            if job.state is S.PROCESSING:
                self._schedule_poll(job.id, delay or 60.0)
            else:
                self._paused_reason = decision.note or "No working API token"
        self._after_step(job.id)

    # -- scheduling -----------------------------------------------------------------------

    def _pump(self) -> None:
        """Start queued jobs while upload/download slots are free."""
        if self._shutting_down or self._paused_reason:
            return
        self._transfer_pool.setMaxThreadCount(max(1, self._settings.concurrency))
        transfers = sum(
            1
            for job_id in self._busy
            if self._jobs.get(job_id) is not None
            and self._jobs[job_id].state in (S.QUEUED, S.UPLOADING, S.DOWNLOADING)
        )
        now = time.monotonic()
        for job in self._all():
            if transfers >= max(1, self._settings.concurrency):
                break
            if job.state is S.QUEUED and job.id not in self._busy:
                if self._not_before.get(job.id, 0.0) > now:
                    continue
                self._not_before.pop(job.id, None)
                transfers += 1
                self._run_send(job.id)

    def _schedule(self, job_id: int, delay_s: float, action: Callable[[int], None]) -> None:
        """Run ``action(job_id)`` after ``delay_s``, replacing what was scheduled for it."""
        if not self._shutting_down:
            self._timers.schedule(job_id, delay_s, action)

    def _cancel_timer(self, job_id: int) -> None:
        self._timers.cancel(job_id)

    def _schedule_poll(self, job_id: int, delay_s: float | None = None) -> None:
        if delay_s is None:
            base = self._settings.poll_interval_s
            delay_s = base * random.uniform(0.85, 1.15)  # jitter: 200 jobs never poll in step
        self._schedule(job_id, delay_s, self._run_poll)

    # -- running steps --------------------------------------------------------------------

    def _client(self) -> KlingClient:
        """One client per worker thread (requests sessions are not shared across threads)."""
        local = self._local
        if getattr(local, "generation", None) != self._client_generation:
            old = getattr(local, "client", None)
            if old is not None:
                old.close()
            local.client = self._client_factory()
            local.generation = self._client_generation
        if local.client is None:
            raise NoClient()
        client: KlingClient = local.client
        return client

    def _call(
        self,
        pool: QThreadPool,
        fn: Callable[[], Any],
        done: Callable[[Any], None] | None,
        failed: Callable[[BaseException], None],
    ) -> None:
        """Run ``fn`` on ``pool``; ``done(result)`` or ``failed(exc)`` runs on this thread.

        On the store pool, a write another process holds off (the database is locked past
        the store's busy timeout) is tried again, in order, until it goes through: what the
        user did while it was locked is kept, never dropped.
        """
        if self._shutting_down:
            return
        if pool is self._db_pool:
            fn = self._until_written(fn)
        self._calls_out += 1

        def delivered(result: Any) -> None:
            try:
                if done is not None:
                    done(result)
            finally:
                self._calls_out -= 1  # after: work the outcome started is counted first

        def refused(exc: BaseException) -> None:
            try:
                failed(exc)
            finally:
                self._calls_out -= 1

        run_in_thread(fn, delivered, refused, owner=self, pool=pool)

    def settled(self) -> bool:
        """No work started by the runner is still running or waiting to report (timers set
        for later do not count)."""
        return self._calls_out == 0

    def _until_written(self, fn: Callable[[], Any]) -> Callable[[], Any]:
        backoff = policy.Backoff(base_s=0.5, cap_s=10.0)

        def write() -> Any:
            started = time.monotonic()
            for attempt in itertools.count(1):
                try:
                    return fn()
                except sqlite3.OperationalError as exc:
                    busy = "locked" in str(exc) or "busy" in str(exc)
                    if not busy or self._shutting_down or time.monotonic() - started > 600:
                        raise
                    log.warning("the job list is busy (%s); writing again", exc)
                    self.store_trouble.emit(
                        f"The job list is in use by another program ({exc}); your change is "
                        "kept and saved as soon as it is free."
                    )
                    self._store_wait.wait(backoff.delay(attempt))
            raise AssertionError("unreachable")

        return write

    def _run(
        self,
        job_id: int,
        pool: QThreadPool,
        work: Callable[[KlingClient, CancelToken], Outcome | Job | None],
        *,
        on_error: Callable[[int, BaseException], None] | None = None,
        needs_client: bool = True,
    ) -> None:
        """Run one step of a job on ``pool`` (one at a time per job); its outcome is carried
        out on this thread."""
        if self._shutting_down or job_id in self._busy:
            return
        token = CancelToken()
        self._busy[job_id] = token

        def call() -> Outcome | Job | None:
            client = self._client() if needs_client else None
            return work(client, token)  # type: ignore[arg-type]

        def finished(result: Any) -> None:
            if self._busy.get(job_id) is token:
                del self._busy[job_id]
            self._store_errors.pop(job_id, None)
            if isinstance(result, Outcome):
                self._carry_out(result)
                return
            if isinstance(result, Job):
                self._on_changed(result)
            self._after_step(job_id)

        def failed(exc: BaseException) -> None:
            if self._busy.get(job_id) is token:
                del self._busy[job_id]
            if job_id not in self._jobs or isinstance(exc, JobGone):
                self._update_idle()
                return  # removed while working: nothing left to report
            if isinstance(exc, Cancelled) and self._shutting_down:
                return  # quitting: the job resumes next time from its stored state
            if on_error is not None and not is_store_error(exc):
                on_error(job_id, exc)
                self._after_step(job_id)
            else:
                self._step_failed(job_id, exc)

        self._call(pool, call, finished, failed)
        self._update_idle()

    def _step_failed(self, job_id: int, exc: BaseException) -> None:
        """A step could not record its outcome (the database is locked, full or damaged), or
        broke unexpectedly: the job keeps its stored state and is picked up again later."""
        if job_id not in self._jobs or isinstance(exc, JobGone) or self._shutting_down:
            return
        count = self._store_errors.get(job_id, 0) + 1
        self._store_errors[job_id] = count
        delay = policy.Backoff(base_s=2.0, cap_s=300.0).delay(count)
        if is_store_error(exc):
            log.warning(
                "job %s: could not save its progress (%s); again in %.0f s", job_id, exc, delay
            )
            sentence = "Could not save progress to the job list"
            self.store_trouble.emit(f"{sentence}: {exc}. The app tries again.")
        else:
            log.error("job %s: unexpected failure; again in %.0f s", job_id, delay, exc_info=exc)
            sentence = "Unexpected problem (details are in the log)"
        self._progress[job_id] = Progress(None, sentence, until=self._clock() + delay)
        self.job_progress.emit(job_id, self._progress[job_id])
        self._schedule(job_id, delay, self._reload)
        self._update_idle()

    def _reload(self, job_id: int) -> None:
        """Read the job as stored and carry on from there (after a failed write)."""

        self._run(
            job_id, self._db_pool, lambda _c, _t: self._steps.reload(job_id), needs_client=False
        )

    def _store_failed(self, exc: BaseException) -> None:
        log.error("could not write the job list", exc_info=exc)
        self.store_trouble.emit(f"Could not save the job list: {exc}.")

    def _after_step(self, job_id: int) -> None:
        job = self._jobs.get(job_id)
        if (
            job is not None
            and not self._shutting_down
            and job.state in (S.DONE, S.FAILED, S.STOPPED)
        ):
            self._wake_slot_waiters(job.email)
        self._pump()
        self._update_idle()

    def _wake_slot_waiters(self, email: str) -> None:
        """A finished job frees a Kling slot on its account: let waiting submits try soon."""
        for job in self._all():
            if job.state is S.WAITING_SLOT and job.email == email and job.id not in self._busy:
                self._schedule(job.id, random.uniform(0.5, 2.0), self._run_submit)

    # -- the steps (their bodies, on pool threads, are in runner/steps.py) ---------------

    def _run_check(self, job_id: int) -> None:
        # Decided here, on the owner thread: the worker then writes checking -> queued itself,
        # so an auto-started drop costs the GUI thread no disk sync per clip.
        start = job_id in self._start_after_check

        def after(job_id: int, exc: BaseException) -> None:
            self._decide(job_id, lambda job: _unreadable(job, exc))

        self._run(
            job_id,
            self._check_pool,
            lambda _c, _t: self._steps.check(job_id, start=start),
            on_error=after,
            needs_client=False,
        )

    def _run_send(self, job_id: int) -> None:
        """Upload (unless already uploaded) and submit, on a transfer slot."""

        def failed(job_id: int, exc: BaseException) -> None:
            # Only what happened before the upload could start: no client, or cancelled.
            now = self._clock()
            self._decide(job_id, lambda j: policy.after_upload_error(j, exc, now))

        self._run(
            job_id,
            self._transfer_pool,
            lambda client, token: self._steps.send(client, token, job_id),
            on_error=failed,
        )

    def _run_submit(self, job_id: int) -> None:
        """Try a submit again after a 429 (waiting for a free slot)."""
        self._run(
            job_id,
            self._net_pool,
            lambda client, _t: self._steps.submit_again(client, job_id),
            on_error=self._later(60.0, self._run_submit),
        )

    def _run_reconcile(self, job_id: int) -> None:
        # No client yet: ask again later; never resubmit.
        self._run(
            job_id,
            self._net_pool,
            lambda client, _t: self._steps.reconcile(client, job_id),
            on_error=self._later(30.0, self._run_reconcile),
        )

    def _run_poll(self, job_id: int) -> None:
        job = self._jobs.get(job_id)
        if job is None or job.state is not S.PROCESSING:
            return
        self._run(
            job_id,
            self._net_pool,
            lambda client, _t: self._steps.poll(client, job_id),
            on_error=self._later(60.0, self._run_poll),
        )

    def _run_download(self, job_id: int) -> None:
        self._run(
            job_id,
            self._transfer_pool,
            lambda client, token: self._steps.download(client, token, job_id),
            on_error=self._later(60.0, self._run_download),
        )

    def _run_finish(self, job_id: int) -> None:
        """Put a clip of parts together, on its own one-thread pool (it decodes and mixes)."""
        self._run(
            job_id,
            self._finish_pool,
            lambda _c, token: self._steps.finish(token, job_id),
            needs_client=False,
        )

    def remix(self, job_id: int, **options: Any) -> bool:
        """Make a done clip's result again with other sound options (levels, loudness,
        export, which take): free, nothing is sent to Kling. False when it cannot be
        remixed (not done, or busy)."""
        job = self._jobs.get(job_id)
        if job is None or job.state is not S.DONE or job_id in self._busy or job.parent_id:
            return False
        cache = self._cache_dir

        def work(_client: Any, token: CancelToken) -> Outcome | Job:
            self._store.update(
                job_id, options=dataclasses.replace(self._stored_or(job_id).options, **options)
            )
            adopted = self._store.as_parts(job_id, cache)
            for request in adopted:
                self._relay.changed.emit(request)
            return self._steps.finish(token, job_id, remix=True)

        def failed(job_id: int, exc: BaseException) -> None:
            self._progress[job_id] = Progress(None, f"Remix failed: {policy.sentence(exc)}")
            self.job_progress.emit(job_id, self._progress[job_id])

        self._run(job_id, self._finish_pool, work, on_error=failed, needs_client=False)
        return True

    def set_options(self, job_ids: Iterable[int], **fields: Any) -> list[int]:
        """Change jobs' options (JobOptions fields): any of them before the clip is sent;
        after, only how its result sounds (levels, ducking, loudness, export, which take),
        and only for a clip of parts not yet put together — a done clip is :meth:`remix`ed.
        Options that change what is sent (strict, longest clip) check the clip again.
        Returns the ids whose options change."""
        changed = []
        for job_id in job_ids:
            job = self._jobs.get(job_id)
            if job is None or job.parent_id is not None:
                continue
            own = {k: v for k, v in fields.items() if k in _allowed_options(job)}
            if not own:
                continue
            changed.append(job_id)
            recheck = any(k in _RECHECK_OPTIONS for k in own)

            def write(stored: Job, own: dict[str, Any] = own, recheck: bool = recheck) -> Decision:
                own = {k: v for k, v in own.items() if k in _allowed_options(stored)}
                if not own:
                    return Decision()
                changes: dict[str, Any] = {"options": dataclasses.replace(stored.options, **own)}
                if recheck and stored.state in (S.READY, S.REJECTED):
                    return Decision({**changes, "state": S.CHECKING}, Action.CHECK)
                return Decision(changes)

            self._decide(job_id, write)
        return changed

    def _finish_when_done(self, clip_id: int) -> None:
        """Every request of a clip is done: put it together."""
        clip = self._jobs.get(clip_id)
        if clip is None or clip.state is not S.PARTS or clip_id in self._busy:
            return
        if not parts.all_done(self.requests_of(clip_id)):
            return
        self._batch.add(clip_id)
        self._decide(
            clip_id,
            lambda j: (
                Decision({"state": S.FINISHING}, Action.FINISH)
                if j.state is S.PARTS
                else Decision()
            ),
        )

    def _later(
        self, delay_s: float, action: Callable[[int], None]
    ) -> Callable[[int, BaseException], None]:
        """A step that could not start (no client yet): say so, and try again later."""

        def again(job_id: int, exc: BaseException) -> None:
            self._set_online(False, str(exc))
            self._schedule(job_id, delay_s, action)

        return again

    # -- outcomes on the owner thread -----------------------------------------------------

    @Slot(object)
    def _on_changed(self, job: Job) -> None:
        if job.id not in self._jobs:
            if job.parent_id is None or job.parent_id not in self._jobs:
                return
            self._jobs[job.id] = job  # a request made on another thread (a remix)
        old = self._jobs[job.id]
        if job.version < old.version or job == old:
            return  # a late echo of an older snapshot, or a poll that changed nothing
        self._jobs[job.id] = job
        if job.parent_id is not None:  # a request: the user sees its clip
            if job.state is not old.state:
                self._progress.pop(job.id, None)
            clip = self._jobs.get(job.parent_id)
            if clip is not None:
                self.job_changed.emit(self._view(clip))
                if job.state is S.DONE:
                    self._finish_when_done(clip.id)
            self._update_idle()
            return
        if job.state is not old.state:
            self._progress.pop(job.id, None)
            if old.state is S.CHECKING and job.state is S.QUEUED:
                self._start_after_check.discard(job.id)  # the check worker queued it
                self._batch.add(job.id)
            elif job.state is S.READY and job.id in self._start_after_check:
                # "Add sound" was pressed while the check was already running (or the clip
                # is a clip of parts, which its check never starts itself).
                self._start_after_check.discard(job.id)
                self._batch.add(job.id)
                # Not shown as "ready": it is on its way (a caller waiting for jobs to
                # settle would take "ready" for an end).
                self._jobs[job.id] = job
                self.start([job.id])
                self._update_idle()
                return
        self.job_changed.emit(self._view(job))
        self._update_idle()

    @Slot(int, object)
    def _on_progress(self, job_id: int, progress: Progress) -> None:
        job = self._jobs.get(job_id)
        if job is None:
            return
        self._progress[job_id] = progress
        if job.parent_id is not None and job.parent_id in self._jobs:
            self.job_progress.emit(job.parent_id, self.progress(job.parent_id))
        else:
            self.job_progress.emit(job_id, progress)

    def _set_online(self, online: bool, sentence: str = "") -> None:
        if online != self._online:
            self._online = online
            self.connection_changed.emit(online, sentence or ("Connected" if online else ""))

    def _set_online_threadsafe(self) -> None:
        self._relay.online.emit()  # called from workers: hop to the owner thread

    def _update_idle(self) -> None:
        idle = self.is_idle() and not self._busy
        if idle == self._idle:
            return
        self._idle = idle
        self.idle_changed.emit(idle)
        if idle and self._batch:
            clips = {self._jobs[i].parent_id or i for i in self._batch if i in self._jobs}
            jobs = [self._view(self._jobs[i]) for i in sorted(clips) if i in self._jobs]
            self._batch.clear()
            summary = BatchSummary(
                done=[j for j in jobs if j.state is S.DONE],
                failed=[j for j in jobs if j.state in (S.FAILED, S.UNCERTAIN, S.STOPPED)],
            )
            if summary.done or summary.failed:
                self.batch_finished.emit(summary)


#: Options that only change how a result sounds: they may change until it is put together.
SOUND_OPTIONS = frozenset(
    {"sound_volume", "original_volume", "duck", "loudness_lufs", "export_audio", "take"}
)
#: Options that change what is sent: the clip is checked again.
_RECHECK_OPTIONS = frozenset({"strict", "max_length_s"})


def _allowed_options(job: Job) -> frozenset[str]:
    if job.state in (S.CHECKING, S.READY, S.REJECTED) and not job.requests:
        return frozenset(f.name for f in dataclasses.fields(JobOptions))
    if job.requests and job.state in (S.PARTS, S.FAILED):
        return SOUND_OPTIONS
    return frozenset()


def _unreadable(job: Job, exc: BaseException) -> Decision:
    """The check itself broke (not the clip's verdict): the clip is not accepted, with why."""
    if job.state is not S.CHECKING:
        return Decision()
    return Decision(
        {
            "state": S.REJECTED,
            "error_code": getattr(exc, "code", "error"),
            "error_message": policy.sentence(exc),
        }
    )


def _pool(threads: int) -> QThreadPool:
    pool = QThreadPool()
    pool.setMaxThreadCount(max(1, threads))
    pool.setExpiryTimeout(30_000)
    return pool
