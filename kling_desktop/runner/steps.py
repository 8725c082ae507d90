"""What runs on a pool thread for one job: check, send (upload + submit), reconcile, poll,
download, stop tracking. Each reads the job as stored, does its one piece of I/O, and writes
what ``jobs/policy.py`` decides about the outcome in the same transaction that read the job;
it returns an :class:`Outcome` for the engine to carry out on its own thread.

Nothing here touches a widget or a timer: progress and "the job changed" go out through the
:class:`Relay`, whose queued signals land on the engine's thread.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from kling_desktop.api import errors
from kling_desktop.api.models import Task
from kling_desktop.cancel import Cancelled, CancelToken
from kling_desktop.jobs import parts, pipeline, policy, preflight
from kling_desktop.jobs.model import Job, JobState
from kling_desktop.jobs.policy import Action, Decision
from kling_desktop.jobs.store import JobGone, JobStore, StoreError, SubmitNotAllowed
from kling_desktop.settings import Settings

if TYPE_CHECKING:  # requests loads with the first client, not with the window
    from kling_desktop.api.client import KlingClient

log = logging.getLogger(__name__)

S = JobState


@dataclass(frozen=True)
class Progress:
    """What a row shows under its state.

    ``fraction`` is 0..1, or None when indeterminate; ``since`` is the epoch time a timed phase
    began (processing, waiting for a slot), so a view can show the elapsed time itself;
    ``until`` the epoch time of the next try after a wait, so a view can count down to it.
    """

    fraction: float | None = None
    text: str = ""
    since: float | None = None
    until: float | None = None


@dataclass(frozen=True)
class Outcome:
    """What a step wrote (the job as stored now) and what the policy says to do next."""

    job: Job
    decision: Decision = field(default_factory=Decision)


class Relay(QObject):
    """Carries worker-thread news to the engine's thread (queued, since it lives there)."""

    changed = Signal(object)  # Job
    progress = Signal(int, object)  # job id, Progress
    online = Signal()


