"""The pay-once policy, without Qt and without the wall clock.

Every error class at every step, restarts between any two steps, and two runners (two store
connections, as two processes would have) on one database. The invariant under test:

    add-sound tasks created at the service for a job  ≤  paid requests the user confirmed.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
)

from kling_desktop.api import errors
from kling_desktop.api.models import Task, Work
from kling_desktop.cancel import Cancelled
from kling_desktop.jobs import pipeline, policy
from kling_desktop.jobs.model import Job, JobOptions, JobState
from kling_desktop.jobs.policy import Action, Decision, RetryKind, SubmitOutcome
from kling_desktop.jobs.store import JobStore, SubmitNotAllowed

S = JobState
NOW = 1_800_000_000.0  # a fixed "now": these tests never read the wall clock


def body(text: str) -> dict[str, str]:
    return {"error": text}


#: Every kind of answer a submit can get, with whether the service may have created a task.
#: Only a certain refusal is allowed to say "not created".
SUBMIT_ERRORS: dict[str, tuple[BaseException, SubmitOutcome]] = {
    "429 busy": (errors.RateLimited("busy", status=429, body=body("busy")), SubmitOutcome.NO_SLOT),
    "429 no body": (errors.RateLimited("", status=429, body=""), SubmitOutcome.NO_SLOT),
    "400 validation": (
        errors.BadRequest("too long", status=400, body=body("Video can't be longer")),
        SubmitOutcome.REFUSED,
    ),
    "400 without body": (errors.BadRequest("", status=400, body=""), SubmitOutcome.UNKNOWN),
    "401": (
        errors.Unauthorized("x", status=401, body=body("Unauthorized")),
        SubmitOutcome.NOT_AUTHORISED,
    ),
    "402": (
        errors.SubscriptionRequired("x", status=402, body=body("Subscription required")),
        SubmitOutcome.NOT_AUTHORISED,
    ),
    "404 upload gone": (
        errors.NotFound("x", status=404, body=body("Asset not found")),
        SubmitOutcome.UPLOAD_GONE,
    ),
    "596 account": (
        errors.AccountError("x", status=596, body=body("Account in error state")),
        SubmitOutcome.REFUSED,
    ),
    "500 moderation": (
        errors.ModerationRejected("x", status=500, body=body("violates community guidelines")),
        SubmitOutcome.REFUSED,
    ),
    "500 plain": (
        errors.ServerError("Internal Server Error", status=500, body=body("Internal Server Error")),
        SubmitOutcome.UNKNOWN,
    ),
    "502": (errors.ServerError("", status=502, body="Bad gateway"), SubmitOutcome.UNKNOWN),
    "302 redirect": (errors.ApiError("", status=302, body=""), SubmitOutcome.UNKNOWN),
    "timeout": (errors.Timeout("read timed out"), SubmitOutcome.UNKNOWN),
    "reset": (errors.NetworkError("connection reset"), SubmitOutcome.UNKNOWN),
    "malformed 200": (errors.MalformedResponse("not JSON", status=200), SubmitOutcome.UNKNOWN),
    "unexpected bug": (RuntimeError("boom"), SubmitOutcome.UNKNOWN),
    "no token": (pipeline.NoClient(), SubmitOutcome.UNKNOWN),
}

#: Errors any other step (upload, reconcile, poll, download) may meet.
STEP_ERRORS: dict[str, BaseException] = {
    "timeout": errors.Timeout("read timed out"),
    "reset": errors.NetworkError("connection reset"),
    "500": errors.ServerError("x", status=500, body=body("Internal Server Error")),
    "503": errors.ServerError("", status=503, body=""),
    "400": errors.BadRequest("x", status=400, body=body("Invalid parameters")),
    "404": errors.NotFound("x", status=404, body=body("Task not found")),
    "401": errors.Unauthorized("x", status=401, body=body("Unauthorized")),
    "402": errors.SubscriptionRequired("x", status=402, body=body("Subscription required")),
    "429": errors.RateLimited("x", status=429, body=body("busy")),
    "596": errors.AccountError("x", status=596, body=body("refresh token rejected")),
    "302": errors.ApiError("", status=302, body=""),
    "malformed": errors.MalformedResponse("not JSON", status=200),
    "disk full": OSError(28, "No space left on device"),
    "result invalid": pipeline.ResultInvalid("it has no sound track"),
    "cancelled": Cancelled(),
    "no token": pipeline.NoClient(),
    "bug": RuntimeError("boom"),
}


def task(task_id: int, status: str = "submitted", final: bool = False) -> Task:
    works: tuple[Work, ...] = ()
    if status == "succeed":
        works = (Work(work_id=task_id + 7, resource_url=f"http://127.0.0.1:1/r/{task_id}.mp4"),)
    return Task(id=task_id, status_name=status, status_final=final, works=works)


def job(state: JobState, **fields: object) -> Job:
    base = Job(id=1, input_path=Path("/clips/a.mp4"), state=state, submitted_at=NOW - 60)
    return base.replace(**fields)


# -- classification ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SUBMIT_ERRORS))
def test_every_submit_answer_is_classified(name: str) -> None:
    exc, expected = SUBMIT_ERRORS[name]
    assert policy.classify_submit_error(exc) == expected


@pytest.mark.parametrize("name", list(SUBMIT_ERRORS))
def test_a_submit_error_never_frees_a_request_unless_certainly_not_created(name: str) -> None:
    exc, outcome = SUBMIT_ERRORS[name]
    sent = job(S.SUBMITTING, confirmed_requests=1, paid_submits=1, upload_url="u")
    decision = policy.after_submit_error(sent, exc, NOW)
    after = sent.replace(**decision.changes)
    if outcome is SubmitOutcome.UNKNOWN:
        # Never failed, never resent: it stays "submitting" and is looked up at once.
        assert after.state is S.SUBMITTING and after.paid_submits == 1
        assert decision.action is Action.RECONCILE
        assert not policy.may_submit(after)
    else:
        assert after.paid_submits == 0  # the confirmation was not used up
        assert after.state is not S.SUBMITTING
    assert after.task_id is None


def test_unknown_submit_is_never_failed_and_retry_cannot_resend_it() -> None:
    for name, (exc, outcome) in SUBMIT_ERRORS.items():
        if outcome is not SubmitOutcome.UNKNOWN:
            continue
        sent = job(S.SUBMITTING, confirmed_requests=1, paid_submits=1, upload_url="u")
        after = sent.replace(**policy.after_submit_error(sent, exc, NOW).changes)
        assert after.state is not S.FAILED, name
        nothing = sent.replace(**policy.after_reconcile(after, None, NOW).changes)
        assert nothing.state is S.UNCERTAIN, name
        assert policy.retry(nothing) == Decision(), name  # Retry alone never pays
        assert policy.retry_kind(nothing) is RetryKind.RESUBMIT


# -- every error class at every step -----------------------------------------------------------


STEPS: dict[str, tuple[Job, Callable[[Job, BaseException], Decision]]] = {
    "upload": (
        job(S.UPLOADING, confirmed_requests=1, upload_attempts=1),
        lambda j, e: policy.after_upload_error(j, e, NOW),
    ),
    "reconcile": (
        job(S.SUBMITTING, confirmed_requests=1, paid_submits=1, upload_url="u"),
        lambda j, e: policy.after_reconcile_error(j, e, NOW),
    ),
    "poll": (
        job(S.PROCESSING, confirmed_requests=1, paid_submits=1, task_id=77),
        lambda j, e: policy.after_poll_error(j, e, NOW),
    ),
    "download": (
        job(S.DOWNLOADING, confirmed_requests=1, paid_submits=1, task_id=77, result_url="r"),
        lambda j, e: policy.after_download_error(j, e, NOW),
    ),
}


@pytest.mark.parametrize(("step", "error"), list(itertools.product(STEPS, STEP_ERRORS)))
def test_every_error_at_every_step_keeps_the_money_rules(step: str, error: str) -> None:
    before, decide = STEPS[step]
    exc = STEP_ERRORS[error]
    decision = decide(before, exc)
    after = before.replace(**decision.changes)
    # No step error ever spends, or loses the task it has.
    assert after.paid_submits == before.paid_submits
    assert after.confirmed_requests == before.confirmed_requests
    assert after.task_id == before.task_id
    if "state" in decision.changes:
        from kling_desktop.jobs.model import TRANSITIONS

        assert after.state is before.state or after.state in TRANSITIONS[before.state]
    if after.state is S.FAILED:
        assert after.error_message, "a failure always carries a sentence"
        if before.task_id is not None and after.error_code != "task_gone":
            assert policy.retry_kind(after) in (RetryKind.TRACK, RetryKind.DOWNLOAD)
    # After one odd answer a job with a task keeps going.
    if step in ("poll", "reconcile"):
        assert after.state is not S.FAILED


def test_one_odd_poll_answer_is_not_the_end_but_a_task_that_stays_gone_is() -> None:
    gone = STEP_ERRORS["404"]
    current = job(S.PROCESSING, confirmed_requests=1, paid_submits=1, task_id=77)
    for n in range(1, policy.GONE_AFTER_404S):
        decision = policy.after_poll_error(current, gone, NOW)
        current = current.replace(**decision.changes)
        assert current.state is S.PROCESSING and decision.action is Action.POLL, n
    current = current.replace(**policy.after_poll_error(current, gone, NOW).changes)
    assert current.state is S.FAILED and current.error_code == "task_gone"
    assert policy.retry_kind(current) is RetryKind.RESUBMIT
    assert policy.retry(current) == Decision()  # only a confirmed resubmit sends it again


def test_a_task_that_answers_again_resets_the_count() -> None:
    current = job(S.PROCESSING, task_id=77, poll_errors=3)
    decision = policy.after_task(current, task(77), NOW)
    assert decision.changes.get("poll_errors") == 0


def test_processing_gives_up_after_the_limit_and_retry_only_tracks() -> None:
    old = job(S.PROCESSING, task_id=77, submitted_at=NOW - policy.PROCESSING_LIMIT_S - 1)
    after = old.replace(**policy.after_task(old, task(77), NOW).changes)
    assert after.state is S.FAILED and policy.retry_kind(after) is RetryKind.TRACK


def test_slot_waits_grow_honour_retry_after_and_end_without_charging() -> None:
    sent = job(S.SUBMITTING, confirmed_requests=1, paid_submits=1, submit_attempts=1)
    busy = errors.RateLimited("busy", status=429, body=body("busy"), retry_after=95.0)
    decision = policy.after_submit_error(sent, busy, NOW)
    assert decision.action is Action.SUBMIT and decision.delay_s >= 95.0
    waited = sent.replace(slot_wait_since=NOW - 4000)
    late = policy.after_submit_error(waited, busy, NOW, slot_wait_limit_s=3600)
    assert late.changes["state"] is S.FAILED and late.changes["paid_submits"] == 0
    assert "nothing was charged" in late.changes["error_message"]


def test_backoff_grows_to_its_cap_with_bounded_jitter() -> None:
    backoff = policy.Backoff(base_s=2.0, cap_s=60.0, jitter=0.2)
    assert backoff.delay(1, lambda: 0.5) == 2.0
    assert backoff.delay(3, lambda: 0.5) == 8.0
    assert backoff.delay(30, lambda: 0.5) == 60.0
    assert backoff.delay(1, lambda: 0.0) == pytest.approx(1.6)
    assert backoff.delay(1, lambda: 1.0) == pytest.approx(2.4)


def test_download_failures_back_off_then_wait_for_a_free_retry() -> None:
    current = job(S.DOWNLOADING, task_id=77, result_url="r", confirmed_requests=1, paid_submits=1)
    delays = []
    for _ in range(policy.TRANSFER_TRIES - 1):
        decision = policy.after_download_error(current, STEP_ERRORS["reset"], NOW)
        delays.append(decision.delay_s)
        current = current.replace(**decision.changes)
        assert decision.action is Action.DOWNLOAD
    assert all(d >= 1.0 for d in delays) and delays[-1] > delays[0]  # real, growing waits
    current = current.replace(
        **policy.after_download_error(current, STEP_ERRORS["reset"], NOW).changes
    )
    assert current.state is S.FAILED
    assert "keeps trying" not in current.error_message
    assert "no cost" in current.error_message
    assert policy.retry_kind(current) is RetryKind.DOWNLOAD


def test_expired_result_link_asks_the_task_again_instead_of_failing() -> None:
    current = job(S.DOWNLOADING, task_id=77, result_url="r")
    decision = policy.after_download_error(current, STEP_ERRORS["404"], NOW)
    assert decision.changes["state"] is S.PROCESSING and decision.action is Action.POLL


def test_uncertain_jobs_keep_being_looked_up_for_hours_then_wait_for_the_user() -> None:
    current = job(S.SUBMITTING, paid_submits=1, confirmed_requests=1, submitted_at=NOW)
    clock = NOW
    looks = 0
    while True:
        decision = policy.after_reconcile(current, None, clock)
        current = current.replace(**decision.changes)
        if decision.action is Action.NONE:
            break
        looks += 1
        clock += decision.delay_s
    assert current.state is S.UNCERTAIN
    assert clock - NOW >= 3600  # at least an hour of looking by itself
    assert looks >= 10
    # A restart looks once more, and a task that shows up late is adopted.
    assert policy.next_action(current, clock).action is Action.RECONCILE
    late = policy.after_reconcile(current, task(91), clock)
    assert late.changes["state"] is S.PROCESSING and late.changes["task_id"] == 91


def test_retry_kinds() -> None:
    free_send = job(S.FAILED, confirmed_requests=1, paid_submits=0, error_code="no_slot")
    assert policy.retry_kind(free_send) is RetryKind.SEND
    refused = job(S.FAILED, confirmed_requests=1, paid_submits=0, error_code="moderation")
    assert policy.retry_kind(refused) is RetryKind.SEND  # the refused request cost nothing
    kling_failed = job(S.FAILED, task_id=5, error_code="kling_failed", paid_submits=1)
    assert policy.retry_kind(kling_failed) is RetryKind.RESUBMIT
    download = job(S.FAILED, task_id=5, result_url="r", error_code="download_network")
    assert policy.retry_kind(download) is RetryKind.DOWNLOAD
    odd = job(S.FAILED, task_id=5, error_code="bad_request")
    assert policy.retry_kind(odd) is RetryKind.TRACK
    assert policy.retry_kind(job(S.UNCERTAIN, paid_submits=1)) is RetryKind.RESUBMIT
    assert policy.retry_kind(job(S.STOPPED, task_id=5)) is RetryKind.TRACK
    assert policy.retry_kind(job(S.DONE, task_id=5)) is RetryKind.NONE


def test_resubmit_confirms_exactly_one_more_request() -> None:
    failed = job(
        S.FAILED, task_id=5, error_code="kling_failed", paid_submits=1, confirmed_requests=1
    )
    after = failed.replace(**policy.resubmit(failed).changes)
    assert after.confirmed_requests == 2 and after.task_id is None
    assert policy.may_submit(after)
    # Asking twice without sending confirms nothing more.
    again = policy.resubmit(after)
    assert again == Decision()
    assert policy.confirm(after)["confirmed_requests"] == 2


def test_restart_in_every_state_never_sends_without_a_confirmed_request() -> None:
    for state in JobState:
        for task_id in (None, 5):
            stored = job(state, task_id=task_id, paid_submits=1, confirmed_requests=1)
            decision = policy.next_action(stored, NOW)
            after = stored.replace(**decision.changes)
            if decision.action in (Action.SEND, Action.SUBMIT):
                # Whatever the runner then tries, the store only lets a confirmed one go.
                assert not policy.may_submit(after)
            if state is S.SUBMITTING and task_id is None:
                assert decision.action is Action.RECONCILE
            if task_id is not None and state is S.SUBMITTING:
                assert after.state is S.PROCESSING and decision.action is Action.POLL


def test_store_refuses_a_submit_beyond_what_was_confirmed(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "jobs.sqlite3")
    [added] = store.add_many([Path("/clips/a.mp4")], JobOptions())
    with pytest.raises(SubmitNotAllowed):  # never confirmed
        store.begin_submit(added.id, NOW)
    store.apply(added.id, lambda j: {"state": S.READY})
    store.apply(added.id, policy.start)
    sent = store.begin_submit(added.id, NOW)
    assert sent.paid_submits == 1 and sent.state is S.SUBMITTING
    store.apply(added.id, lambda j: {"state": S.WAITING_SLOT})  # as if 429, not given back
    with pytest.raises(SubmitNotAllowed):
        store.begin_submit(added.id, NOW)


def test_two_store_connections_cannot_both_spend_one_request(tmp_path: Path) -> None:
    """Two processes on one database: the second begin_submit sees the first one's."""
    path = tmp_path / "jobs.sqlite3"
    one, two = JobStore(path), JobStore(path)
    [added] = one.add_many([Path("/clips/a.mp4")], JobOptions())
    one.apply(added.id, lambda j: {"state": S.READY})
    one.apply(added.id, policy.start)
    two.begin_submit(added.id, NOW)
    with pytest.raises((SubmitNotAllowed, Exception)):
        one.begin_submit(added.id, NOW)
    assert one.get(added.id) is not None
    assert one.get(added.id).paid_submits == 1  # type: ignore[union-attr]


