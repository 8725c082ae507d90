"""The paid confirmations: Add sound, Send again (new paid job) and the decision on a job
whose submit has no known outcome. Each names the account, the clips, the number of paid
Kling jobs and the credits as useapi.net reports them; each is built without being shown.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QStyle, QWidget

from kling_desktop.gui.question import Question, Role, tr
from kling_desktop.gui.question import account_name as _account
from kling_desktop.gui.question import join as _join
from kling_desktop.gui.question import quoted as _quoted
from kling_desktop.gui.spend import AccountSpend, SpendRequest
from kling_desktop.jobs.model import Job, JobState

S = JobState


def _credit_notes(accounts: Sequence[AccountSpend]) -> list[str]:
    notes = []
    for account in accounts:
        if account.balance is None:
            continue  # unknown: say nothing rather than guess
        name = _account(account.email)
        after = account.balance_after
        if after is not None:
            notes.append(
                tr("Credits on %1: %2 now, %3 after.")
                .replace("%1", name)
                .replace("%2", f"{account.balance:,}")
                .replace("%3", f"{after:,}")
            )
        else:
            notes.append(
                tr("Credits on %1 now: %2 (as useapi.net reports them).")
                .replace("%1", name)
                .replace("%2", f"{account.balance:,}")
            )
    return notes


def _on_accounts(request: SpendRequest, jobs_text: str) -> str:
    """Like "…on the Kling account a@x.com." or "…: 2 on a@x.com and 1 on b@x.com."."""
    accounts = request.accounts
    if len(accounts) == 1:
        return (
            tr("%1 on the Kling account %2.")
            .replace("%1", jobs_text)
            .replace("%2", _account(accounts[0].email))
        )
    parts = [
        tr("%1 on %2").replace("%1", f"{a.paid_jobs:,}").replace("%2", _account(a.email))
        for a in accounts
    ]
    return tr("%1: %2.").replace("%1", jobs_text).replace("%2", _join(parts))


def spend_question(parent: QWidget | None, request: SpendRequest) -> Question:
    """Add sound: the account, the clips, the number of paid jobs and the credits."""
    clips = request.clips
    count = len(clips)
    headline = (
        tr("Add sound to %1?").replace("%1", _quoted(clips[0]))
        if count == 1
        else QCoreApplication.translate("Dialogs", "Add sound to %n clip(s)?", "", count)
    )
    items = clips if count > 1 else ()
    paid = request.paid_jobs
    why = _why_more_jobs(request.shapes, count) if paid != count else ""
    if request.demo:
        # The same count as with a token, so the demo shows what a real run would cost.
        body = QCoreApplication.translate(
            "Dialogs", "With your token this would start %n paid Kling job(s)", "", paid
        )
        body += (
            (" (" + why + ")." if why else ".")
            + " "
            + tr("This is the demo: the simulator stands in for Kling, nothing is spent.")
        )
        return Question(
            parent,
            title=tr("Add sound"),
            headline=headline,
            body=body,
            items=items,
            buttons=[
                ("cancel", tr("Cancel"), Role.RejectRole),
                ("go", tr("Add sound"), Role.AcceptRole),
            ],
            default="go",
        )
    jobs_text = QCoreApplication.translate("Dialogs", "This starts %n paid Kling job(s)", "", paid)
    body = _on_accounts(request, jobs_text)
    if paid != count:
        body += " " + (
            QCoreApplication.translate("Dialogs", "(For %n clip(s): %1.)", "", count).replace(
                "%1", why
            )
            if why
            else QCoreApplication.translate("Dialogs", "(For %n clip(s).)", "", count)
        )
    return Question(
        parent,
        title=tr("Add sound"),
        headline=headline,
        body=body,
        items=items,
        notes=_credit_notes(request.accounts),
        buttons=[
            ("cancel", tr("Cancel"), Role.RejectRole),
            (
                "go",
                QCoreApplication.translate("Dialogs", "Start %n paid job(s)", "", paid),
                Role.AcceptRole,
            ),
        ],
        default="go",
    )


def _why_more_jobs(shapes: Sequence[tuple[int, int]], clips: int) -> str:
    """Why the paid jobs outnumber the clips: "one clip is split into 3 parts; takes ×2"."""
    split = [count for count, _ in shapes if count > 1]
    takes = sorted({take for _, take in shapes if take > 1})
    phrases = []
    if len(split) == 1:
        phrases.append(
            (
                tr("it is split into %1 parts")
                if clips == 1
                else tr("one clip is split into %1 parts")
            ).replace("%1", str(split[0]))
        )
    elif split:
        phrases.append(
            QCoreApplication.translate(
                "Dialogs", "%n clip(s) are split into parts (%1)", "", len(split)
            ).replace("%1", _join([str(n) for n in split]))
        )
    with_takes = [take for _, take in shapes if take > 1]
    if len(takes) == 1 and clips > 1:
        phrases.append(
            (
                tr("one clip has %1 takes")
                if len(with_takes) == 1
                else QCoreApplication.translate(
                    "Dialogs", "%n clip(s) have %1 takes each", "", len(with_takes)
                )
            ).replace("%1", str(takes[0]))
        )
    elif len(takes) == 1:
        phrases.append(tr("takes ×%1").replace("%1", str(takes[0])))
    elif takes:
        phrases.append(tr("several takes (%1)").replace("%1", _join([str(t) for t in takes])))
    return "; ".join(phrases)


def _why_again(jobs: Sequence[Job]) -> list[str]:
    """Why the first jobs gave nothing, and what sending again risks, grouped by reason."""
    single = len(jobs) == 1
    groups: dict[str, list[str]] = {}
    for job in jobs:
        if job.state is S.UNCERTAIN:
            reason = (
                tr(
                    "No answer came back to the first request. If Kling did get it, you pay "
                    "for both."
                )
                if single
                else tr(
                    "No answer came back to the first request for %1. If Kling did get it, "
                    "you pay for both."
                )
            )
        elif job.error_code == "kling_failed":
            reason = (
                tr("Kling could not add sound the first time.")
                if single
                else tr("Kling could not add sound the first time: %1.")
            )
        elif job.error_code == "task_gone":
            reason = (
                tr("Kling no longer has the first task.")
                if single
                else tr("Kling no longer has the first task of %1.")
            )
        else:
            reason = (
                tr("The paid jobs confirmed for it were already sent.")
                if single
                else tr("The paid jobs confirmed for %1 were already sent.")
            )
        groups.setdefault(reason, []).append(job.name)
    return [reason.replace("%1", _join(names)) for reason, names in groups.items()]


def _parts_kept(jobs: Sequence[Job]) -> list[str]:
    """For clips of parts: only what Kling failed or lost is sent again."""
    if not any(job.requests for job in jobs):
        return []
    return [
        tr(
            "Only the parts (or takes) Kling failed or lost are sent again; those already done "
            "are kept and put together with them."
        )
    ]


def resend_question(parent: QWidget | None, jobs: Sequence[Job], request: SpendRequest) -> Question:
    """Send again (new paid job) for jobs Kling failed or lost, or uncertain ones."""
    count = len(jobs)
    headline = (
        tr("Send %1 to Kling again?").replace("%1", _quoted(jobs[0].name))
        if count == 1
        else QCoreApplication.translate("Dialogs", "Send %n clip(s) to Kling again?", "", count)
    )
    paid = request.paid_jobs
    if request.demo:
        body = tr("This is the demo: the simulator stands in for Kling, nothing is spent.")
    else:
        body = _on_accounts(
            request,
            QCoreApplication.translate("Dialogs", "This starts %n new paid Kling job(s)", "", paid),
        )
    return Question(
        parent,
        title=tr("Send again (new paid job)"),
        headline=headline,
        body=body,
        items=[j.name for j in jobs] if count > 1 else (),
        notes=_why_again(jobs) + _parts_kept(jobs) + _credit_notes(request.accounts),
        buttons=[
            ("cancel", tr("Cancel"), Role.RejectRole),
            (
                "send",
                QCoreApplication.translate("Dialogs", "Send %n again (new paid job(s))", "", paid),
                Role.AcceptRole,
            ),
        ],
        # Enter pays only when nothing may be paid twice: a request whose answer was lost
        # may already be at work at Kling.
        default="cancel" if any(job.state is S.UNCERTAIN for job in jobs) else "send",
        icon=QStyle.StandardPixmap.SP_MessageBoxWarning,
    )


def uncertain_question(parent: QWidget | None, job: Job, request: SpendRequest) -> Question:
    """A submit with no known outcome: send again (paid), give up, or decide later."""
    account = _account(request.accounts[0].email if request.accounts else job.email)
    if request.demo:
        again = tr("“Send again” starts a new job at the simulator; nothing is spent.")
    else:
        again = tr(
            "“Send again” starts a new paid Kling job on the Kling account %1. "
            "If Kling did get the first request, you pay for both."
        ).replace("%1", account)
    return Question(
        parent,
        title=tr("Needs your decision"),
        headline=tr("Was %1 sent to Kling?").replace("%1", _quoted(job.name)),
        body=tr(
            "The request to add sound was sent, but no answer came back, and the account's "
            "task list does not show it. Kling may or may not be working on it."
        ),
        notes=[
            again,
            tr("“Give up” marks it failed; nothing is sent."),
            *_credit_notes(request.accounts),
        ],
        buttons=[
            ("send", tr("Send again (new paid job)"), Role.AcceptRole),
            ("give_up", tr("Give up"), Role.DestructiveRole),
            ("later", tr("Decide later"), Role.RejectRole),
        ],
        default="later",
        icon=QStyle.StandardPixmap.SP_MessageBoxWarning,
    )
