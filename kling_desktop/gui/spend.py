"""What a paid action would cost, counted from the jobs (no Qt): the window's confirmations
show it, tests read it.

One "Add sound" on a ready job sends the requests :func:`policy.confirm` allows it: today one
per clip, later one per part and take. The count therefore comes from the jobs, never from a
constant. Credits are shown only as useapi.net reports them: the price of one add-sound job is
not published, so no "after" figure is guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from kling_desktop.jobs import parts, policy
from kling_desktop.jobs.model import Job


def paid_jobs_to_start(job: Job) -> int:
    """Paid Kling jobs that "Add sound" on ``job`` would send (the confirmed requests it would
    then hold beyond those already sent)."""
    confirmed = int(policy.confirm(job)["confirmed_requests"])
    return max(0, confirmed - job.paid_submits)


def paid_jobs_to_resend(job: Job) -> int:
    """Paid Kling jobs that "Send again (new paid job)" on ``job`` would start."""
    return 1 if policy.retry_kind(job) is policy.RetryKind.RESUBMIT else 0


@dataclass(frozen=True)
class AccountSpend:
    """The paid jobs one Kling account would run, and its credits as last reported."""

    email: str  # "" when the account is not known yet (the default one is used)
    clips: tuple[str, ...]
    paid_jobs: int
    balance: int | None = None  # credits now, as useapi.net reported them; None: unknown
    cost_per_job: int | None = None  # only when the service says; never guessed

    @property
    def balance_after(self) -> int | None:
        if self.balance is None or self.cost_per_job is None:
            return None
        return self.balance - self.cost_per_job * self.paid_jobs


@dataclass(frozen=True)
class SpendRequest:
    """One confirmation: which clips, how many paid jobs on which accounts."""

    accounts: tuple[AccountSpend, ...]
    demo: bool = False
    #: Per clip, (parts, takes) when "Add sound" starts more than one paid job for it: why
    #: the jobs outnumber the clips. Empty for other questions.
    shapes: tuple[tuple[int, int], ...] = ()

    @property
    def paid_jobs(self) -> int:
        return sum(a.paid_jobs for a in self.accounts)

    @property
    def clips(self) -> tuple[str, ...]:
        return tuple(name for a in self.accounts for name in a.clips)


def spend_request(
    jobs: Iterable[Job],
    paid_jobs: Callable[[Job], int],
    *,
    default_email: str = "",
    balances: Mapping[str, int | None] | None = None,
    demo: bool = False,
    explain: bool = False,
) -> SpendRequest:
    """Group ``jobs`` by the account they will use (a job added before the account list was
    known uses ``default_email``), in first-seen order. ``explain``: say for each clip of
    several paid jobs how many parts and takes make them (:attr:`SpendRequest.shapes`)."""
    jobs = list(jobs)
    groups: dict[str, list[Job]] = {}
    for job in jobs:
        groups.setdefault(job.email or default_email, []).append(job)
    known = balances or {}
    return SpendRequest(
        tuple(
            AccountSpend(
                email=email,
                clips=tuple(j.name for j in group),
                paid_jobs=sum(paid_jobs(j) for j in group),
                balance=None if demo else known.get(email),
            )
            for email, group in groups.items()
        ),
        demo=demo,
        shapes=tuple(shape for shape in map(shape_of, jobs) if shape != (1, 1)) if explain else (),
    )


def shape_of(job: Job) -> tuple[int, int]:
    """(parts, takes) of a ready clip: how its paid jobs come about."""
    plan = parts.plan_of(job)
    count = plan.paid_jobs if plan is not None and plan.ok else 1
    return max(1, count), max(1, job.options.takes)
