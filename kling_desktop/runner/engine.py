"""The job engine: drives every job through check → upload → submit → poll → download.

Used by the window and the command line alike. It lives on the owner's thread and never blocks
it: checks, uploads, submits, polls and downloads run on pooled QThreads, and their outcomes
come back as queued signals. Polls are scheduled with timers, so 200 processing jobs need no
more threads than the network pool's few.

Exactly-once submission (DESIGN §4.1): a worker commits "submitting" to the store before it
sends the paid request and the task id right after. A submit whose reply is lost is reconciled
against the service; nothing is ever resubmitted without the user.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import heapq
import itertools
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal, Slot

from kling_desktop.api import errors
from kling_desktop.api.models import Task
from kling_desktop.cancel import Cancelled, CancelToken
from kling_desktop.jobs import pipeline
from kling_desktop.jobs.model import Job, JobOptions, JobState
from kling_desktop.jobs.store import JobStore, StoreError
from kling_desktop.settings import Settings

if TYPE_CHECKING:  # requests loads with the first client, not with the window
    from kling_desktop.api.client import KlingClient

log = logging.getLogger(__name__)

S = JobState
#: Polling stops (the job fails, retry resumes it) when Kling has not finished after this long.
PROCESSING_LIMIT_S = 3 * 3600
#: Longest pause between polls while the service keeps failing.
MAX_BACKOFF_S = 300.0
#: First wait after a 429 on submit; doubles up to the poll interval × 4.
SLOT_BACKOFF_S = 10.0


@dataclass(frozen=True)
class Progress:
    """What a row shows under its state.

    ``fraction`` is 0..1, or None when indeterminate; ``since`` is the epoch time a timed phase
    began (processing, waiting for a slot), so a view can show the elapsed time itself.
    """

    fraction: float | None = None
    text: str = ""
    since: float | None = None


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


class ReconcilePending(Exception):
    """A submit's outcome is unknown and the service could not be asked yet."""

    code = "reconcile_pending"

    def __str__(self) -> str:
        return "Checking with Kling whether it received the clip…"


#: Gateway answers (a proxy in between) say nothing about whether Kling got the submit.
_AMBIGUOUS_STATUSES = frozenset({502, 503, 504})
#: Uploads and downloads are safe to repeat: this many tries before the job fails.
TRANSFER_TRIES = 5


class NoClient(Exception):
    def __str__(self) -> str:
        return "No useapi.net API token is set up. Open Accounts to add one."


class _Relay(QObject):
    """Carries worker-thread news to the owner thread (queued, since it lives there)."""

    changed = Signal(object)  # Job
    progress = Signal(int, object)  # job id, Progress
    online = Signal()
    step_done = Signal(int, object)  # call id, result
    step_failed = Signal(int, object)  # call id, exception


class _Step(QRunnable):
    """One pipeline step on a pool thread; its outcome goes back through the shared relay
    (no Qt objects are made per step: hundreds of polls a minute stay cheap)."""

    def __init__(self, call_id: int, fn: Callable[[], Any], relay: _Relay) -> None:
        super().__init__()
        self.setAutoDelete(False)  # the runner holds it until its outcome is handled
        self._call_id, self._fn, self._relay = call_id, fn, relay

    def run(self) -> None:
        try:
            result = self._fn()
        except BaseException as exc:  # handed to the step's error handler, never swallowed
            self._relay.step_failed.emit(self._call_id, exc)
        else:
            self._relay.step_done.emit(self._call_id, result)