# -- two runners, restarts anywhere: a hypothesis state machine --------------------------------


@dataclass
class FakeKling:
    """The service's truth: which tasks exist, for which job (by replyRef)."""

    tasks: dict[int, str] = field(default_factory=dict)  # task id -> replyRef
    status: dict[int, str] = field(default_factory=dict)
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(100))

    def create(self, reply_ref: str) -> int:
        task_id = next(self.ids)
        self.tasks[task_id] = reply_ref
        self.status[task_id] = "submitted"
        return task_id

    def created_for(self, reply_ref: str) -> int:
        return sum(1 for ref in self.tasks.values() if ref == reply_ref)

    def find(self, reply_ref: str, taken: set[int]) -> int | None:
        for task_id, ref in self.tasks.items():
            if ref == reply_ref and task_id not in taken:
                return task_id
        return None


@dataclass
class InFlight:
    """A submit a runner has sent whose answer has not been handled yet."""

    job_id: int
    reached: bool  # did the request reach the service (and create a task)?
    task_id: int | None


class TwoRunners(RuleBasedStateMachine):
    """Two runners (each its own store connection, as two processes) drive one job.

    Between any two steps a runner may restart (losing whatever it had in flight) and the user
    may act (Retry, Send again, Give up). Each answer is drawn from every class there is.
    """

    def __init__(self) -> None:
        super().__init__()
        import tempfile

        self._dir = tempfile.TemporaryDirectory()
        path = Path(self._dir.name) / "jobs.sqlite3"
        self.stores = [JobStore(path), JobStore(path)]
        self.kling = FakeKling()
        self.in_flight: list[InFlight | None] = [None, None]
        self._answers: dict[int, str] = {}
        self.clock = NOW
        self.confirmed_by_user = 0
        [added] = self.stores[0].add_many([Path("/clips/a.mp4")], JobOptions())
        self.job_id = added.id
        self.stores[0].apply(self.job_id, lambda j: {"state": S.READY, "upload_url": "u"})

    def teardown(self) -> None:
        for store in self.stores:
            store.close()
        self._dir.cleanup()

    def job(self, runner: int = 0) -> Job:
        stored = self.stores[runner].get(self.job_id)
        assert stored is not None
        return stored

    def apply(self, runner: int, decide: Callable[[Job], Decision]) -> Decision:
        taken: list[Decision] = []

        def changes(current: Job) -> dict[str, object]:
            decision = decide(current)
            taken.append(decision)
            return decision.changes

        self.stores[runner].apply(self.job_id, changes)
        return taken[-1]

    @initialize()
    def user_presses_add_sound(self) -> None:
        self.stores[0].apply(self.job_id, policy.start)
        self.confirmed_by_user = 1

    # -- a runner acts on the job as stored ------------------------------------------------

    @rule(
        runner=st.integers(0, 1),
        reached=st.booleans(),
        answer=st.one_of(st.just("ok"), st.sampled_from(list(SUBMIT_ERRORS))),
    )
    def send(self, runner: int, reached: bool, answer: str) -> None:
        """Commit "submitting" and send; the answer is handled in a later step."""
        current = self.job(runner)
        if self.in_flight[runner] is not None or current.state not in (
            S.QUEUED,
            S.WAITING_SLOT,
        ):
            return
        try:
            sent = self.stores[runner].begin_submit(self.job_id, self.clock)
        except SubmitNotAllowed:
            self.apply(runner, policy.not_confirmed)
            return
        outcome = SUBMIT_ERRORS[answer][1] if answer != "ok" else None
        # A certain refusal never created a task; anything else may or may not have.
        creates = answer == "ok" or (outcome is SubmitOutcome.UNKNOWN and reached)
        task_id = self.kling.create(sent.reply_ref) if creates else None
        self.in_flight[runner] = InFlight(self.job_id, creates, task_id)
        self._answers[runner] = answer

    @rule(runner=st.integers(0, 1))
    def answer_arrives(self, runner: int) -> None:
        flight = self.in_flight[runner]
        if flight is None:
            return
        self.in_flight[runner] = None
        answer = self._answers.pop(runner, "ok")
        if answer == "ok":
            assert flight.task_id is not None
            self.apply(runner, lambda j: policy.after_submit(j, task(flight.task_id), self.clock))
            return
        exc = SUBMIT_ERRORS[answer][0]
        self.apply(runner, lambda j: policy.after_submit_error(j, exc, self.clock))

    @rule(runner=st.integers(0, 1))
    def restart(self, runner: int) -> None:
        """The runner dies (kill -9): what it had in flight is never answered."""
        self.in_flight[runner] = None
        self._answers.pop(runner, None)
        current = self.job(runner)
        decision = policy.next_action(current, self.clock)
        if decision.changes:
            self.apply(runner, lambda j: decision if j.state is current.state else Decision())

    @rule(runner=st.integers(0, 1), fails=st.booleans())
    def reconcile(self, runner: int, fails: bool) -> None:
        current = self.job(runner)
        if current.state not in (S.SUBMITTING, S.UNCERTAIN) or current.task_id is not None:
            return
        if fails:
            timeout = errors.Timeout()
            self.apply(runner, lambda j: policy.after_reconcile_error(j, timeout, self.clock))
            return
        found_id = self.kling.find(current.reply_ref, set())
        found = task(found_id) if found_id is not None else None
        self.apply(runner, lambda j: policy.after_reconcile(j, found, self.clock))

    @rule(
        runner=st.integers(0, 1),
        answer=st.one_of(
            st.sampled_from(["running", "succeed", "failed"]), st.sampled_from(list(STEP_ERRORS))
        ),
    )
    def poll(self, runner: int, answer: str) -> None:
        current = self.job(runner)
        if current.state is not S.PROCESSING or current.task_id is None:
            return
        if answer in STEP_ERRORS:
            exc = STEP_ERRORS[answer]
            self.apply(runner, lambda j: policy.after_poll_error(j, exc, self.clock))
            return
        final = answer != "running"
        snapshot = task(current.task_id, "submitted" if answer == "running" else answer, final)
        self.apply(runner, lambda j: policy.after_task(j, snapshot, self.clock))

    @rule(
        runner=st.integers(0, 1),
        answer=st.one_of(st.just("ok"), st.sampled_from(list(STEP_ERRORS))),
    )
    def download(self, runner: int, answer: str) -> None:
        current = self.job(runner)
        if current.state is not S.DOWNLOADING:
            return
        if answer == "ok":
            self.apply(runner, _finish)
            return
        exc = STEP_ERRORS[answer]
        self.apply(runner, lambda j: policy.after_download_error(j, exc, self.clock))

    @rule(seconds=st.sampled_from([1.0, 60.0, 3600.0, 4 * 3600.0]))
    def time_passes(self, seconds: float) -> None:
        self.clock += seconds

    # -- the user ----------------------------------------------------------------------

    @rule(runner=st.integers(0, 1))
    def user_retries(self, runner: int) -> None:
        self.apply(runner, policy.retry)

    @rule(runner=st.integers(0, 1))
    def user_confirms_a_new_paid_job(self, runner: int) -> None:
        current = self.job(runner)
        if policy.retry_kind(current) is not RetryKind.RESUBMIT:
            return
        decision = self.apply(runner, policy.resubmit)
        if decision.changes:
            self.confirmed_by_user += 1

    @rule(runner=st.integers(0, 1))
    def user_gives_up(self, runner: int) -> None:
        self.apply(runner, policy.give_up)

    @rule(runner=st.integers(0, 1), task_found=st.booleans())
    def user_names_the_task(self, runner: int, task_found: bool) -> None:
        current = self.job(runner)
        found_id = self.kling.find(current.reply_ref, set()) if task_found else None
        if found_id is not None:
            self.apply(runner, lambda j: policy.found(j, found_id))

    # -- what must always hold -----------------------------------------------------------

    @invariant()
    def never_more_tasks_than_confirmed(self) -> None:
        current = self.job()
        created = self.kling.created_for(current.reply_ref)
        assert created <= current.confirmed_requests <= self.confirmed_by_user
        assert current.paid_submits <= current.confirmed_requests

    @invariant()
    def a_job_with_a_task_is_never_sendable(self) -> None:
        current = self.job()
        if current.task_id is not None:
            assert not policy.may_submit(current)
            assert current.state not in (S.QUEUED, S.UPLOADING, S.SUBMITTING, S.WAITING_SLOT)

    @invariant()
    def every_failure_has_a_sentence(self) -> None:
        current = self.job()
        if current.state in (S.FAILED, S.UNCERTAIN):
            assert current.error_message


