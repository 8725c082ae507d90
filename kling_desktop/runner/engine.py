"""The job engine: drives every job through check → (prepare →) upload → submit → poll →
download (→ put together), for the window and the command line alike.

:class:`JobRunner` is what its users call: what the user does (add, Add sound, Retry, Send
again, Cancel, Remove, Undo, remix…) and how jobs look (a clip of parts shows its requests'
state). Each action is a decision of ``jobs/policy.py`` (or ``jobs/parts.py``) written on the
store thread — the owner (GUI) thread never writes to the database; the machinery that
carries decisions out and runs steps on threads is ``runner/scheduler.py``.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kling_desktop.cancel import CancelToken
from kling_desktop.jobs import finishing, parts, policy
from kling_desktop.jobs.model import Job, JobOptions, JobState
from kling_desktop.jobs.policy import Action, Decision
from kling_desktop.runner.scheduler import BatchSummary, ClientFactory, NoClient, Scheduler
from kling_desktop.runner.steps import Outcome, Progress

if TYPE_CHECKING:
    from kling_desktop.api.client import KlingClient

__all__ = ["BatchSummary", "ClientFactory", "JobRunner", "NoClient", "Progress"]

log = logging.getLogger(__name__)

S = JobState
PROCESSING_LIMIT_S = policy.PROCESSING_LIMIT_S
TRANSFER_TRIES = policy.TRANSFER_TRIES


class JobRunner(Scheduler):
    # -- reading --------------------------------------------------------------------------

    def jobs(self) -> list[Job]:
        """The user's clips, as they see them: a clip of parts with its requests' state
        (:func:`jobs.parts.view`); the requests themselves are :meth:`requests_of`."""
        return self._book.clips()

    def job(self, job_id: int) -> Job | None:
        return self._book.get(job_id)

    def requests_of(self, job_id: int) -> list[Job]:
        """The paid requests of a clip of parts (part, then take, order); [] for a clip that is
        one request itself."""
        return self._book.requests_of(job_id)

    def progress(self, job_id: int) -> Progress:
        return self._progress_of(job_id)

    def is_idle(self) -> bool:
        return self._book.is_idle()

    def is_starting(self, job_id: int) -> bool:
        """ "Add sound" was given for this ready clip and is being written: it is on its way,
        not waiting for the user."""
        return job_id in self._starting

    def retry_kind(self, job_id: int) -> policy.RetryKind:
        """What Retry would do for the job; RESUBMIT means only a confirmed new paid job."""
        return self._book.retry_kind(job_id)

    def paid_to_resend(self, job_id: int) -> int:
        """How many new paid Kling jobs :meth:`resubmit` would start for this job."""
        return self._book.paid_to_resend(job_id)

    def paid_to_resolve(self, job_id: int) -> int:
        """How many new paid Kling jobs "Resolve → send again" would start (its uncertain
        requests)."""
        job = self._jobs.get(job_id)
        if job is None:
            return 0
        rows = self._book.requests_of(job_id) if job.requests else [job]
        return sum(1 for r in rows if r.state is S.UNCERTAIN)

    def paid_to_start(self, job_id: int) -> int:
        """How many paid Kling jobs "Add sound" starts for a ready clip."""
        return self._book.paid_to_start(job_id)

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

        self._calls.call(self._calls.db, work, added, self._store_failed)

    def start(
        self, job_ids: Iterable[int] | None = None, *, paid: Mapping[int, int] | None = None
    ) -> None:
        """Send ready clips (all of them when ``job_ids`` is None). ``paid`` is what the user
        confirmed, in paid jobs per clip (:meth:`paid_to_start` when they were asked): a clip
        whose options changed since, so that it would take another number, is not sent —
        it stays ready, saying so. Clips still being checked follow when their check ends."""
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
                ready.extend(r.id for r in self._book.requests_of(job_id) if r.state is S.READY)
        if not ready:
            return
        cache, now = self._cache_dir, self._clock()
        starting = set(ready)
        self._starting |= starting

        def work() -> list[Job]:
            jobs, asked = [], dict(paid or {})
            for job_id in list(ready):
                stored = self._store.get(job_id)
                if stored is not None and job_id in asked and asked[job_id] != _paid(stored):
                    ready.remove(job_id)
                    jobs.append(self._store.update(job_id, warnings=_CHANGED_SINCE_ASKED))
            single = [i for i in ready if not parts.needs_parts(self._stored_or(i))]
            jobs += self._store.apply_many(single, policy.start)  # one sync for the batch
            for job_id in ready:
                if job_id in single:
                    continue
                clip, requests = self._store.start_parts(
                    job_id, lambda clip: parts.requests_for(clip, cache, now), parts.started
                )
                jobs.extend([clip, *requests])
            return jobs

        def started(jobs: list[Job]) -> None:
            self._starting -= starting
            for job in jobs:  # a clip's new requests first: the clip shows theirs
                if job.id not in self._jobs and job.parent_id in self._jobs:
                    self._jobs[job.id] = job
            for job in jobs:
                if job.state is S.QUEUED:
                    self._batch.add(job.id)
                self._on_changed(job)
            self._pump()
            self._update_idle()

        def failed(exc: BaseException) -> None:
            self._starting -= starting
            self._store_failed(exc)
            self._update_idle()

        self._calls.call(self._calls.db, work, started, failed)

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
            for request in self._book.requests_of(job_id):
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

    def resubmit(self, job_id: int, *, paid: int | None = None) -> None:
        """Start a NEW PAID Kling job for a job Kling failed or lost, or an uncertain one.
        Only call this after the user confirmed that cost."""
        job = self._jobs.get(job_id)
        if job is None or job_id in self._busy:
            return
        if job.requests:  # the requests Kling failed or lost: one new paid job each
            lost = parts.to_resubmit(self._book.requests_of(job_id))
            for request in lost[:paid] if paid is not None else lost:  # never more than asked
                self.resubmit(request.id)
            return
        self._cancel_timer(job_id)  # an uncertain job's own look-ups stop here
        self._batch.add(job_id)
        self._decide(job_id, policy.resubmit)

    def resolve_uncertain(self, job_id: int, *, resubmit: bool) -> None:
        job = self._jobs.get(job_id)
        if job is not None and job.requests:
            for request in self._book.requests_of(job_id):
                if request.state is S.UNCERTAIN:
                    self.resolve_uncertain(request.id, resubmit=resubmit)
            return
        if resubmit:
            self.resubmit(job_id)
        else:
            self._cancel_timer(job_id)
            self._decide(job_id, policy.give_up)

    def found_for(self, job_id: int) -> Job | None:
        """The row a task the user found would go to: the job itself, or the one request of a
        clip of parts whose paid request may have created a task it does not know (None when
        there is none, or more than one: then the user names the request)."""
        job = self._jobs.get(job_id)
        if job is None or not job.requests:
            return job
        lost = [
            r
            for r in self._book.requests_of(job_id)
            if r.task_id is None and r.paid_submits > 0 and r.state in (S.UNCERTAIN, S.FAILED)
        ]
        return lost[0] if len(lost) == 1 else None

    def task_owner(self, task_id: int) -> Job | None:
        """The row (a job, or a request of a clip of parts) that tracks this Kling task."""
        return next((j for j in self._book.all() if j.task_id == task_id), None)

    def found(self, job_id: int, task_id: int) -> None:
        """The user says which Kling task is this job's: track it (free). Never a task that
        another job or part already tracks; for a clip of parts, the request
        :meth:`found_for` names."""
        owner = self.task_owner(task_id)
        target = self.found_for(job_id)
        if target is None or (owner is not None and owner.id != target.id):
            return
        if target.id != job_id:
            self.found(target.id, task_id)
            return
        self._cancel_timer(job_id)
        self._batch.add(job_id)
        self._decide(
            job_id,
            lambda job: (
                policy.found(job, task_id) if self._steps.owns(task_id, job_id) else Decision()
            ),
        )

    def cancel(self, job_id: int) -> None:
        """Take back a clip that has not left the computer (queued, uploading, waiting for a
        token or a slot): it goes back to Ready and nothing is spent."""
        job = self._jobs.get(job_id)
        if job is not None and job.requests:
            for request in self._book.requests_of(job_id):
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
            for request in self._book.requests_of(job_id):
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

        self._run(job_id, self._calls.net, work, on_error=failed)

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
            family = self._book.requests_of(job_id)
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
                self._leaving[job_id] = token  # it may be kept, or come back with Undo
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

            self._calls.call(self._calls.db, work, self._kept_after_all, self._store_failed)
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

        self._calls.call(self._calls.db, work, back, self._store_failed)

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
                    self.job_added.emit(self._book.view(job))
            self._resume_jobs(restored)

        self._calls.call(self._calls.db, work, back, self._store_failed)

    def resume(self) -> None:
        """Pick up every job an earlier run left unfinished (after a quit, crash or kill),
        and clear the cache of clips that were removed since."""
        self._resume_jobs(self._book.all())
        cache, store = self._cache_dir, self._store

        def tidy() -> int:
            return finishing.collect_garbage(cache, {job.uid for job in store.all()})

        self._calls.call(self._calls.db, tidy, None, lambda exc: log.warning("%s", exc))

    def client_changed(self) -> None:
        """The token or API URL changed: new clients from now on, and wake waiting work."""
        self._client_generation += 1
        self._online = None
        self._paused_reason = ""
        self._pump()
        for job in self._book.all():
            if job.state in (S.PROCESSING, S.WAITING_SLOT) and job.id not in self._busy:
                self._schedule(
                    job.id,
                    0.5,
                    self._run_poll if job.state is S.PROCESSING else self._run_submit,
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

        self._run(job_id, self._calls.finish, work, on_error=failed, needs_client=False)
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
            own = {k: v for k, v in fields.items() if k in parts.allowed_options(job)}
            if not own:
                continue
            changed.append(job_id)
            recheck = any(k in parts.RECHECK_OPTIONS for k in own)

            def write(stored: Job, own: dict[str, Any] = own, recheck: bool = recheck) -> Decision:
                own = {k: v for k, v in own.items() if k in parts.allowed_options(stored)}
                if not own:
                    return Decision()
                changes: dict[str, Any] = {"options": dataclasses.replace(stored.options, **own)}
                if recheck and stored.state in (S.READY, S.REJECTED):
                    return Decision({**changes, "state": S.CHECKING}, Action.CHECK)
                return Decision(changes)

            self._decide(job_id, write)
        return changed


_CHANGED_SINCE_ASKED = (
    "Its options changed after you confirmed, so it would take another number of paid jobs: "
    "nothing was sent. Press Add sound again."
)


def _paid(job: Job) -> int:
    """Paid Kling jobs "Add sound" starts for a ready clip, as the store holds it."""
    return parts.paid_requests(job) if parts.needs_parts(job) else 1