class JobRunner(QObject):
    job_added = Signal(object)  # Job
    job_changed = Signal(object)  # Job: the new snapshot
    job_removed = Signal(int)  # job id
    job_progress = Signal(int, object)  # job id, Progress
    batch_finished = Signal(object)  # BatchSummary
    connection_changed = Signal(bool, str)  # online, a sentence for the status bar
    idle_changed = Signal(bool)  # True when nothing is active

    def __init__(
        self,
        store: JobStore,
        client_factory: ClientFactory,
        settings: Settings,
        *,
        transfer_backoff_s: float = 2.0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._transfer_backoff_s = transfer_backoff_s
        self._store = store
        self._client_factory = client_factory
        self._settings = settings
        self._jobs: dict[int, Job] = {job.id: job for job in store.all()}
        self._progress: dict[int, Progress] = {}
        self._busy: dict[int, CancelToken] = {}  # jobs with a worker in flight
        # Scheduled actions (next poll, next slot try, ...): one timer for all of them.
        self._due: dict[int, tuple[float, Callable[[int], None]]] = {}
        self._heap: list[tuple[float, int]] = []
        self._tick = QTimer(self)
        self._tick.setSingleShot(True)
        self._tick.timeout.connect(self._on_tick)
        self._calls: dict[int, tuple[_Step, Callable[[Any], None], Callable[[Any], None]]] = {}
        self._call_ids = itertools.count(1)
        # A step's outcome can arrive while its pool thread is still returning from run():
        # keep finished steps a while, so the last reference never drops under that thread.
        self._retired: collections.deque[_Step] = collections.deque(maxlen=256)
        self._start_after_check: set[int] = set()
        self._not_before: dict[int, float] = {}  # queued jobs backing off after a failure
        self._download_tries: dict[int, int] = {}
        self._batch: set[int] = set()
        self._online: bool | None = None
        self._idle = True
        self._shutting_down = False
        self._local = threading.local()
        self._client_generation = 0
        # Checks are quick and local: their own pool, so 100 dropped files never hold up
        # an upload. Uploads/downloads are bounded by the concurrency setting. Submits and
        # polls are short requests on a small pool, however many jobs are processing.
        self._check_pool = _pool(2)
        self._transfer_pool = _pool(settings.concurrency)
        self._net_pool = _pool(4)
        self._relay = _Relay(self)
        self._relay.changed.connect(self._on_changed)
        self._relay.progress.connect(self._on_progress)
        self._relay.online.connect(lambda: self._set_online(True, "Connected"))
        self._relay.step_done.connect(self._on_step_done)
        self._relay.step_failed.connect(self._on_step_failed)
        # Set when the service refused the token (or there is none): queued clips wait for
        # client_changed() instead of failing one after another.
        self._paused_reason = ""

    # -- reading --------------------------------------------------------------------------

    def jobs(self) -> list[Job]:
        return [self._jobs[k] for k in sorted(self._jobs)]

    def job(self, job_id: int) -> Job | None:
        return self._jobs.get(job_id)

    def progress(self, job_id: int) -> Progress:
        progress = self._progress.get(job_id)
        if progress is not None:
            return progress
        job = self._jobs.get(job_id)
        if job is not None and job.state is S.PROCESSING:
            return Progress(None, "Adding sound", job.submitted_at)
        if job is not None and job.state is S.QUEUED and self._paused_reason:
            return Progress(None, "Waiting for a working API token")
        return Progress()

    def is_idle(self) -> bool:
        return not any(job.state.is_active for job in self._jobs.values())

    def counts(self) -> dict[JobState, int]:
        counts = dict.fromkeys(JobState, 0)
        for job in self._jobs.values():
            counts[job.state] += 1
        return counts

    # -- user actions ---------------------------------------------------------------------

    def add_files(
        self, paths: Sequence[Path], options: JobOptions, *, start: bool = False
    ) -> list[int]:
        """Add clips; each is checked at once and then waits as "ready" (or starts)."""
        if not options.output_dir and self._settings.output_folder:
            options = JobOptions(**{**options.__dict__, "output_dir": self._settings.output_folder})
        # One transaction for the whole drop: the window never waits on a sync per clip.
        jobs = self._store.add_many([Path(p).expanduser().absolute() for p in paths], options)
        for job in jobs:
            self._jobs[job.id] = job
            if start:
                self._start_after_check.add(job.id)
            self.job_added.emit(job)
            self._run_check(job.id)
        self._update_idle()
        return [job.id for job in jobs]

    def start(self, job_ids: Iterable[int] | None = None) -> None:
        """Send ready clips (all of them when ``job_ids`` is None). Checking ones follow."""
        ids = list(self._jobs) if job_ids is None else list(job_ids)
        ready = [i for i in ids if i in self._jobs and self._jobs[i].state is S.READY]
        for job_id in ids:
            job = self._jobs.get(job_id)
            if job is not None and job.state is S.CHECKING:
                self._start_after_check.add(job_id)
        for job in self._store.transition_many(ready, S.QUEUED):  # one sync for the batch
            self._batch.add(job.id)
            self._set(job)
        self._pump()

    def retry(self, job_id: int) -> None:
        """Resume a failed job at the step that failed: a failed download never resubmits."""
        job = self._jobs.get(job_id)
        if job is None or self._busy.get(job_id):
            return
        if job.state is S.REJECTED:
            self._set(self._store.transition(job_id, S.CHECKING, error_code="", error_message=""))
            self._run_check(job_id)
            return
        if job.state is S.STOPPED:
            self._set(self._store.transition(job_id, S.PROCESSING, error_code="", error_message=""))
            self._batch.add(job_id)
            self._schedule_poll(job_id, 0)
            return
        if job.state is not S.FAILED:
            return
        self._batch.add(job_id)
        clear = {"error_code": "", "error_message": "", "poll_errors": 0}
        if job.task_id is not None and job.result_url:
            self._set(self._store.transition(job_id, S.DOWNLOADING, **clear))
            self._run_download(job_id)
        elif job.task_id is not None and job.error_code in _POLL_AGAIN_CODES:
            self._set(self._store.transition(job_id, S.PROCESSING, **clear))
            self._schedule_poll(job_id, 0)
        elif job.upload_url:
            # The earlier submit failed for certain (or Kling failed the task): a new one.
            self._run_submit(job_id, fields={**clear, "task_id": None, "work_id": None})
        else:
            self._set(self._store.transition(job_id, S.QUEUED, **clear))
            self._pump()
        self._update_idle()

    def retry_all_failed(self) -> None:
        for job in self.jobs():
            if job.state is S.FAILED:
                self.retry(job.id)

    def stop_tracking(self, job_id: int) -> None:
        """Ask useapi.net to stop tracking the task. Kling still runs and charges it."""
        job = self._jobs.get(job_id)
        if job is None or job.state is not S.PROCESSING or job.task_id is None:
            return
        self._cancel_timer(job_id)
        task_id = job.task_id

        def work(client: KlingClient, token: CancelToken) -> Job:
            # NotFound: useapi.net was no longer tracking it, which is the same outcome.
            with contextlib.suppress(errors.NotFound):
                client.stop_tracking(task_id)
            return self._store.transition(
                job_id,
                S.STOPPED,
                error_code="stopped",
                error_message=(
                    "You stopped tracking this job. Kling still runs it and charges for it; "
                    "its result will appear in your Kling account. Retry to track it again."
                ),
            )

        self._run(job_id, self._net_pool, work, on_error=self._poll_failed)

    def remove(self, job_id: int) -> None:
        """Forget a job (its files stay). In-flight work on it is cancelled."""
        if job_id not in self._jobs:
            return
        token = self._busy.pop(job_id, None)
        if token is not None:
            token.cancel()
        self._cancel_timer(job_id)
        self._start_after_check.discard(job_id)
        self._batch.discard(job_id)
        self._not_before.pop(job_id, None)
        self._download_tries.pop(job_id, None)
        self._store.remove(job_id)
        del self._jobs[job_id]
        self._progress.pop(job_id, None)
        self.job_removed.emit(job_id)
        self._update_idle()

    def resolve_uncertain(self, job_id: int, *, resubmit: bool) -> None:
        job = self._jobs.get(job_id)
        if job is None or job.state is not S.UNCERTAIN:
            return
        if resubmit:
            self._batch.add(job_id)
            self._run_submit(job_id, fields={"error_code": "", "error_message": ""})
        else:
            self._set(
                self._store.transition(
                    job_id,
                    S.FAILED,
                    error_code="given_up",
                    error_message="Not sent again, at your request.",
                )
            )

    def resume(self) -> None:
        """Pick up every job an earlier run left unfinished (after a quit, crash or kill)."""
        for job in self.jobs():
            if job.id in self._busy:
                continue
            state = job.state
            if state is S.CHECKING:
                self._run_check(job.id)
            elif state is S.UPLOADING:
                # The upload was cut short; nothing was spent, so it simply starts again.
                self._set(self._store.transition(job.id, S.QUEUED))
                self._batch.add(job.id)
            elif state is S.QUEUED:
                self._batch.add(job.id)
            elif state is S.SUBMITTING:
                self._batch.add(job.id)
                if job.task_id is None:
                    self._run_reconcile(job.id)
                else:  # the id was stored; only the state write was lost
                    self._set(self._store.transition(job.id, S.PROCESSING))
                    self._schedule_poll(job.id, 0)
            elif state is S.WAITING_SLOT:
                self._batch.add(job.id)
                self._schedule(job.id, 1.0, self._run_submit)
            elif state is S.PROCESSING:
                self._batch.add(job.id)
                self._schedule_poll(job.id, 0)
            elif state is S.DOWNLOADING:
                self._batch.add(job.id)
                self._run_download(job.id)
        self._pump()
        self._update_idle()

    def client_changed(self) -> None:
        """The token or API URL changed: new clients from now on, and wake waiting work."""
        self._client_generation += 1
        self._online = None
        self._paused_reason = ""
        self._pump()
        for job in self.jobs():
            if job.state in (S.PROCESSING, S.WAITING_SLOT) and job.id not in self._busy:
                self._schedule(
                    job.id,
                    0.5,
                    self._run_poll if job.state is S.PROCESSING else self._run_submit,
                )

    def shutdown(self, wait_ms: int = 5000) -> None:
        """Stop all work; every job stays in the store and resumes on the next start."""
        self._shutting_down = True
        self._tick.stop()
        self._due.clear()
        self._heap.clear()
        for token in self._busy.values():
            token.cancel()
        for pool in (self._check_pool, self._transfer_pool, self._net_pool):
            pool.clear()
            pool.waitForDone(wait_ms)

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
        for job in self.jobs():
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
        if self._shutting_down:
            return
        when = time.monotonic() + max(0.0, delay_s)
        self._due[job_id] = (when, action)
        heapq.heappush(self._heap, (when, job_id))
        self._arm()

    def _cancel_timer(self, job_id: int) -> None:
        self._due.pop(job_id, None)  # its heap entry is skipped when it comes up

    def _arm(self) -> None:
        while self._heap and self._due.get(self._heap[0][1], (None,))[0] != self._heap[0][0]:
            heapq.heappop(self._heap)  # cancelled or rescheduled since
        if not self._heap:
            self._tick.stop()
            return
        wait_ms = max(0, int((self._heap[0][0] - time.monotonic()) * 1000))
        if not self._tick.isActive() or self._tick.remainingTime() > wait_ms:
            self._tick.start(wait_ms)

    @Slot()
    def _on_tick(self) -> None:
        now = time.monotonic()
        while self._heap and self._heap[0][0] <= now:
            when, job_id = heapq.heappop(self._heap)
            entry = self._due.get(job_id)
            if entry is None or entry[0] != when:
                continue
            del self._due[job_id]
            if job_id in self._jobs and job_id not in self._busy:
                entry[1](job_id)
        self._arm()

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

    def _run(
        self,
        job_id: int,
        pool: QThreadPool,
        work: Callable[[KlingClient, CancelToken], Job | None],
        *,
        on_error: Callable[[int, BaseException], None],
        needs_client: bool = True,
    ) -> None:
        """Run ``work`` for one job on ``pool``; its outcome comes back on this thread."""
        if self._shutting_down or job_id in self._busy:
            return
        token = CancelToken()
        self._busy[job_id] = token

        def call() -> Job | None:
            client = self._client() if needs_client else None
            return work(client, token)  # type: ignore[arg-type]

        def finished(result: Any) -> None:
            if self._busy.get(job_id) is token:
                del self._busy[job_id]
            if isinstance(result, Job):
                self._on_changed(result)
            self._after_step(job_id)

        def failed(exc: BaseException) -> None:
            if self._busy.get(job_id) is token:
                del self._busy[job_id]
            if job_id not in self._jobs or isinstance(exc, StoreError):
                return  # removed while working: nothing left to report
            if isinstance(exc, Cancelled) and self._shutting_down:
                return  # quitting: the job resumes next time from its stored state
            on_error(job_id, exc)
            self._after_step(job_id)

        call_id = next(self._call_ids)
        step = _Step(call_id, call, self._relay)
        self._calls[call_id] = (step, finished, failed)
        pool.start(step)
        self._update_idle()

    @Slot(int, object)
    def _on_step_done(self, call_id: int, result: object) -> None:
        entry = self._calls.pop(call_id, None)
        if entry is not None:
            self._retired.append(entry[0])
            entry[1](result)

    @Slot(int, object)
    def _on_step_failed(self, call_id: int, exc: object) -> None:
        entry = self._calls.pop(call_id, None)
        if entry is not None:
            self._retired.append(entry[0])
            entry[2](exc)

    def _after_step(self, job_id: int) -> None:
        job = self._jobs.get(job_id)
        if job is not None and not self._shutting_down:
            if job.state is S.PROCESSING and job_id not in self._due:
                # Kling needs a while: the first look comes after first_poll_delay_s.
                since_submit = time.time() - (job.submitted_at or 0.0)
                first_wait = self._settings.first_poll_delay_s - since_submit
                self._schedule_poll(job_id, first_wait if first_wait > 0 else None)
            elif job.state is S.DOWNLOADING and job_id not in self._busy:
                self._run_download(job_id)
            elif job.state in (S.DONE, S.FAILED, S.STOPPED):
                self._wake_slot_waiters(job.email)
        self._pump()
        self._update_idle()

    def _backoff(self, attempt: int) -> float:
        """Pause before repeating a failed upload or download: doubles, at most a minute."""
        base: float = self._transfer_backoff_s * 2.0 ** max(0, attempt - 1)
        return min(base, 60.0) * random.uniform(0.8, 1.2)

    def _wake_slot_waiters(self, email: str) -> None:
        """A finished job frees a Kling slot on its account: let waiting submits try soon."""
        for job in self.jobs():
            if job.state is S.WAITING_SLOT and job.email == email and job.id not in self._busy:
                self._schedule(job.id, random.uniform(0.5, 2.0), self._run_submit)

    # check -------------------------------------------------------------------------------

    def _run_check(self, job_id: int) -> None:
        # Decided here, on the owner thread: the worker then writes checking -> queued itself,
        # so an auto-started drop costs the GUI thread no disk sync per clip.
        start = job_id in self._start_after_check

        def work(_: KlingClient, token: CancelToken) -> Job:
            job = self._store.get(job_id)
            if job is None:
                raise StoreError("gone")
            verdict = pipeline.check(job)
            warnings = " ".join(p.message for p in verdict.problems if not _blocking(p))
            if not verdict.ok:
                blocking = [p for p in verdict.problems if _blocking(p)]
                return self._store.transition(
                    job_id,
                    S.REJECTED,
                    duration_s=verdict.duration_s,
                    error_code=blocking[0].code if blocking else "rejected",
                    error_message=" ".join(p.message for p in blocking),
                    warnings=warnings,
                )
            return self._store.transition(
                job_id,
                S.QUEUED if start else S.READY,
                duration_s=verdict.duration_s,
                warnings=warnings,
            )

        def after(job_id: int, exc: BaseException) -> None:
            self._fail(job_id, S.REJECTED, exc)

        self._run(job_id, self._check_pool, work, on_error=after, needs_client=False)

    # upload + submit ---------------------------------------------------------------------

    def _run_send(self, job_id: int) -> None:
        """Upload (unless already uploaded) and submit, on a transfer slot."""

        def work(client: KlingClient, token: CancelToken) -> Job | None:
            job = self._store.get(job_id)
            if job is None or job.state is not S.QUEUED:
                return job
            if not job.email and self._settings.default_email:
                # Added before an account was known (no token yet): use the default now.
                options = dataclasses.replace(job.options, email=self._settings.default_email)
                job = self._store.update(job_id, options=options)
            if not job.upload_url:
                job = self._store.transition(
                    job_id, S.UPLOADING, upload_attempts=job.upload_attempts + 1
                )
                self._relay.changed.emit(job)
                self._relay.progress.emit(job_id, Progress(0.0, "Uploading 0 %"))
                url = pipeline.upload(client, job, self._upload_progress(job_id), token)
                job = self._store.update(job_id, upload_url=url)
            token.raise_if_cancelled()
            return self._submit_now(client, job)

        self._run(job_id, self._transfer_pool, work, on_error=self._send_failed)

    def _run_submit(self, job_id: int, fields: dict[str, Any] | None = None) -> None:
        extra = fields or {}

        def work(client: KlingClient, token: CancelToken) -> Job | None:
            job = self._store.get(job_id)
            if job is None:
                return None
            if extra:
                job = job.replace(**extra)
            return self._submit_now(client, job, extra)

        self._run(job_id, self._net_pool, work, on_error=self._send_failed)

    def _submit_now(
        self, client: KlingClient, job: Job, extra: dict[str, Any] | None = None
    ) -> Job:
        """Persist "submitting", send the one paid request, persist the task id at once."""
        job = self._store.transition(
            job.id,
            S.SUBMITTING,
            submitted_at=time.time(),
            submit_attempts=job.submit_attempts + 1,
            **(extra or {}),
        )
        self._relay.changed.emit(job)
        try:
            task = pipeline.submit(client, job)
        except errors.RateLimited as exc:
            # 429 means "not started": safe to send again once a slot frees up.
            since = job.slot_wait_since or time.time()
            return self._store.transition(
                job.id,
                S.WAITING_SLOT,
                slot_wait_since=since,
                error_code=exc.code,
                error_message="",
            )
        except (errors.Timeout, errors.NetworkError, errors.MalformedResponse) as exc:
            return self._after_unknown_submit(client, job, exc)
        except errors.ServerError as exc:
            if exc.status in _AMBIGUOUS_STATUSES:
                return self._after_unknown_submit(client, job, exc)
            raise
        return self._adopt(job, task)

    def _after_unknown_submit(self, client: KlingClient, job: Job, exc: errors.ApiError) -> Job:
        # The request may have reached Kling: never resend, find out instead.
        log.warning("job %s: submit outcome unknown (%s); reconciling", job.id, exc.code)
        try:
            return self._reconcile_now(client, job)
        except errors.ApiError as again:
            raise ReconcilePending() from again

    def _adopt(self, job: Job, task: Task) -> Job:
        fields: dict[str, Any] = {
            "task_id": task.id,
            "slot_wait_since": None,
            "error_code": "",
            "error_message": "",
        }
        job = self._store.transition(job.id, S.PROCESSING, **fields)
        self._relay.changed.emit(job)
        return self._apply_task(job, task)

    def _send_failed(self, job_id: int, exc: BaseException) -> None:
        job = self._jobs.get(job_id)
        stored = self._store.get(job_id)
        if stored is not None and job is not None and stored.state is not job.state:
            self._set(stored)
        job = stored
        if job is None:
            return
        if isinstance(exc, NoClient | errors.Unauthorized | errors.SubscriptionRequired):
            # Not the clip's fault: hold the queue until the token is fixed.
            self._paused_reason = str(exc)
            self._set_online(False, str(exc))
            if job.state is S.QUEUED:
                return
            if job.state is S.UPLOADING:
                self._set(self._store.transition(job_id, S.QUEUED))
                return
        if job.state is S.UPLOADING and isinstance(exc, Cancelled):
            self._set(self._store.transition(job_id, S.QUEUED))
            return
        if isinstance(exc, ReconcilePending):
            # Still "submitting" with no task id: ask again later; never resubmit.
            self._set_online(False, str(exc.__cause__ or exc))
            self._progress[job_id] = Progress(None, str(exc))
            self.job_progress.emit(job_id, self._progress[job_id])
            self._schedule(job_id, 15.0, self._run_reconcile)
            return
        if job.state is S.UPLOADING and _is_transient(exc) and job.upload_attempts < TRANSFER_TRIES:
            # Nothing was spent: queue it again after a pause and let it retry by itself.
            self._set_online(False, str(exc))
            delay = self._backoff(job.upload_attempts)
            self._not_before[job_id] = time.monotonic() + delay
            self._set(self._store.transition(job_id, S.QUEUED))
            self._progress[job_id] = Progress(
                None, f"Upload interrupted · retrying in {delay:.0f} s"
            )
            self.job_progress.emit(job_id, self._progress[job_id])
            QTimer.singleShot(int(delay * 1000) + 50, self, self._pump)
            return
        if isinstance(exc, errors.NotFound) and job.state is S.SUBMITTING:
            # Kling lost the uploaded file: a retry uploads it again.
            self._set(self._store.update(job_id, upload_url=""))
        if job.state in (S.QUEUED, S.UPLOADING, S.SUBMITTING, S.WAITING_SLOT):
            self._fail(job_id, S.FAILED, exc)

    # reconcile ---------------------------------------------------------------------------

    def _run_reconcile(self, job_id: int) -> None:
        def work(client: KlingClient, token: CancelToken) -> Job | None:
            job = self._store.get(job_id)
            if job is None:
                return None
            return self._reconcile_now(client, job)

        def failed(job_id: int, exc: BaseException) -> None:
            # Could not ask the service (offline?): try again later; never resubmit.
            self._set_online(False, str(exc))
            self._schedule(job_id, 15.0, self._run_reconcile)

        self._run(job_id, self._net_pool, work, on_error=failed)

    def _reconcile_now(self, client: KlingClient, job: Job) -> Job:
        taken = {j.task_id for j in self._store.all() if j.task_id is not None and j.id != job.id}
        task = pipeline.reconcile(client, job, taken)
        if task is not None:
            return self._adopt(job, task)
        return self._store.transition(
            job.id,
            S.UNCERTAIN,
            error_code="uncertain",
            error_message=(
                "The request to add sound was sent, but its answer was lost and Kling shows no "
                "matching task. Sending it again may charge you twice; giving up may leave a "
                "result in your Kling account. Choose “Send again” or “Give up”."
            ),
        )

    # poll --------------------------------------------------------------------------------

    def _run_poll(self, job_id: int) -> None:
        job = self._jobs.get(job_id)
        if job is None or job.state is not S.PROCESSING:
            return

        def work(client: KlingClient, token: CancelToken) -> Job | None:
            job = self._store.get(job_id)
            if job is None or job.state is not S.PROCESSING:
                return job
            task = pipeline.poll(client, job)
            if job.poll_errors:
                job = self._store.update(job_id, poll_errors=0)
            return self._apply_task(job, task)

        self._run(job_id, self._net_pool, work, on_error=self._poll_failed)

    def _apply_task(self, job: Job, task: Task) -> Job:
        """Act on a polled (or submit-time) task snapshot."""
        if task.succeeded:
            first = next((w for w in task.works if w.resource_url), None)
            return self._store.transition(
                job.id,
                S.DOWNLOADING,
                result_url=task.result_url,
                work_id=first.work_id if first else None,
            )
        if task.failed:
            return self._store.transition(
                job.id,
                S.FAILED,
                error_code="kling_failed",
                error_message=(
                    f"Kling could not add sound to this clip: {task.failure_text}. "
                    "Retry sends it again (a new paid job), or pick another clip."
                ),
            )
        if job.submitted_at and time.time() - job.submitted_at > PROCESSING_LIMIT_S:
            return self._store.transition(
                job.id,
                S.FAILED,
                error_code="poll_timeout",
                error_message=(
                    "Kling has not finished after 3 hours. Retry to check on it again; "
                    "it is not sent again."
                ),
            )
        self._relay.progress.emit(job.id, Progress(None, _status_text(task), job.submitted_at))
        self._set_online_threadsafe()
        return job

    def _poll_failed(self, job_id: int, exc: BaseException) -> None:
        job = self._jobs.get(job_id)
        if job is None:
            return
        if isinstance(exc, errors.NotFound):
            self._fail(job_id, S.FAILED, exc)
            return
        if isinstance(exc, NoClient | errors.Unauthorized | errors.SubscriptionRequired):
            # Not the job's fault: keep it and look again once the token is fixed.
            self._set_online(False, str(exc))
            self._schedule_poll(job_id, 60.0)
            return
        if (
            isinstance(exc, errors.ApiError)
            and not exc.transient
            and not isinstance(exc, errors.MalformedResponse)
        ):
            self._fail(job_id, S.FAILED, exc)
            return
        # Network down, timeouts, 5xx, 429, garbled answers: back off and keep going.
        if isinstance(exc, errors.NetworkError | errors.Timeout):
            self._set_online(False, str(exc))
        stored = self._store.get(job_id)
        errors_so_far = (stored.poll_errors if stored else 0) + 1
        if stored is not None:
            self._set(self._store.update(job_id, poll_errors=errors_so_far))
        delay = min(self._settings.poll_interval_s * 2 ** min(errors_so_far, 6), MAX_BACKOFF_S)
        self._progress[job_id] = Progress(None, f"Connection problem · retrying in {delay:.0f} s")
        self.job_progress.emit(job_id, self._progress[job_id])
        self._schedule_poll(job_id, delay * random.uniform(0.9, 1.1))

    # download ----------------------------------------------------------------------------

    def _run_download(self, job_id: int) -> None:
        def work(client: KlingClient, token: CancelToken) -> Job | None:
            job = self._store.get(job_id)
            if job is None or job.state is not S.DOWNLOADING:
                return job
            dest, complete = pipeline.destination(job, self._settings.output_folder)
            if complete:  # renamed into place just before a crash: nothing to fetch again
                return self._store.transition(job_id, S.DONE, output_path=dest)
            # Persist the reserved name first, so a crash mid-download reuses (and never
            # strands) our placeholder.
            self._store.update(job_id, output_path=dest)
            try:
                saved = pipeline.download(
                    client,
                    job,
                    dest,
                    prefer_clean=self._settings.prefer_clean_master,
                    progress=self._transfer_progress(job_id, "Downloading"),
                    cancel=token,
                )
            except BaseException:
                dest.unlink(missing_ok=True)  # the empty placeholder; never a user's file
                self._store.update(job_id, output_path=None)
                raise
            return self._store.transition(
                job_id, S.DONE, output_path=saved.path, result_kind=saved.kind
            )

        def failed(job_id: int, exc: BaseException) -> None:
            if _is_transient(exc):
                self._set_online(False, str(exc))
                tries = self._download_tries.get(job_id, 0) + 1
                self._download_tries[job_id] = tries
                if tries < TRANSFER_TRIES:
                    delay = self._backoff(tries)
                    self._progress[job_id] = Progress(
                        None, f"Download interrupted · retrying in {delay:.0f} s"
                    )
                    self.job_progress.emit(job_id, self._progress[job_id])
                    self._schedule(job_id, delay, self._run_download)
                    return
            self._download_tries.pop(job_id, None)
            self._fail(job_id, S.FAILED, exc, code_prefix="download_")

        self._run(job_id, self._transfer_pool, work, on_error=failed)

    # -- outcomes on the owner thread -----------------------------------------------------

    @Slot(object)
    def _on_changed(self, job: Job) -> None:
        if job.id not in self._jobs:
            return
        old = self._jobs[job.id]
        if job.updated_at < old.updated_at or job == old:
            return  # a late echo of an older snapshot, or a poll that changed nothing
        self._jobs[job.id] = job
        if job.state is not old.state:
            self._progress.pop(job.id, None)
            if job.state is not S.DOWNLOADING:
                self._download_tries.pop(job.id, None)
            if old.state is S.CHECKING and job.state is S.QUEUED:
                self._start_after_check.discard(job.id)  # the check worker queued it
                self._batch.add(job.id)
            elif job.state is S.READY and job.id in self._start_after_check:
                # "Add sound" was pressed while the check was already running.
                self._start_after_check.discard(job.id)
                self._jobs[job.id] = job = self._store.transition(job.id, S.QUEUED)
                self._batch.add(job.id)
        if job.state is S.WAITING_SLOT and job.id not in self._due:
            self._schedule_slot_retry(job)
        self.job_changed.emit(job)
        self._update_idle()

    def _schedule_slot_retry(self, job: Job) -> None:
        waited = time.time() - (job.slot_wait_since or time.time())
        if waited > self._settings.slot_wait_limit_s:
            self._set(
                self._store.transition(
                    job.id,
                    S.FAILED,
                    error_code="no_slot",
                    error_message=(
                        f"Every Kling job slot stayed busy for {waited / 60:.0f} minutes, so the "
                        "clip was not sent. Retry later, or raise maxJobs in Accounts."
                    ),
                )
            )
            return
        attempt = max(1, job.submit_attempts)
        delay = min(SLOT_BACKOFF_S * 2 ** min(attempt - 1, 5), self._settings.poll_interval_s * 4)
        delay *= random.uniform(0.8, 1.2)
        self._progress[job.id] = Progress(
            None, f"Waiting for a free Kling slot · next try in {delay:.0f} s", job.slot_wait_since
        )
        self.job_progress.emit(job.id, self._progress[job.id])
        self._schedule(job.id, delay, self._run_submit)

    @Slot(int, object)
    def _on_progress(self, job_id: int, progress: Progress) -> None:
        if job_id in self._jobs:
            self._progress[job_id] = progress
            self.job_progress.emit(job_id, progress)

    def _set(self, job: Job) -> None:
        self._on_changed(job)

    def _fail(
        self, job_id: int, state: JobState, exc: BaseException, *, code_prefix: str = ""
    ) -> None:
        code = code_prefix + getattr(exc, "code", "error")
        message = str(exc) or exc.__class__.__name__
        if not isinstance(exc, errors.ApiError | Cancelled | NoClient | pipeline.ResultInvalid):
            log.error("job %s: unexpected failure", job_id, exc_info=exc)
            message = f"Unexpected problem: {message}. Details are in the log."
        try:
            self._set(self._store.transition(job_id, state, error_code=code, error_message=message))
        except Exception:  # an illegal move here is a bug; keep the job visible, log it
            log.exception("job %s: could not record failure %s", job_id, code)

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
            jobs = [self._jobs[i] for i in sorted(self._batch) if i in self._jobs]
            self._batch.clear()
            summary = BatchSummary(
                done=[j for j in jobs if j.state is S.DONE],
                failed=[j for j in jobs if j.state in (S.FAILED, S.UNCERTAIN, S.STOPPED)],
            )
            if summary.done or summary.failed:
                self.batch_finished.emit(summary)

    # -- progress callbacks (worker threads) ----------------------------------------------

    def _upload_progress(self, job_id: int) -> Callable[[int, int], None]:
        return self._transfer_progress(job_id, "Uploading")

    def _transfer_progress(self, job_id: int, verb: str) -> Callable[[int, int], None]:
        """At most ten updates a second per job (and the last one), not one per percent:
        each is a queued signal the GUI thread must handle."""
        last_percent, last_time = [-1], [0.0]

        def report(done: int, total: int) -> None:
            percent = int(done * 100 / total) if total else 0
            now = time.monotonic()
            if percent == last_percent[0] or (now - last_time[0] < 0.1 and percent < 100):
                return
            last_percent[0], last_time[0] = percent, now
            self._relay.progress.emit(job_id, Progress(percent / 100, f"{verb} {percent} %"))

        return report


_POLL_AGAIN_CODES = frozenset({"poll_timeout", "network", "timeout", "server_error", "malformed"})


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, errors.ApiError) and exc.transient


def _blocking(problem: Any) -> bool:
    return str(getattr(problem.severity, "value", problem.severity)).lower() == "blocking"


def _status_text(task: Task) -> str:
    name = task.status_name.replace("_", " ") if task.status_name else "processing"
    return f"Adding sound · {name}"


def _pool(threads: int) -> QThreadPool:
    pool = QThreadPool()
    pool.setMaxThreadCount(max(1, threads))
    pool.setExpiryTimeout(30_000)
    return pool
