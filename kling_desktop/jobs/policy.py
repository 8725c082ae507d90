"""The pay-once policy and every retry decision, as plain code (DESIGN §3, §4.1).

Given a job *as stored* and what just happened — an answer, an error, a restart — each function
here says what to write (:class:`Decision.changes`, the state included) and what to do next
(:class:`Action`, after :attr:`Decision.delay_s`). The runner only carries decisions out on
threads; the store writes each one in the same transaction that read the job.

The money rules, each enforced here and tested without Qt or the wall clock:

* A job may send an add-sound request only while ``paid_submits < confirmed_requests`` and it
  holds no task id (:func:`may_submit`; :meth:`JobStore.begin_submit` checks it inside its
  transaction). "Add sound" confirms one request; "Send again (a new paid job)" one more.
* A submit whose answer is not a certain refusal is *unknown*: it is reconciled, never resent.
* Reconcile adopts a task only on evidence of identity (our ``replyRef`` or our upload as its
  input); an uncertain job keeps being looked up for :data:`RECONCILE_FOR_S` after its submit.
* Retry never spends: it re-checks, re-tracks, re-downloads, or sends a request the user
  already confirmed but that never left. A new paid request is :func:`resubmit`, which the
  user confirms with its cost, and is offered only when Kling failed or lost the task, or the
  job is uncertain.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kling_desktop.api import errors
from kling_desktop.cancel import Cancelled
from kling_desktop.jobs import pipeline
from kling_desktop.jobs.model import Job, JobState
from kling_desktop.logs import redact

if TYPE_CHECKING:
    from kling_desktop.api.models import Task

S = JobState

#: Uploads and downloads are safe to repeat: this many tries before the job waits for Retry.
TRANSFER_TRIES = 5
#: Polling gives up (the job fails; Retry tracks it again, for free) after this long.
PROCESSING_LIMIT_S = 3 * 3600
#: 404s in a row while polling before the task counts as gone (one odd answer is not enough).
GONE_AFTER_404S = 4
#: An uncertain submit is looked up by itself for this long after it was sent.
RECONCILE_FOR_S = 2 * 3600


@dataclass(frozen=True)
class Backoff:
    """Waits that grow by ``factor`` from ``base_s`` up to ``cap_s``, with ±``jitter``."""

    base_s: float
    cap_s: float
    factor: float = 2.0
    jitter: float = 0.1

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """The wait before try number ``attempt + 1`` (``attempt`` ≥ 1 failures so far)."""
        raw = self.base_s * self.factor ** max(0, min(attempt, 32) - 1)
        spread = 1.0 + self.jitter * (2.0 * rand() - 1.0)
        return min(raw, self.cap_s) * spread


TRANSFER_BACKOFF = Backoff(base_s=2.0, cap_s=60.0, jitter=0.2)
SLOT_BACKOFF = Backoff(base_s=10.0, cap_s=80.0, jitter=0.2)
RECONCILE_BACKOFF = Backoff(base_s=15.0, cap_s=300.0)
POLL_ERROR_BACKOFF_CAP_S = 300.0
#: Uploads and downloads that failed for a reason that may pass.
TRANSFER_BACKOFF = Backoff(base_s=2.0, cap_s=60.0, jitter=0.2)
#: A write another process holds off (the database is locked): tried again, in order.
STORE_BUSY_BACKOFF = Backoff(base_s=0.5, cap_s=10.0)
#: A step that could not record its outcome, or broke unexpectedly: read the job again later.
STEP_TROUBLE_BACKOFF = Backoff(base_s=2.0, cap_s=300.0)
#: A step that could not start for want of a client (no token yet), by action: try again.
NO_CLIENT_RETRY_S = {"submit": 60.0, "reconcile": 30.0, "poll": 60.0, "download": 60.0}
#: Polls of many jobs never run in step: each is spread over ±15 % of the interval.
POLL_JITTER = 0.15


#: An account with at least this many tasks processing is checked with one task list a
#: round (``GET /tasks``) instead of one request per task.
SWEEP_MIN_JOBS = 4


def still_running(job: Job, task: Task | None, now: float) -> bool:
    """Whether the account's task list shows ``job``'s task still at work, so that its own
    look-up can wait a round. Only positive evidence counts: a task missing from the list,
    without a status, final, or running past the limit is looked up on its own (which is
    what decides anything about it)."""
    if task is None or job.task_id != task.id or not task.status_name or task.status_final:
        return False
    return not (job.submitted_at and now - job.submitted_at > PROCESSING_LIMIT_S)


def poll_delay(interval_s: float, draw: float) -> float:
    """When to poll next: the interval, spread by ``draw`` (0..1, random) over ±15 %."""
    return interval_s * (1 - POLL_JITTER + 2 * POLL_JITTER * draw)


def check_broke(job: Job, exc: BaseException) -> Decision:
    """The check itself broke (not the clip's verdict): the clip is not accepted, with why."""
    if job.state is not S.CHECKING:
        return Decision()
    return Decision(
        {
            "state": S.REJECTED,
            "error_code": getattr(exc, "code", "error"),
            "error_message": sentence(exc),
        }
    )


class Action(enum.StrEnum):
    NONE = "none"
    CHECK = "check"
    SEND = "send"  # upload when needed, then submit (spends a confirmed request)
    SUBMIT = "submit"
    RECONCILE = "reconcile"
    POLL = "poll"
    DOWNLOAD = "download"
    WAIT_TOKEN = "wait_token"  # hold until the token or account is fixed
    FINISH = "finish"  # put a clip of parts together on the computer (jobs/parts.py)


@dataclass(frozen=True)
class Decision:
    changes: dict[str, Any] = field(default_factory=dict)
    action: Action = Action.NONE
    delay_s: float = 0.0
    note: str = ""  # what the row says meanwhile ("Upload interrupted"); the wait is delay_s


# -- submit ---------------------------------------------------------------------------------


class SubmitOutcome(enum.StrEnum):
    REFUSED = "refused"  # the service certainly did not create a task: a sentence says why
    NO_SLOT = "no_slot"  # 429: every slot busy, certainly not started
    NOT_AUTHORISED = "not_authorised"  # the token or subscription: not the clip's fault
    UPLOAD_GONE = "upload_gone"  # the uploaded file is unknown: upload again
    UNKNOWN = "unknown"  # may have created a task: reconcile, never resend


def classify_submit_error(exc: BaseException) -> SubmitOutcome:
    """Only a certain refusal is not "unknown": moderation text, or a 4xx with an error body.

    5xx without moderation text, redirects, 4xx without a readable error, timeouts, resets,
    malformed answers and anything unexpected may hide a created (and charged) task.
    """
    if not isinstance(exc, errors.ApiError):
        return SubmitOutcome.UNKNOWN
    if isinstance(exc, errors.ModerationRejected):
        return SubmitOutcome.REFUSED
    status = exc.status
    if status is None or not (400 <= status < 500 or status == 596):
        return SubmitOutcome.UNKNOWN
    if not _has_error_body(exc):
        return SubmitOutcome.UNKNOWN
    if status == 429:
        return SubmitOutcome.NO_SLOT
    if status in (401, 402):
        return SubmitOutcome.NOT_AUTHORISED
    if status == 404:
        return SubmitOutcome.UPLOAD_GONE
    return SubmitOutcome.REFUSED


def _has_error_body(exc: errors.ApiError) -> bool:
    body = exc.body
    if isinstance(body, dict):
        return bool(str(body.get("error") or body.get("message") or "").strip())
    # A 429 is "busy" whatever its body says (its shape varies); it never starts a task.
    return exc.status == 429


def may_submit(job: Job) -> bool:
    """Whether sending an add-sound request now stays within what the user confirmed."""
    return job.task_id is None and job.paid_submits < job.confirmed_requests


def confirm(job: Job) -> dict[str, Any]:
    """The user confirmed one paid request for this job (once, however often it is asked)."""
    return {"confirmed_requests": max(job.confirmed_requests, job.paid_submits + 1)}


def start(job: Job) -> dict[str, Any] | None:
    """ "Add sound" on a ready (or just checked) clip: confirm one request and queue it."""
    if job.state not in (S.READY, S.CHECKING) or job.requests:
        return None
    return {"state": S.QUEUED, **confirm(job)}


def after_submit_error(
    job: Job, exc: BaseException, now: float, *, slot_wait_limit_s: float = 3600.0
) -> Decision:
    """The submit of ``job`` (stored as "submitting") raised ``exc``."""
    if job.state is not S.SUBMITTING or job.task_id is not None:
        return Decision()
    outcome = classify_submit_error(exc)
    give_back = {"paid_submits": max(0, job.paid_submits - 1)}
    if outcome is SubmitOutcome.UNKNOWN:
        return Decision(
            {"reconcile_attempts": 0},
            Action.RECONCILE,
            note="Checking with Kling whether it received the clip…",
        )
    if outcome is SubmitOutcome.NO_SLOT:
        since = job.slot_wait_since or now
        if now - since > slot_wait_limit_s:
            return Decision(
                {
                    **give_back,
                    "state": S.FAILED,
                    "error_code": "no_slot",
                    "error_message": (
                        f"Every Kling job slot stayed busy for {(now - since) / 60:.0f} minutes, "
                        "so the clip was not sent and nothing was charged. Retry later, or "
                        "raise maxJobs in Accounts."
                    ),
                }
            )
        retry_after = getattr(exc, "retry_after", None)
        delay = SLOT_BACKOFF.delay(max(1, job.submit_attempts))
        if retry_after:
            delay = max(delay, float(retry_after))
        return Decision(
            {**give_back, "state": S.WAITING_SLOT, "slot_wait_since": since, "error_code": ""},
            Action.SUBMIT,
            delay,
            note="Waiting for a free slot",
        )
    if outcome is SubmitOutcome.NOT_AUTHORISED:
        return Decision({**give_back, "state": S.QUEUED}, Action.WAIT_TOKEN, note=_sentence(exc))
    if outcome is SubmitOutcome.UPLOAD_GONE:
        return Decision(
            {**give_back, "state": S.QUEUED, "upload_url": "", "upload_attempts": 0},
            Action.SEND,
            note="Kling no longer had the uploaded file · uploading again",
        )
    return Decision(
        {
            **give_back,
            "state": S.FAILED,
            "error_code": getattr(exc, "code", "refused"),
            "error_message": _sentence(exc)
            + " Nothing was charged for it. Retry sends the paid job you confirmed once more;"
            " it is charged only if Kling accepts it.",
        }
    )


def after_submit(
    job: Job, task: Task, now: float, *, first_poll_s: float = 10.0, poll_interval_s: float = 20.0
) -> Decision:
    """The submit returned ``task`` (or reconcile found it): the job now owns that task."""
    if job.state not in (S.SUBMITTING, S.UNCERTAIN) or job.task_id not in (None, task.id):
        return Decision()
    adopted = job.replace(state=S.PROCESSING, task_id=task.id)
    decision = after_task(adopted, task, now, poll_interval_s=poll_interval_s)
    delay = decision.delay_s
    if decision.action is Action.POLL:
        delay = max(0.0, first_poll_s - (now - (job.submitted_at or now)))
    return Decision(
        {
            "state": S.PROCESSING,
            "task_id": task.id,
            "slot_wait_since": None,
            "error_code": "",
            "error_message": "",
            "reconcile_attempts": 0,
            **decision.changes,
        },
        decision.action,
        delay,
        decision.note,
    )


# -- reconcile ------------------------------------------------------------------------------


def after_reconcile(
    job: Job,
    task: Task | None,
    now: float,
    *,
    first_poll_s: float = 10.0,
    backoff: Backoff = RECONCILE_BACKOFF,
) -> Decision:
    """A look at the service for the task of an unknown submit found ``task`` (or nothing)."""
    if job.state not in (S.SUBMITTING, S.UNCERTAIN) or job.task_id is not None:
        return Decision()
    if task is not None:
        return after_submit(job, task, now, first_poll_s=first_poll_s)
    attempts = job.reconcile_attempts + 1
    changes: dict[str, Any] = {"reconcile_attempts": attempts}
    if job.state is S.SUBMITTING:
        changes.update(
            state=S.UNCERTAIN,
            error_code="uncertain",
            error_message=(
                "The request to add sound was sent, but its answer was lost and Kling shows no "
                "task for this clip yet. The app keeps looking for it. Sending it again may "
                "charge you twice; choose “Send again” only if you accept a new paid job."
            ),
        )
    return _look_again(job, now, attempts, changes, backoff=backoff)


def after_reconcile_error(
    job: Job, exc: BaseException, now: float, *, backoff: Backoff = RECONCILE_BACKOFF
) -> Decision:
    """The service could not be asked (offline?): keep the job as it is and ask again."""
    if job.state not in (S.SUBMITTING, S.UNCERTAIN) or job.task_id is not None:
        return Decision()
    attempts = job.reconcile_attempts + 1
    return _look_again(
        job, now, attempts, {"reconcile_attempts": attempts}, keep=True, backoff=backoff
    )


def _look_again(
    job: Job,
    now: float,
    attempts: int,
    changes: dict[str, Any],
    *,
    keep: bool = False,
    backoff: Backoff = RECONCILE_BACKOFF,
) -> Decision:
    since = job.submitted_at or job.updated_at
    if now - since > RECONCILE_FOR_S and not keep:
        return Decision(changes)  # the user decides; a restart looks once more
    delay = backoff.delay(attempts)
    return Decision(changes, Action.RECONCILE, delay, note="Looking for the task at Kling")


# -- poll -----------------------------------------------------------------------------------


def after_task(job: Job, task: Task, now: float, *, poll_interval_s: float = 20.0) -> Decision:
    """Act on a snapshot of the job's task."""
    if job.state is not S.PROCESSING or job.task_id != task.id:
        return Decision()
    if task.succeeded:
        first = next((w for w in task.works if w.resource_url), None)
        return Decision(
            {
                "state": S.DOWNLOADING,
                "result_url": task.result_url,
                "work_id": first.work_id if first else None,
                "poll_errors": 0,
            },
            Action.DOWNLOAD,
        )
    if task.failed:
        return Decision(
            {
                "state": S.FAILED,
                "error_code": "kling_failed",
                "error_message": (
                    f"Kling could not add sound to this clip: {redact(task.failure_text)}. "
                    "“Send again” starts a new paid Kling job, or pick another clip."
                ),
            }
        )
    if job.submitted_at and now - job.submitted_at > PROCESSING_LIMIT_S:
        return _poll_timeout()
    changes = {"poll_errors": 0} if job.poll_errors else {}
    # Jitter: 200 jobs never poll in step.
    return Decision(changes, Action.POLL, poll_interval_s * random.uniform(0.85, 1.15))


def _poll_timeout() -> Decision:
    return Decision(
        {
            "state": S.FAILED,
            "error_code": "poll_timeout",
            "error_message": (
                "Kling has not finished after 3 hours. Retry to check on it again; "
                "it is not sent again."
            ),
        }
    )


def after_poll_error(
    job: Job, exc: BaseException, now: float, *, poll_interval_s: float = 20.0
) -> Decision:
    """A poll failed. One odd answer never ends a job: only a task that stays gone does."""
    if job.state is not S.PROCESSING:
        return Decision()
    if isinstance(exc, errors.Unauthorized | errors.SubscriptionRequired) or _is_no_client(exc):
        return Decision({}, Action.WAIT_TOKEN, 60.0, note=_sentence(exc))
    count = job.poll_errors + 1
    changes: dict[str, Any] = {"poll_errors": count}
    if isinstance(exc, errors.NotFound) and count >= GONE_AFTER_404S:
        changes.update(
            state=S.FAILED,
            error_code="task_gone",
            error_message=(
                "Kling no longer has this task: it may have been deleted, stopped by "
                "moderation, or the account ran out of credits. “Send again” starts a new "
                "paid Kling job."
            ),
        )
        return Decision(changes)
    if job.submitted_at and now - job.submitted_at > PROCESSING_LIMIT_S:
        return Decision({**changes, **_poll_timeout().changes})
    delay = min(poll_interval_s * 2 ** min(count, 6), POLL_ERROR_BACKOFF_CAP_S)
    if isinstance(exc, errors.NotFound):
        delay = min(delay, 60.0)  # look again soon: a task that really is gone ends quickly
    delay *= random.uniform(0.9, 1.1)
    what = "Kling's answer was odd" if isinstance(exc, errors.ApiError) else "Connection problem"
    if isinstance(exc, errors.NetworkError | errors.Timeout):
        what = "Connection problem"
    return Decision(changes, Action.POLL, delay, note=what)


# -- transfers ------------------------------------------------------------------------------


def after_upload_error(
    job: Job, exc: BaseException, now: float, *, backoff: Backoff = TRANSFER_BACKOFF
) -> Decision:
    """An upload (nothing spent yet) failed."""
    if job.state not in (S.QUEUED, S.UPLOADING):
        return Decision()
    if isinstance(exc, errors.Unauthorized | errors.SubscriptionRequired) or _is_no_client(exc):
        return Decision({"state": S.QUEUED}, Action.WAIT_TOKEN, note=_sentence(exc))
    if isinstance(exc, Cancelled):
        return Decision({"state": S.QUEUED})
    if _is_transient(exc) and job.upload_attempts < TRANSFER_TRIES:
        delay = backoff.delay(job.upload_attempts)
        return Decision(
            {"state": S.QUEUED},
            Action.SEND,
            delay,
            note="Upload interrupted",
        )
    return Decision(
        {
            "state": S.FAILED,
            "error_code": getattr(exc, "code", "upload_error"),
            "error_message": _sentence(exc) + " Nothing was charged; Retry uploads it again.",
        }
    )


def after_download_error(
    job: Job, exc: BaseException, now: float, *, backoff: Backoff = TRANSFER_BACKOFF
) -> Decision:
    """A download (already paid for) failed: it keeps its task and never pays again."""
    if job.state is not S.DOWNLOADING:
        return Decision()
    attempts = job.download_attempts + 1
    if isinstance(exc, errors.NotFound) and attempts < TRANSFER_TRIES:
        # The result link expired or moved: ask the task for a fresh one. Counted with the
        # other tries: a task that gives the same dead link again ends here, not in a loop.
        return Decision(
            {"state": S.PROCESSING, "result_url": "", "download_attempts": attempts},
            Action.POLL,
            backoff.delay(attempts),
            note="Download interrupted",
        )
    retryable = _is_transient(exc) or isinstance(exc, OSError) or _is_result_invalid(exc)
    if retryable and attempts < TRANSFER_TRIES:
        delay = backoff.delay(attempts)
        return Decision(
            {"download_attempts": attempts},
            Action.DOWNLOAD,
            delay,
            note="Download interrupted",
        )
    return Decision(
        {
            "state": S.FAILED,
            "download_attempts": attempts,
            "error_code": "download_" + str(getattr(exc, "code", "error")),
            "error_message": (
                "The result's link at Kling stays gone (the file was not found)."
                if isinstance(exc, errors.NotFound)
                else _sentence(exc).replace(" the app keeps trying.", ".")
            )
            + " The sound is already paid for: Retry downloads it again at no cost.",
        }
    )


# -- restart and user actions ----------------------------------------------------------------


def next_action(job: Job, now: float) -> Decision:
    """What a (re)started runner does for a job it finds in the store."""
    state = job.state
    if state is S.CHECKING:
        return Decision({}, Action.CHECK)
    if state is S.UPLOADING:
        return Decision({"state": S.QUEUED}, Action.SEND)  # cut short; nothing was spent
    if state is S.QUEUED:
        return Decision({}, Action.SEND)
    if state is S.SUBMITTING:
        if job.task_id is not None:  # the id was stored; only the state write was lost
            return Decision({"state": S.PROCESSING}, Action.POLL)
        return Decision({}, Action.RECONCILE)
    if state is S.UNCERTAIN:
        return Decision({}, Action.RECONCILE)
    if state is S.WAITING_SLOT:
        return Decision({}, Action.SUBMIT, 1.0)
    if state is S.PROCESSING:
        return Decision({}, Action.POLL)
    if state is S.DOWNLOADING:
        return Decision({}, Action.DOWNLOAD)
    if state is S.FINISHING:
        return Decision({}, Action.FINISH)
    return Decision()


class RetryKind(enum.StrEnum):
    NONE = "none"
    CHECK = "check"  # check the clip again
    SEND = "send"  # send a request the user confirmed but that never created a task
    TRACK = "track"  # look at the task again
    DOWNLOAD = "download"  # fetch the paid result again
    RESUBMIT = "resubmit"  # a NEW PAID job: only through resubmit(), which the user confirms
    FINISH = "finish"  # put a clip of parts together again from what Kling already made


def retry_kind(job: Job) -> RetryKind:
    state = job.state
    if job.requests:  # a clip of parts never sends anything itself (jobs/parts.py)
        return RetryKind.FINISH if state is S.FAILED else RetryKind.NONE
    if state is S.REJECTED:
        return RetryKind.CHECK
    if state is S.STOPPED:
        return RetryKind.TRACK
    if state is S.UNCERTAIN:
        return RetryKind.RESUBMIT
    if state is not S.FAILED:
        return RetryKind.NONE
    if job.task_id is not None:
        if job.result_url:
            return RetryKind.DOWNLOAD
        if job.error_code in ("kling_failed", "task_gone"):
            return RetryKind.RESUBMIT
        return RetryKind.TRACK
    if job.paid_submits < job.confirmed_requests:
        return RetryKind.SEND
    return RetryKind.RESUBMIT


_CLEAR = {"error_code": "", "error_message": "", "poll_errors": 0, "download_attempts": 0}


def retry(job: Job) -> Decision:
    """Retry at no new cost, or nothing (Decision with Action.NONE) when that would pay."""
    kind = retry_kind(job)
    if kind is RetryKind.CHECK:
        return Decision({**_CLEAR, "state": S.CHECKING}, Action.CHECK)
    if kind is RetryKind.TRACK:
        return Decision({**_CLEAR, "state": S.PROCESSING}, Action.POLL)
    if kind is RetryKind.DOWNLOAD:
        return Decision({**_CLEAR, "state": S.DOWNLOADING, "download_attempts": 0}, Action.DOWNLOAD)
    if kind is RetryKind.SEND:
        return Decision(
            {**_CLEAR, "state": S.QUEUED, "upload_attempts": 0, "slot_wait_since": None},
            Action.SEND,
        )
    if kind is RetryKind.FINISH:
        return Decision({**_CLEAR, "state": S.FINISHING}, Action.FINISH)
    return Decision()


def part_not_ready(job: Job, code: str, message: str) -> Decision:
    """The clip a part is cut from failed its check before paying (``preflight``): the part
    is not sent. A clip that changed since its check must be added again (its plan, and so
    its parts, may no longer hold)."""
    if job.state is not S.QUEUED:
        return Decision()
    if code == "clip_changed":
        message = (
            "The clip changed since it was checked. Nothing was sent: remove it and add it again."
        )
    return Decision({"state": S.FAILED, "error_code": code, "error_message": message})


def after_prepare_error(job: Job, exc: BaseException) -> Decision:
    """A part's upload could not be made on the computer: nothing was sent, Retry tries again."""
    if job.state is not S.QUEUED:
        return Decision()
    return Decision(
        {
            "state": S.FAILED,
            "error_code": "prepare_failed",
            "error_message": f"{sentence(exc)} Nothing was sent; Retry tries again (free).",
        }
    )


def after_finish_error(job: Job, exc: BaseException) -> Decision:
    """Putting a clip together failed: nothing was paid, Retry does it again."""
    if job.state is not S.FINISHING:
        return Decision()
    return Decision(
        {
            "state": S.FAILED,
            "error_code": "finish_failed",
            "error_message": (
                f"Kling's sound is saved, but the result could not be put together: "
                f"{sentence(exc)} Retry puts it together again (free)."
            ),
        }
    )


def resubmit(job: Job) -> Decision:
    """The user confirmed a new paid job for a failed, gone or uncertain one."""
    if retry_kind(job) is not RetryKind.RESUBMIT:
        return Decision()
    return Decision(
        {
            **_CLEAR,
            **confirm(job),
            "state": S.QUEUED,
            "task_id": None,
            "work_id": None,
            "result_url": "",
            # A fresh upload: the new request's input then tells its task from the old one's.
            "upload_url": "",
            "upload_attempts": 0,
            "reconcile_attempts": 0,
            "slot_wait_since": None,
        },
        Action.SEND,
    )


def found(job: Job, task_id: int) -> Decision:
    """The user says which task is this job's (``resolve --found``)."""
    if job.state not in (S.UNCERTAIN, S.FAILED, S.SUBMITTING) or (
        job.task_id is not None and job.task_id != task_id
    ):
        return Decision()
    return Decision(
        {**_CLEAR, "state": S.PROCESSING, "task_id": task_id, "reconcile_attempts": 0},
        Action.POLL,
    )


def stopped(job: Job) -> Decision:
    """The user stopped tracking the job's task (useapi.net no longer follows it)."""
    if job.state is not S.PROCESSING:
        return Decision()
    return Decision(
        {
            "state": S.STOPPED,
            "error_code": "stopped",
            "error_message": (
                "You stopped tracking this job. Kling still runs it and charges for it; its "
                "result will appear in your Kling account. Retry to track it again."
            ),
        }
    )


def give_up(job: Job) -> Decision:
    if job.state is not S.UNCERTAIN:
        return Decision()
    return Decision(
        {
            "state": S.FAILED,
            "error_code": "given_up",
            "error_message": "Not sent again, at your request.",
        }
    )


# -- helpers ---------------------------------------------------------------------------------


def _is_transient(exc: BaseException) -> bool:
    return isinstance(exc, errors.ApiError) and exc.transient


def _is_no_client(exc: BaseException) -> bool:
    return isinstance(exc, pipeline.NoClient)


def _is_result_invalid(exc: BaseException) -> bool:
    return isinstance(exc, pipeline.ResultInvalid)


def not_confirmed(job: Job) -> Decision:
    """A send was about to spend a request the user never confirmed: stop and ask."""
    if job.state not in (S.QUEUED, S.UPLOADING, S.WAITING_SLOT):
        return Decision()
    return Decision(
        {
            "state": S.FAILED,
            "error_code": "not_confirmed",
            "error_message": (
                "This clip was not sent: the paid jobs you confirmed for it were already "
                "sent. “Send again” starts a new paid Kling job."
            ),
        }
    )


def sentence(exc: BaseException) -> str:
    """What a user reads about ``exc``: its own sentence, or a plain one for a bug."""
    return _sentence(exc)


def _sentence(exc: BaseException) -> str:
    # What is stored in the job list or printed is redacted like the log (no token, password).
    text = redact(str(exc)).strip() or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        text = f"The result could not be saved ({exc.strerror}{where})"
    elif not isinstance(exc, errors.ApiError | Cancelled) and not (
        _is_no_client(exc) or _is_result_invalid(exc) or getattr(exc, "for_the_user", False)
    ):
        text = f"Unexpected problem: {text}. Details are in the log."
    return text if text.endswith((".", "!", "?", "”")) else text + "."
