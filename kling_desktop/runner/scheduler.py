"""The runner's engine room: carrying the policy's decisions out, scheduling, and the
threads — no user action and no decision of its own.

A step runs on a pool thread (``runner/steps.py``; the pools are ``runner/calls.py``); its
outcome comes back as a queued call and is carried out here: the next step is started, a
timer set, or nothing. Polls are scheduled with one timer for all jobs (``runner/timers.py``),
so 200 processing jobs need no more threads than the network pool's few. Every wait and
retry is ``jobs/policy.py``'s.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal, Slot

from kling_desktop.cancel import Cancelled, CancelToken
from kling_desktop.jobs import parts, pipeline, policy
from kling_desktop.jobs.model import Job, JobState
from kling_desktop.jobs.policy import Action, Decision
from kling_desktop.jobs.store import JobGone, JobStore
from kling_desktop.runner.book import JobBook
from kling_desktop.runner.calls import Calls
from kling_desktop.runner.steps import (
    Outcome,
    Progress,
    Relay,
    Steps,
    is_store_error,
    unless_moved,
)
from kling_desktop.runner.timers import Timers
from kling_desktop.settings import Settings

if TYPE_CHECKING:  # requests loads with the first client, not with the window
    from kling_desktop.api.client import KlingClient

log = logging.getLogger(__name__)

S = JobState
#: How long a due look-up waits for the others due at about the same time on its account.
SWEEP_GATHER_MS = 250
ClientFactory = Callable[[], "KlingClient | None"]
#: Kept for callers that name it here; the pipeline owns it.
NoClient = pipeline.NoClient


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


class Scheduler(QObject):
    """The runner's state and machinery; :class:`~kling_desktop.runner.engine.JobRunner`
    adds what the user does."""

    job_added = Signal(object)  # Job
    job_changed = Signal(object)  # Job: the new snapshot (a clip of parts as the user sees it)
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
        transfer_backoff_s: float = policy.TRANSFER_BACKOFF.base_s,
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
        self._book = JobBook(store.all())
        self._jobs = self._book.rows
        self._progress = self._book.progress
        self._busy: dict[int, CancelToken] = {}  # jobs with a worker in flight
        # Removed jobs whose worker was still out (its token, cancelled): the store may keep
        # the job (its paid request was being sent) or Undo bring it back; its worker's
        # outcome then carries it on, or it is read again as stored — never resumed beside it.
        self._leaving: dict[int, CancelToken] = {}
        # Scheduled actions (next poll, next slot try, ...): one timer for all of them.
        self._timers = Timers(
            lambda job_id: job_id in self._jobs and job_id not in self._busy, self
        )
        self._start_after_check: set[int] = set()
        self._starting: set[int] = set()  # ready clips whose start the store is writing
        self._sweeps: set[str] = set()  # accounts whose task list is about to be read
        self._not_before: dict[int, float] = {}  # queued jobs backing off after a failure
        self._store_errors: dict[int, int] = {}  # steps whose database write failed, in a row
        self._batch: set[int] = set()
        self._online: bool | None = None
        self._idle = True
        self._shutting_down = False
        self._local = threading.local()
        self._client_generation = 0
        self._calls = Calls(self, settings.concurrency, self.store_trouble.emit)
        self._cache_dir = cache_dir or store.path.parent / "cache"
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
            transfer_backoff=dataclasses.replace(
                policy.TRANSFER_BACKOFF, base_s=transfer_backoff_s
            ),
            reconcile_backoff=dataclasses.replace(
                policy.RECONCILE_BACKOFF, base_s=reconcile_backoff_s
            ),
            shutting_down=lambda: self._shutting_down,
        )
        # Set when the service refused the token (or there is none): queued clips wait for
        # client_changed() instead of failing one after another.
        self._paused_reason = ""

    def start(self, job_ids: Iterable[int] | None = None) -> None:
        raise NotImplementedError  # JobRunner's: "Add sound"

    def _progress_of(self, job_id: int) -> Progress:
        return self._book.progress_of(job_id, lambda: bool(self._paused_reason))

    # -- carrying decisions out ---------------------------------------------------------------

    def _decide(self, job_id: int, decide: Callable[[Job], Decision]) -> None:
        """:meth:`_apply` on the store thread; the outcome is carried out here."""
        self._calls.call(
            self._calls.db,
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

    def _resume_jobs(self, jobs: Iterable[Job]) -> None:
        now = self._clock()
        for job in jobs:
            if job.id in self._busy or job.id in self._leaving:
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

    # -- scheduling ---------------------------------------------------------------------------

    def _pump(self) -> None:
        """Start queued jobs while upload/download slots are free."""
        if self._shutting_down or self._paused_reason:
            return
        self._calls.transfer.setMaxThreadCount(max(1, self._settings.concurrency))
        transfers = sum(
            1
            for job_id in self._busy
            if self._jobs.get(job_id) is not None
            and self._jobs[job_id].state in (S.QUEUED, S.UPLOADING, S.DOWNLOADING)
        )
        now = time.monotonic()
        for job in self._book.all():
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
            delay_s = policy.poll_delay(self._settings.poll_interval_s, random.random())
        self._schedule(job_id, delay_s, self._run_poll)

    def _finish_when_done(self, clip_id: int) -> None:
        """Every request of a clip is done: put it together."""
        clip = self._jobs.get(clip_id)
        if clip is None or clip.state is not S.PARTS or clip_id in self._busy:
            return
        if not parts.all_done(self._book.requests_of(clip_id)):
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

    def _wake_slot_waiters(self, email: str) -> None:
        """A finished job frees a Kling slot on its account: let waiting submits try soon."""
        for job in self._book.all():
            if job.state is S.WAITING_SLOT and job.email == email and job.id not in self._busy:
                self._schedule(job.id, random.uniform(0.5, 2.0), self._run_submit)

    # -- running steps ------------------------------------------------------------------------

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

    def settled(self) -> bool:
        """No work started by the runner is still running or waiting to report (timers set
        for later do not count)."""
        return self._calls.settled()

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
        if self._shutting_down or job_id in self._busy or job_id in self._leaving:
            return  # one worker per job (a removed job's goes on when that one ends)
        token = CancelToken()
        self._busy[job_id] = token

        def call() -> Outcome | Job | None:
            client = self._client() if needs_client else None
            return work(client, token)  # type: ignore[arg-type]

        def finished(result: Any) -> None:
            if self._busy.get(job_id) is token:
                del self._busy[job_id]
            back = self._back_after_leaving(job_id, token)
            self._store_errors.pop(job_id, None)
            if isinstance(result, Outcome):
                self._carry_out(result)
            elif isinstance(result, Job):
                self._on_changed(result)
            if back:
                self._schedule(job_id, 0.0, self._reload)
            if not isinstance(result, Outcome):
                self._after_step(job_id)

        def failed(exc: BaseException) -> None:
            if self._busy.get(job_id) is token:
                del self._busy[job_id]
            if self._back_after_leaving(job_id, token):
                self._schedule(job_id, 0.0, self._reload)
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

        self._calls.call(pool, call, finished, failed)
        self._update_idle()

    def _back_after_leaving(self, job_id: int, token: CancelToken) -> bool:
        """The worker ``token`` was removed while out, and its job is listed again (kept by
        the store, or Undo): True when it must be read again as stored now that it ended."""
        if self._leaving.get(job_id) is not token:
            return False
        del self._leaving[job_id]
        return job_id in self._jobs

    def _step_failed(self, job_id: int, exc: BaseException) -> None:
        """A step could not record its outcome (the database is locked, full or damaged), or
        broke unexpectedly: the job keeps its stored state and is picked up again later."""
        if job_id not in self._jobs or isinstance(exc, JobGone) or self._shutting_down:
            return
        count = self._store_errors.get(job_id, 0) + 1
        self._store_errors[job_id] = count
        delay = policy.STEP_TROUBLE_BACKOFF.delay(count)
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
            job_id, self._calls.db, lambda _c, _t: self._steps.reload(job_id), needs_client=False
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

    def _later(
        self, delay_s: float, action: Callable[[int], None]
    ) -> Callable[[int, BaseException], None]:
        """A step that could not start (no client yet): say so, and try again later."""

        def again(job_id: int, exc: BaseException) -> None:
            self._set_online(False, str(exc))
            self._schedule(job_id, delay_s, action)

        return again

    def _run_check(self, job_id: int) -> None:
        # Decided here, on the owner thread: the worker then writes checking -> queued itself,
        # so an auto-started drop costs the GUI thread no disk sync per clip.
        start = job_id in self._start_after_check

        def after(job_id: int, exc: BaseException) -> None:
            self._decide(job_id, lambda job: policy.check_broke(job, exc))

        self._run(
            job_id,
            self._calls.check,
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
            self._calls.transfer,
            lambda client, token: self._steps.send(client, token, job_id),
            on_error=failed,
        )

    def _run_submit(self, job_id: int) -> None:
        """Try a submit again after a 429 (waiting for a free slot)."""
        self._run(
            job_id,
            self._calls.net,
            lambda client, _t: self._steps.submit_again(client, job_id),
            on_error=self._later(policy.NO_CLIENT_RETRY_S["submit"], self._run_submit),
        )

    def _run_reconcile(self, job_id: int) -> None:
        # No client yet: ask again later; never resubmit.
        self._run(
            job_id,
            self._calls.net,
            lambda client, _t: self._steps.reconcile(client, job_id),
            on_error=self._later(policy.NO_CLIENT_RETRY_S["reconcile"], self._run_reconcile),
        )

    def _run_poll(self, job_id: int) -> None:
        """A job's look-up is due: with many jobs processing on its account, it waits a
        moment for the others due then, and one task list covers them all."""
        job = self._jobs.get(job_id)
        if job is None or job.state is not S.PROCESSING:
            return
        email = job.email
        if self._processing_on(email) >= policy.SWEEP_MIN_JOBS:
            if email not in self._sweeps:
                self._sweeps.add(email)
                QTimer.singleShot(SWEEP_GATHER_MS, self, lambda: self._run_sweep(email))
            # Covered by the list on its way; if it is not (it started processing since the
            # list was asked for), it comes back here shortly.
            self._schedule(job_id, 4 * SWEEP_GATHER_MS / 1000, self._run_poll)
            return
        self._poll_alone(job_id)

    def _processing_on(self, email: str) -> int:
        return sum(1 for j in self._jobs.values() if j.state is S.PROCESSING and j.email == email)

    def _run_sweep(self, email: str) -> None:
        """Every processing job of the account not being worked on, in one task list; those
        it shows at work wait a whole round (together, so the next round is one list too),
        the others are looked up on their own at once."""
        ids = [
            j.id
            for j in self._jobs.values()
            if j.state is S.PROCESSING and j.email == email and j.id not in self._busy
        ]

        def work() -> list[int]:
            return self._steps.sweep(self._client(), email, ids)

        def done(alone: list[int]) -> None:
            self._sweeps.discard(email)
            interval = self._settings.poll_interval_s
            for job_id in ids:
                if job_id in alone:
                    self._cancel_timer(job_id)
                    self._poll_alone(job_id)
                elif job_id in self._jobs and self._jobs[job_id].state is S.PROCESSING:
                    self._schedule(job_id, interval, self._run_poll)

        def failed(exc: BaseException) -> None:
            # The list could not be read: each job is looked up on its own, as before.
            log.info("the task list of %s could not be read (%s)", email or "the account", exc)
            self._sweeps.discard(email)
            for job_id in ids:
                self._cancel_timer(job_id)
                self._poll_alone(job_id)

        self._calls.call(self._calls.net, work, done, failed)

    def _poll_alone(self, job_id: int) -> None:
        job = self._jobs.get(job_id)
        if job is None or job.state is not S.PROCESSING:
            return
        self._run(
            job_id,
            self._calls.net,
            lambda client, _t: self._steps.poll(client, job_id),
            on_error=self._later(policy.NO_CLIENT_RETRY_S["poll"], self._run_poll),
        )

    def _run_download(self, job_id: int) -> None:
        self._run(
            job_id,
            self._calls.transfer,
            lambda client, token: self._steps.download(client, token, job_id),
            on_error=self._later(policy.NO_CLIENT_RETRY_S["download"], self._run_download),
        )

    def _run_finish(self, job_id: int) -> None:
        """Put a clip of parts together, on its own one-thread pool (it decodes and mixes)."""
        self._run(
            job_id,
            self._calls.finish,
            lambda _c, token: self._steps.finish(token, job_id),
            needs_client=False,
        )

    def shutdown(self, wait_ms: int = 5000) -> None:
        """Stop all work; every job stays in the store and resumes on the next start."""
        self._shutting_down = True
        self._timers.stop()
        for token in self._busy.values():
            token.cancel()
        self._calls.shutdown(wait_ms)

    # -- outcomes on the owner thread ---------------------------------------------------------

    @Slot(object)
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
                self.job_changed.emit(self._book.view(clip))
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
        self.job_changed.emit(self._book.view(job))
        self._update_idle()

    @Slot(int, object)
    @Slot(int, object)
    def _on_progress(self, job_id: int, progress: Progress) -> None:
        job = self._jobs.get(job_id)
        if job is None:
            return
        self._progress[job_id] = progress
        if job.parent_id is not None and job.parent_id in self._jobs:
            self.job_progress.emit(job.parent_id, self._progress_of(job.parent_id))
        else:
            self.job_progress.emit(job_id, progress)

    def _set_online(self, online: bool, sentence: str = "") -> None:
        if online != self._online:
            self._online = online
            self.connection_changed.emit(online, sentence or ("Connected" if online else ""))

    def _set_online_threadsafe(self) -> None:
        self._relay.online.emit()  # called from workers: hop to the owner thread

    def _update_idle(self) -> None:
        idle = self._book.is_idle() and not self._busy and not self._starting
        if idle == self._idle:
            return
        self._idle = idle
        self.idle_changed.emit(idle)
        if idle and self._batch:
            clips = {self._jobs[i].parent_id or i for i in self._batch if i in self._jobs}
            jobs = [self._book.view(self._jobs[i]) for i in sorted(clips) if i in self._jobs]
            self._batch.clear()
            summary = BatchSummary(
                done=[j for j in jobs if j.state is S.DONE],
                failed=[j for j in jobs if j.state in (S.FAILED, S.UNCERTAIN, S.STOPPED)],
            )
            if summary.done or summary.failed:
                self.batch_finished.emit(summary)


#: Options that only change how a result sounds: they may change until it is put together.