class Steps:
    """The worker-side body of every step, sharing the store, settings, clock and relay."""

    def __init__(
        self,
        store: JobStore,
        settings: Settings,
        relay: Relay,
        *,
        cache_dir: Path,
        clock: Callable[[], float],
        transfer_backoff: policy.Backoff,
        reconcile_backoff: policy.Backoff,
        shutting_down: Callable[[], bool],
    ) -> None:
        self._store, self._settings, self._relay, self._clock = store, settings, relay, clock
        self.cache_dir = cache_dir
        self.transfer_backoff = transfer_backoff
        self._reconcile_backoff = reconcile_backoff
        self._shutting_down = shutting_down

    def apply(self, job_id: int, decide: Callable[[Job], Decision]) -> Outcome:
        """Decide on the job as stored and write the decision, in one transaction."""
        taken: list[Decision] = []

        def changes(job: Job) -> dict[str, Any]:
            decision = decide(job)
            taken.append(decision)
            return decision.changes

        job = self._store.apply(job_id, changes)
        return Outcome(job, taken[-1] if taken else Decision())

    def _stored(self, job_id: int) -> Job:
        job = self._store.get(job_id)
        if job is None:
            raise JobGone(str(job_id))
        return job

    # check -----------------------------------------------------------------------------

    def check(self, job_id: int, *, start: bool) -> Job:
        job = self._stored(job_id)
        verdict = pipeline.check(job)
        warnings = " ".join(p.message for p in verdict.problems if not _blocking(p))
        stat = _stat(job.input_path)
        seen = {"input_size": stat[0], "input_mtime": stat[1]} if stat else {}
        plan = getattr(verdict, "plan", None)
        probe = getattr(verdict, "probe", None)
        unplanned = plan is None or not plan.ok
        if verdict.ok and job.options.strict and probe is not None and unplanned:
            # Strict: the clip goes as it is, never split, so the longest clip the app would
            # split does not apply. Without a plan a clip of takes had no requests to make,
            # and "Add sound" left it ready with nothing sent and nothing said.
            from kling_desktop.media.prepare import make_plan

            plan = make_plan(probe, max_length_s=math.inf)
        if plan is not None:
            seen["plan"] = plan.to_json()
        if not verdict.ok:
            blocking = [p for p in verdict.problems if _blocking(p)]
            return self._store.transition(
                job_id,
                S.REJECTED,
                duration_s=verdict.duration_s,
                error_code=blocking[0].code if blocking else "rejected",
                error_message=" ".join(p.message for p in blocking),
                warnings=warnings,
                **seen,
            )

        def checked(job: Job) -> dict[str, Any]:
            fields = {"duration_s": verdict.duration_s, "warnings": warnings, **seen}
            if job.state is S.QUEUED:  # re-checked before sending: carry on
                return fields
            if job.state is S.CHECKING and policy.may_submit(job):
                if parts.needs_parts(job.replace(**fields)):
                    # It changed into a clip the app must prepare, maybe in several paid
                    # parts: what the user confirmed no longer holds. Ask again.
                    return {
                        **fields,
                        "state": S.READY,
                        "confirmed_requests": job.paid_submits,
                        "warnings": " ".join(
                            w
                            for w in (
                                "The clip changed since you pressed Add sound; nothing was "
                                "sent. Press Add sound again to send it as it is now.",
                                warnings,
                            )
                            if w
                        ),
                    }
                # Sent back by preflight (the clip changed): still confirmed, so it goes on.
                return {**fields, "state": S.QUEUED}
            if start and job.paid_submits == 0 and not parts.needs_parts(job.replace(**fields)):
                return {**fields, **(policy.start(job) or {})}
            return {**fields, "state": S.READY}  # a clip of parts is started by the engine

        return self._store.apply(job_id, checked)

    # upload + submit -------------------------------------------------------------------

    def send(self, client: KlingClient, token: CancelToken, job_id: int) -> Outcome | Job | None:
        """Upload (unless already uploaded), then submit."""
        job = self._store.get(job_id)
        if job is None or job.state is not S.QUEUED:
            return job
        if job.parent_id is not None:  # one part of a clip: its upload is made here first
            refused = self._prepare(job, token)
            if refused is not None:
                return refused
            job = self._stored(job_id)
        # Before the upload and the paid submit: what would waste them (DESIGN §4.9).
        found = preflight.run(job, self._settings.output_folder)
        if not found.ok:
            return self.apply(job_id, lambda j: preflight.decision(j, found))
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
            try:
                url = pipeline.upload(
                    client, job, self.transfer_progress(job_id, "Uploading"), token
                )
            except Exception as exc:
                error, now, backoff = exc, self._clock(), self.transfer_backoff
                return self.apply(
                    job_id, lambda j: policy.after_upload_error(j, error, now, backoff=backoff)
                )
            job = self._store.update(job_id, upload_url=url)
        token.raise_if_cancelled()
        return self.submit_now(client, job_id)

    def submit_again(self, client: KlingClient, job_id: int) -> Outcome | Job | None:
        """Try a submit again after a 429 (waiting for a free slot)."""
        job = self._store.get(job_id)
        if job is None or job.state is not S.WAITING_SLOT:
            return job
        return self.submit_now(client, job_id)

    def submit_now(self, client: KlingClient, job_id: int) -> Outcome:
        """Commit "submitting" (the store refuses unless a confirmed request is left), send
        the one paid request, and record what came back — the task id at once."""
        # The flag's value is decided now, from what was learned so far, and kept with the
        # request: what the service then does with it is judged against what was sent.
        asked = self._stored(job_id).options.keep_original_sound
        flag = pipeline.crop_flag(asked, self._store.fact(parts.CROP_FACT))
        try:
            job = self._store.begin_submit(job_id, self._clock(), crop_sent=int(flag))
        except SubmitNotAllowed as exc:
            log.warning("%s: not sent", exc)
            return self.apply(job_id, policy.not_confirmed)
        self._relay.changed.emit(job)
        settings = self._settings
        try:
            task = pipeline.submit(client, job)
        except Exception as exc:
            error = exc
            # A full account is expected (the job waits for a slot): not worth a warning.
            level = logging.INFO if isinstance(exc, errors.RateLimited) else logging.WARNING
            log.log(level, "job %s: submit raised %s (%s)", job_id, type(exc).__name__, exc)
            outcome = self.apply(
                job_id,
                lambda j: policy.after_submit_error(
                    j, error, self._clock(), slot_wait_limit_s=settings.slot_wait_limit_s
                ),
            )
            if outcome.decision.action is Action.RECONCILE and outcome.decision.delay_s <= 0:
                return self.reconcile(client, job_id)
            return outcome
        return self.apply(
            job_id,
            lambda j: policy.after_submit(
                j,
                task,
                self._clock(),
                first_poll_s=settings.first_poll_delay_s,
                poll_interval_s=settings.poll_interval_s,
            ),
        )

    # reconcile -------------------------------------------------------------------------

    def reconcile(self, client: KlingClient, job_id: int) -> Outcome:
        job = self._stored(job_id)
        taken = {j.task_id for j in self._store.all() if j.task_id is not None and j.id != job_id}
        backoff = self._reconcile_backoff
        try:
            task = pipeline.reconcile(client, job, taken)
        except Exception as exc:
            error = exc
            log.info("job %s: could not look for its task yet (%s)", job_id, exc)
            return self.apply(
                job_id,
                lambda j: policy.after_reconcile_error(j, error, self._clock(), backoff=backoff),
            )
        first = self._settings.first_poll_delay_s

        def decide(j: Job) -> Decision:
            # Taken since ``taken`` was read (the user named it for another job): not ours.
            mine = task if task is None or self.owns(task.id, job_id) else None
            return policy.after_reconcile(
                j, mine, self._clock(), first_poll_s=first, backoff=backoff
            )

        return self.apply(job_id, decide)

    def owns(self, task_id: int, job_id: int) -> bool:
        """Whether ``job_id`` may track ``task_id``: no other row tracks it (as stored; inside
        :meth:`apply`'s transaction, so no other writer gets in between)."""
        return self._store.task_owner(task_id) in (None, job_id)

    # poll ------------------------------------------------------------------------------

    def poll(self, client: KlingClient, job_id: int) -> Outcome | Job | None:
        job = self._store.get(job_id)
        if job is None or job.state is not S.PROCESSING:
            return job
        interval = self._settings.poll_interval_s
        try:
            task = pipeline.poll(client, job)
        except Exception as exc:
            error = exc
            if isinstance(exc, errors.NetworkError | errors.Timeout):
                self._relay.progress.emit(job_id, Progress(None, str(exc), job.submitted_at))
            return self.apply(
                job_id,
                lambda j: policy.after_poll_error(
                    j, error, self._clock(), poll_interval_s=interval
                ),
            )
        outcome = self.apply(
            job_id, lambda j: policy.after_task(j, task, self._clock(), poll_interval_s=interval)
        )
        if outcome.job.state is S.PROCESSING:
            self._relay.progress.emit(job_id, Progress(None, _status_text(task), job.submitted_at))
        self._relay.online.emit()
        return outcome

    def sweep(self, client: KlingClient, email: str, job_ids: list[int]) -> list[int]:
        """Look at an account's processing jobs with one task list: returns the jobs the
        list does not show still at work (they are looked up on their own next)."""
        jobs = [j for j in (self._store.get(i) for i in job_ids) if j and j.state is S.PROCESSING]
        if not jobs:
            return []
        since = min(j.submitted_at or j.created_at for j in jobs)
        tasks = pipeline.task_list(client, email, since, len(jobs))
        now, alone = self._clock(), []
        for job in jobs:
            task = tasks.get(job.task_id) if job.task_id is not None else None
            if task is not None and policy.still_running(job, task, now):
                self._relay.progress.emit(
                    job.id, Progress(None, _status_text(task), job.submitted_at)
                )
            else:
                alone.append(job.id)
        self._relay.online.emit()
        return alone

    def stop_tracking(self, client: KlingClient, job_id: int, task_id: int) -> Outcome:
        # NotFound: useapi.net was no longer tracking it, which is the same outcome.
        with contextlib.suppress(errors.NotFound):
            client.stop_tracking(task_id)
        return self.apply(job_id, policy.stopped)

    # download --------------------------------------------------------------------------

    def download(
        self, client: KlingClient, token: CancelToken, job_id: int
    ) -> Outcome | Job | None:
        job = self._store.get(job_id)
        if job is None or job.state is not S.DOWNLOADING:
            return job
        try:
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
                    progress=self.transfer_progress(job_id, "Downloading"),
                    cancel=token,
                )
            except BaseException:
                dest.unlink(missing_ok=True)  # the empty placeholder; never a user's file
                self._store.update(job_id, output_path=None)
                raise
        except Exception as exc:
            error, backoff = exc, self.transfer_backoff
            if is_store_error(exc) or (isinstance(exc, Cancelled) and self._shutting_down()):
                raise
            return self.apply(
                job_id,
                lambda j: policy.after_download_error(j, error, self._clock(), backoff=backoff),
            )
        warning = self._learn_crop_reading(job, saved.path)
        return self._store.transition(
            job_id,
            S.DONE,
            output_path=saved.path,
            result_kind=saved.kind,
            warnings=" ".join(w for w in (job.warnings, warning) if w),
        )

    # a clip of parts -------------------------------------------------------------------

    def _prepare(self, job: Job, token: CancelToken) -> Outcome | None:
        """Make the upload of one part of a clip (converted, cut, extended, made smaller),
        unless an earlier take or run already made it. None when it is ready to send."""
        clip = self._stored(job.parent_id) if job.parent_id is not None else None
        if clip is None:
            return None
        # The clip itself, and where its result goes, are checked before each part is paid
        # for — also when its upload was made by an earlier run (the clip may have been
        # replaced while the app was closed).
        found = preflight.run(clip, self._settings.output_folder)
        if not found.ok:
            return self.apply(job.id, lambda j: policy.part_not_ready(j, found.code, found.message))
        prepared = _stat(job.input_path)
        if prepared is not None and prepared == (job.input_size, job.input_mtime):
            return None
        plan = parts.plan_of(clip)
        if prepared is None and plan is not None:
            from kling_desktop.media.prepare import prepare_part

            part = plan.parts[job.part_index]
            self._relay.progress.emit(job.id, Progress(0.0, "Preparing 0 %"))

            def report(fraction: float) -> None:
                percent = int(fraction * 100)
                self._relay.progress.emit(job.id, Progress(fraction, f"Preparing {percent} %"))

            try:
                job.input_path.parent.mkdir(parents=True, exist_ok=True)
                prepare_part(
                    clip.input_path, plan, part, job.input_path, progress=report, cancel=token
                )
            except Cancelled:
                raise
            except Exception as exc:
                log.exception("job %s: preparing part %s failed", job.id, part.index + 1)
                error = exc
                return self.apply(job.id, lambda j: policy.after_prepare_error(j, error))
            prepared = _stat(job.input_path)
        if prepared is None:
            return self.apply(job.id, lambda j: Decision())  # the check says why
        self._store.update(job.id, input_size=prepared[0], input_mtime=prepared[1])
        return None

    def finish(self, token: CancelToken, job_id: int, *, remix: bool = False) -> Outcome | Job:
        """Put a clip of parts together (or again, for a remix of a done one). Free."""
        from kling_desktop.jobs import finishing

        clip = self._stored(job_id)
        if clip.state is not (S.DONE if remix else S.FINISHING):
            return clip
        requests = self._store.children(job_id)
        if _stat(clip.input_path) != (clip.input_size, clip.input_mtime) and clip.input_size:
            # Its sound was made for the clip as it was checked: never lay it on another.
            changed = finishing.FinishError(
                "the clip changed since it was checked (the sound Kling made is for the clip "
                "as it was); put the original back, or add the new one as a new clip"
            )
            if remix:
                raise changed
            return self.apply(job_id, lambda j: policy.after_finish_error(j, changed))

        if not remix and clip.output_path is None:
            # The result's name is kept before anything is written: a finish cut short
            # writes again under it, never a second result beside the first one's files.
            where = finishing.result_path(clip, self._settings.output_folder)
            clip = self._store.update(job_id, output_path=where)

        def report(fraction: float, text: str) -> None:
            self._relay.progress.emit(job_id, Progress(fraction, text))

        try:
            made = finishing.finish(
                clip,
                requests,
                self.cache_dir,
                output_folder=self._settings.output_folder,
                progress=report,
                cancel=token,
            )
        except Exception as exc:
            if is_store_error(exc) or (isinstance(exc, Cancelled) and self._shutting_down()):
                raise
            log.exception("job %s: putting the result together failed", job_id)
            if remix:
                raise
            error = exc
            self._store.update(job_id, output_path=None)  # its files went with the failure
            return self.apply(job_id, lambda j: policy.after_finish_error(j, error))
        if remix:
            return self._store.update(job_id, output_path=made.output_path, outputs=made.outputs)
        finishing.remove_prepared(self.cache_dir, clip)
        return self._store.transition(
            job_id, S.DONE, output_path=made.output_path, outputs=made.outputs
        )

    def _learn_crop_reading(self, job: Job, result: Path) -> str:
        """Did the service keep the clip's own sound as the flag it was sent asks? That says
        how it reads ``cropVideoOriginalSound`` (the docs: true keeps it; contract §2 open
        question): remembered for the next jobs. Returns a warning for the job, or ""."""
        if job.crop_sent is None:
            return ""
        try:
            from kling_desktop.media.sound import contains

            kept = contains(result, job.input_path)
        except Exception:
            log.warning("job %s: could not tell whether the clip's sound was kept", job.id)
            return ""
        if kept is None:
            return ""
        sent = bool(job.crop_sent)
        reading = "keeps" if kept == sent else "removes"
        known = self._store.fact(parts.CROP_FACT)
        if known == reading:
            return ""
        self._store.learn(parts.CROP_FACT, reading)
        if reading == "keeps":
            log.info(
                "job %s: cropVideoOriginalSound=%s %s the clip's own sound, as the docs say",
                job.id,
                str(sent).lower(),
                "kept" if kept else "removed",
            )
            return ""
        log.warning(
            "job %s: cropVideoOriginalSound=%s %s the clip's own sound, the opposite of what "
            "the docs say; from now on the flag is sent the other way",
            job.id,
            str(sent).lower(),
            "kept" if kept else "removed",
        )
        asked = job.options.keep_original_sound
        if kept == asked:
            return ""
        return (
            f"Kling {'kept' if kept else 'removed'} the clip's own sound although it was asked "
            f"to {'keep' if asked else 'replace'} it (it reads the request's flag the other way "
            "round); the next jobs ask the other way round."
        )

    # after a failed write --------------------------------------------------------------

    def reload(self, job_id: int) -> Outcome:
        """Read the job as stored and say what comes next (after a failed write)."""
        job = self._stored(job_id)
        decision = policy.next_action(job, self._clock())
        if decision.changes:
            return self.apply(job_id, unless_moved(job.state, decision))
        return Outcome(job, decision)

    # progress (worker threads) ---------------------------------------------------------

    def transfer_progress(self, job_id: int, verb: str) -> Callable[[int, int], None]:
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


def unless_moved(state: JobState, decision: Decision) -> Callable[[Job], Decision]:
    """``decision``, as long as the stored job is still in ``state`` (another runner may have
    moved it since it was read)."""
    return lambda job: decision if job.state is state else Decision()


def is_store_error(exc: BaseException) -> bool:
    import sqlite3

    return isinstance(exc, sqlite3.Error | StoreError) and not isinstance(exc, JobGone)


def _stat(path: Path) -> tuple[int, float] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime


def _blocking(problem: Any) -> bool:
    return str(getattr(problem.severity, "value", problem.severity)).lower() == "blocking"


def _status_text(task: Task) -> str:
    name = task.status_name.replace("_", " ") if task.status_name else "processing"
    return f"Adding sound · {name}"
