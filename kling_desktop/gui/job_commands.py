"""What the window's actions do to the jobs: add sound (paid), retry, send again, stop
tracking, cancel, resolve, remove and undo, show in folder, copy the result link.

Every paid step asks first through :class:`Interactions`, with what it costs; the runner
refuses illegal moves, and such a refusal is said on the message bar.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QStatusBar, QWidget

from kling_desktop.gui import dialogs
from kling_desktop.gui.actions import FREE_RETRIES, WindowActions, quoted
from kling_desktop.gui.notify import Level, MessageBar, details_of
from kling_desktop.gui.session import Session
from kling_desktop.gui.spend import SpendRequest, spend_request
from kling_desktop.jobs.model import Job, JobState
from kling_desktop.jobs.policy import RetryKind

if TYPE_CHECKING:
    from kling_desktop.gui.interactions import Interactions
    from kling_desktop.gui.launch import AppContext

log = logging.getLogger(__name__)

#: Removals Edit → Undo can bring back, newest last.
UNDO_DEPTH = 20


class JobCommands(QObject):
    """The actions on the selected jobs (``selected``) and on the whole list (``jobs``)."""

    #: Undo is bringing these jobs back (ids): the window selects them when they are.
    restoring = Signal(list)

    def __init__(
        self,
        window: QWidget,
        context: AppContext,
        session: Session,
        interactions: Interactions,
        actions: WindowActions,
        messages: MessageBar,
        status: QStatusBar,
        *,
        selected: Callable[[], list[Job]],
        jobs: Callable[[], list[Job]],
        open_accounts: Callable[[], None],
    ) -> None:
        super().__init__(window)
        self._window = window
        self._context = context
        self._runner = context.runner
        self._session = session
        self.interactions = interactions
        self._actions = actions
        self._messages = messages
        self._status = status
        self._selected = selected
        self._jobs = jobs
        self._open_accounts = open_accounts
        #: Removals Edit → Undo brings back (the runner's snapshots), newest last.
        self._removed: list[list[Job]] = []
        for action, slot in (
            (actions.add_sound_action, self.add_sound),
            (actions.reveal_action, self.reveal_selected),
            (actions.copy_link_action, self.copy_result_link),
            (actions.retry_action, self.retry_selected),
            (actions.retry_all_action, self.retry_all_failed),
            (actions.resubmit_action, self.resubmit_selected),
            (actions.cancel_action, self.cancel_selected),
            (actions.stop_action, self.stop_tracking_selected),
            (actions.resolve_action, self.resolve_selected),
            (actions.remove_action, self.remove_selected),
            (actions.undo_action, self.undo_remove),
        ):
            action.triggered.connect(slot)

    @property
    def can_undo(self) -> bool:
        return bool(self._removed)

    def spend_request(
        self, jobs: list[Job], paid_jobs: Callable[[Job], int], *, explain: bool = False
    ) -> SpendRequest:
        """What the confirmation of a paid action shows: accounts, clips, jobs, credits."""
        return spend_request(
            jobs,
            paid_jobs,
            default_email=self._context.settings.default_email,
            balances=self._session.balances,
            demo=self._context.demo is not None,
            explain=explain,
        )

    def start_request(self, jobs: list[Job]) -> SpendRequest:
        """The Add sound confirmation: paid Kling jobs counted by the runner (a clip split
        into parts, or asked with several takes, is several)."""
        return self.spend_request(jobs, self.paid_to_start, explain=True)

    def resend_request(self, jobs: list[Job]) -> SpendRequest:
        """The Send again confirmation: one new paid job per part Kling failed or lost."""
        return self.spend_request(jobs, lambda job: self._runner.paid_to_resend(job.id))

    def paid_to_start(self, job: Job) -> int:
        return int(self._runner.paid_to_start(job.id))

    def safely(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Runner calls refuse illegal moves; say so instead of crashing the event loop."""
        try:
            fn(*args, **kwargs)
        except Exception as exc:
            log.warning("%s failed: %s", getattr(fn, "__name__", fn), exc)
            self._messages.show_message(str(exc), Level.ERROR, details=details_of(exc))

    def store_trouble(self, sentence: str) -> None:
        """The runner could not write the job list (locked by another program, disk full)."""
        if not sentence.rstrip().endswith("tries again."):
            # A change the user just made (adding, starting, removing, restoring clips) was
            # not written and is not retried by the runner: say so plainly.
            sentence += " " + self.tr(
                "Your last change to the list may not have been saved: check the list and do "
                "it again."
            )
        self._messages.show_message(sentence, Level.WARNING)

    # -- spending -------------------------------------------------------------------------

    def ready_jobs(self) -> list[Job]:
        return [j for j in self._jobs() if j.state is JobState.READY]

    def add_sound(self) -> None:
        """Send the ready clips to Kling, once the user confirmed what it costs."""
        ready = self.ready_jobs()
        if not ready:
            self._messages.show_message(
                self.tr("No clip is ready. Drop clips first, then press Add sound."), Level.INFO
            )
            return
        if self._session.token_pending:
            self._messages.show_message(
                self.tr("Still reading your token from the system keyring. Try again in a moment."),
                Level.INFO,
            )
            return
        if not self._session.has_token:
            self._messages.show_message(
                self.tr("Set up your useapi.net token first."),
                Level.WARNING,
                action=self.tr("Set up my token"),
                on_action=self._open_accounts,
                topic="token",
            )
            return
        paid = {j.id: self._runner.paid_to_start(j.id) for j in ready}
        request = self.spend_request(ready, lambda job: paid[job.id], explain=True)
        if not self.interactions.confirm_spend(self._window, request):
            return
        # What was confirmed travels along: a clip whose options changed since is not sent.
        self._runner.start([j.id for j in ready], paid=paid)

    def resubmit_selected(self) -> None:
        self.resubmit_jobs([j.id for j in self._selected()])

    def resubmit_jobs(self, job_ids: list[int]) -> None:
        """A NEW paid Kling job for each job Kling failed or lost (or an uncertain one), once
        the user confirmed that cost."""
        jobs = [
            job
            for job in (self._runner.job(i) for i in job_ids)
            if job is not None and self._runner.retry_kind(job.id) is RetryKind.RESUBMIT
        ]
        if not jobs:
            return
        paid = {j.id: self._runner.paid_to_resend(j.id) for j in jobs}
        request = self.spend_request(jobs, lambda job: paid[job.id])
        if not self.interactions.confirm_resend(self._window, jobs, request):
            return
        for job in jobs:  # never more new paid jobs than the question counted
            self.safely(self._runner.resubmit, job.id, paid=paid[job.id])

    def resolve_selected(self) -> None:
        for job in self._selected():
            if job.state is not JobState.UNCERTAIN:
                continue
            request = self.spend_request([job], lambda j: self._runner.paid_to_resolve(j.id))
            choice = self.interactions.resolve_uncertain(self._window, job, request)
            if choice is not None:
                self.safely(self._runner.resolve_uncertain, job.id, resubmit=choice)

    # -- at no cost -----------------------------------------------------------------------

    def retry_selected(self) -> None:
        """Retry at no new cost; a job that would need a new paid job is only pointed at
        "Send again (new paid job)…"."""
        paid = []
        for job in self._selected():
            kind = self._runner.retry_kind(job.id)
            if kind in FREE_RETRIES:
                self.safely(self._runner.retry, job.id)
            elif kind is RetryKind.RESUBMIT:
                paid.append(job)
        if paid:
            self._say_needs_new_job(paid)

    def retry_all_failed(self) -> None:
        failed = [j for j in self._jobs() if j.state is JobState.FAILED]
        self.safely(self._runner.retry_all_failed)  # the runner retries only the free ones
        paid = [j for j in failed if self._runner.retry_kind(j.id) is RetryKind.RESUBMIT]
        if paid:
            self._say_needs_new_job(paid)

    def _say_needs_new_job(self, jobs: list[Job]) -> None:
        why = self.tr(
            "Kling failed or lost the first job, so only a new paid Kling job can add the sound."
        )
        head = (
            self.tr("%1 not retried:").replace("%1", quoted(jobs[0].name))
            if len(jobs) == 1
            else self.tr("%n clip(s) not retried:", "", len(jobs))
        )
        self._messages.show_message(
            f"{head} {why}",
            Level.INFO,
            action=self.tr("Send again (new paid job)…"),
            on_action=lambda: self.resubmit_jobs([j.id for j in jobs]),
        )

    def stop_tracking_selected(self) -> None:
        jobs = [j for j in self._selected() if j.state is JobState.PROCESSING]
        if jobs and self.interactions.confirm_stop_tracking(self._window, jobs):
            for job in jobs:
                self.safely(self._runner.stop_tracking, job.id)

    def cancel_selected(self) -> None:
        """Clips that have not reached Kling go back to Ready; nothing is spent."""
        jobs = [j for j in self._selected() if j.state in dialogs.CANCELLABLE]
        for job in jobs:
            self.safely(self._runner.cancel, job.id)
        if jobs:
            self._status.showMessage(
                self.tr("%1 back to Ready; nothing was sent to Kling.").replace(
                    "%1", quoted(jobs[0].name)
                )
                if len(jobs) == 1
                else self.tr("%n clip(s) back to Ready; nothing was sent to Kling.", "", len(jobs)),
                5000,
            )

    def remove_selected(self) -> None:
        """Jobs that never left the computer go at once; jobs Kling still runs, and finished
        history, after a question. Edit → Undo brings them back."""
        jobs = self._selected()
        if not jobs:
            return
        if any(j.state not in dialogs.LOCAL for j in jobs) and not (
            self.interactions.confirm_remove(self._window, jobs)
        ):
            return
        try:
            removed = self._runner.remove_many([j.id for j in jobs])
        except Exception as exc:
            log.warning("remove failed: %s", exc)
            self._messages.show_message(str(exc), Level.ERROR)
            return
        kept = [j for j in jobs if j.id not in {r.id for r in removed}]
        if removed:
            self._removed.append(list(removed))
            del self._removed[:-UNDO_DEPTH]
            self._actions.label_undo(self._removed[-1])
        if len(removed) == 1:
            text = self.tr("Removed %1 from the list.").replace("%1", quoted(removed[0].name))
        else:
            text = self.tr("Removed %n clip(s) from the list.", "", len(removed)) if removed else ""
        if len(kept) == 1:
            text += " " + self.tr(
                "%1 is being sent to Kling this instant and was kept; remove it once it is sent."
            ).replace("%1", quoted(kept[0].name))
        elif kept:
            text += " " + self.tr(
                "%n clip(s) being sent to Kling this instant were kept; remove them once they "
                "are sent.",
                "",
                len(kept),
            )
        self._messages.show_message(
            text.strip(),
            Level.INFO,
            action=self.tr("Undo") if removed else "",
            on_action=self.undo_remove if removed else None,
        )

    def undo_remove(self) -> None:
        """Bring back the last removal (Edit → Undo)."""
        if not self._removed:
            return
        jobs = self._removed.pop()
        self._actions.label_undo(self._removed[-1] if self._removed else None)
        self.restoring.emit([job.id for job in jobs])
        self.safely(self._runner.restore, jobs)
        self._messages.show_message(
            self.tr("%1 back in the list.").replace("%1", quoted(jobs[0].name))
            if len(jobs) == 1
            else self.tr("%n clip(s) back in the list.", "", len(jobs)),
            Level.SUCCESS,
        )

    def reveal_selected(self) -> None:
        jobs = self._selected()
        if len(jobs) != 1:
            return
        job = jobs[0]
        target = job.output_path if job.output_path and job.output_path.exists() else job.input_path
        self.interactions.reveal(target)

    def copy_result_link(self) -> None:
        links = [j.result_url for j in self._selected() if j.result_url]
        if links:
            QGuiApplication.clipboard().setText("\n".join(links))
            self._status.showMessage(self.tr("Result link copied."), 3000)