def _finish(job: Job) -> Decision:
    return Decision({"state": S.DONE}) if job.state is S.DOWNLOADING else Decision()


TwoRunners.TestCase.settings = settings(
    max_examples=300,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_two_runners_with_restarts_never_pay_twice = TwoRunners.TestCase


def test_error_text_stored_for_a_job_is_redacted() -> None:
    leaky = RuntimeError("token user:12345-abcdefghijklmnop was refused; Bearer user:9-x")
    sent = job(S.UPLOADING, confirmed_requests=1, upload_attempts=policy.TRANSFER_TRIES)
    message = policy.after_upload_error(sent, leaky, NOW).changes["error_message"]
    assert "abcdefghijklmnop" not in message and "user:9-x" not in message
    failed = task(77, "failed", final=True).__class__(
        id=77, status_name="failed", status_final=True, error="password=hunter2 rejected"
    )
    decision = policy.after_task(job(S.PROCESSING, task_id=77), failed, NOW)
    assert "hunter2" not in decision.changes["error_message"]


def test_a_second_paid_request_is_told_apart_from_the_first() -> None:
    first = job(S.SUBMITTING, paid_submits=1, confirmed_requests=1, upload_url="u1")
    uncertain = first.replace(**policy.after_reconcile(first, None, NOW).changes)
    again = uncertain.replace(**policy.resubmit(uncertain).changes)
    assert again.upload_url == ""  # uploaded anew: the new task's input is its own
    second = again.replace(paid_submits=2, state=S.SUBMITTING)
    assert second.reply_ref != first.reply_ref
    assert second.reply_ref.startswith(first.reply_ref)


def test_local_failures_read_as_sentences_not_bugs() -> None:
    current = job(S.DOWNLOADING, task_id=5, result_url="r", download_attempts=9)
    full = OSError(28, "No space left on device", "/videos/a.sound.mp4")
    message = policy.after_download_error(current, full, NOW).changes["error_message"]
    assert message.startswith("The result could not be saved (No space left on device")
    bad = pipeline.ResultInvalid("it has no sound track")
    message = policy.after_download_error(current, bad, NOW).changes["error_message"]
    assert "Unexpected" not in message and "no sound track" in message
