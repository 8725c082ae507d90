"""The window's questions before anything costs money or loses history.

Each ``*_question`` function builds the dialog without showing it (tests and screenshots look
at it as built); :class:`Question.ask` shows it modally and says which button was pressed.
Confirm buttons are named for what they do — "Start 3 paid jobs", "Send again (new paid
job)", "Remove 2 jobs" — never "Yes" or "OK", and a paid action has no "Don't ask again".
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from kling_desktop.gui.spend import AccountSpend, SpendRequest
from kling_desktop.jobs.duplicates import Duplicate
from kling_desktop.jobs.model import Job, JobState

S = JobState
Role = QDialogButtonBox.ButtonRole

#: States in which Kling has (or may have) the job: removing it does not stop Kling.
AT_KLING = frozenset({S.SUBMITTING, S.PROCESSING, S.DOWNLOADING, S.UNCERTAIN})
#: Finished history: removing it loses what the list knows (the result link, the error).
HISTORY = frozenset({S.DONE, S.FAILED, S.STOPPED})
#: Never left the computer: removed (and cancelled) without a question.
LOCAL = frozenset({S.CHECKING, S.READY, S.REJECTED, S.QUEUED, S.UPLOADING, S.WAITING_SLOT})
#: Jobs that "Cancel" takes back to Ready (nothing spent).
CANCELLABLE = frozenset({S.QUEUED, S.UPLOADING, S.WAITING_SLOT})

#: The list of clips scrolls beyond this many rows.
LIST_ROWS = 8


def tr(text: str) -> str:
    return QCoreApplication.translate("Dialogs", text)


def _quoted(name: str) -> str:
    return f"“{name}”"


def _account(email: str) -> str:
    return email or tr("your default Kling account")


class Question(QDialog):
    """A headline, an explanation, an optional scrolling list, notes and named buttons."""

    def __init__(
        self,
        parent: QWidget | None,
        *,
        title: str,
        headline: str,
        body: str = "",
        items: Sequence[str] = (),
        notes: Sequence[str] = (),
        buttons: Sequence[tuple[str, str, QDialogButtonBox.ButtonRole]] = (),
        default: str = "",
        icon: QStyle.StandardPixmap = QStyle.StandardPixmap.SP_MessageBoxQuestion,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.choice: str | None = None
        self.headline = QLabel(headline)
        self.headline.setObjectName("headline")
        self.headline.setWordWrap(True)
        font = self.headline.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.headline.setFont(font)
        self.body = QLabel(body)
        self.body.setObjectName("body")
        self.body.setWordWrap(True)
        self.body.setVisible(bool(body))
        self.items = QListWidget()
        self.items.setObjectName("items")
        self.items.addItems(list(items))
        self.items.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.items.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.items.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.items.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.items.setAccessibleName(tr("Clips"))
        rows = min(max(len(items), 1), LIST_ROWS)
        row_height = self.items.sizeHintForRow(0) if items else self.fontMetrics().height()
        self.items.setFixedHeight(rows * max(row_height, 1) + 2 * self.items.frameWidth() + 4)
        self.items.setVisible(bool(items))
        self.notes = QLabel("\n".join(notes))
        self.notes.setObjectName("notes")
        self.notes.setWordWrap(True)
        self.notes.setVisible(bool(notes))
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.button_box = QDialogButtonBox()
        self.buttons: dict[str, QPushButton] = {}
        for key, text, role in buttons:
            button = self.button_box.addButton(text, role)
            button.setObjectName(key)
            button.clicked.connect(lambda _=False, key=key: self._chose(key))
            self.buttons[key] = button
        if default in self.buttons:
            self.buttons[default].setDefault(True)
        cancel = next(
            (k for k, _, r in buttons if r in (Role.RejectRole, Role.NoRole)), None
        )  # Esc and the window's close button choose this one
        self._escape = cancel

        size = self.style().pixelMetric(QStyle.PixelMetric.PM_MessageBoxIconSize)
        picture = QLabel()
        picture.setPixmap(self.style().standardIcon(icon).pixmap(size, size))
        picture.setAlignment(Qt.AlignmentFlag.AlignTop)
        column = QVBoxLayout()
        column.addWidget(self.headline)
        column.addWidget(self.body)
        column.addWidget(self.items)
        column.addWidget(self.notes)
        top = QHBoxLayout()
        top.addWidget(picture, 0, Qt.AlignmentFlag.AlignTop)
        top.addLayout(column, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addSpacing(6)
        layout.addWidget(self.button_box)
        width = self.fontMetrics().averageCharWidth() * 72
        for label in (self.headline, self.body, self.notes):
            label.setMinimumWidth(width)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        # Enter presses the focused button: keep the focus on the default one.
        default = next((b for b in self.buttons.values() if b.isDefault()), None)
        if default is not None:
            default.setFocus()

    def _chose(self, key: str) -> None:
        self.choice = key
        self.done(QDialog.DialogCode.Accepted)

    def reject(self) -> None:
        self.choice = self._escape
        super().reject()

    def ask(self) -> str | None:
        """Show modally; the key of the button pressed (Esc: the cancelling one)."""
        self.exec()
        return self.choice


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


def _join(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return tr("%1 and %2").replace("%1", ", ".join(parts[:-1])).replace("%2", parts[-1])


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
    if request.demo:
        return Question(
            parent,
            title=tr("Add sound"),
            headline=headline,
            body=tr("This is the demo: the simulator stands in for Kling, nothing is spent."),
            items=items,
            buttons=[
                ("cancel", tr("Cancel"), Role.RejectRole),
                ("go", tr("Add sound"), Role.AcceptRole),
            ],
            default="go",
        )
    paid = request.paid_jobs
    jobs_text = QCoreApplication.translate("Dialogs", "This starts %n paid Kling job(s)", "", paid)
    body = _on_accounts(request, jobs_text)
    if paid != count:
        body += " " + QCoreApplication.translate("Dialogs", "(For %n clip(s).)", "", count)
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
        notes=_why_again(jobs) + _credit_notes(request.accounts),
        buttons=[
            ("cancel", tr("Cancel"), Role.RejectRole),
            (
                "send",
                QCoreApplication.translate("Dialogs", "Send %n again (new paid job(s))", "", paid),
                Role.AcceptRole,
            ),
        ],
        default="send",
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


def stop_tracking_question(parent: QWidget | None, jobs: Sequence[Job]) -> Question:
    """Stop tracking: Kling still runs and charges the job; only the app stops waiting."""
    count = len(jobs)
    return Question(
        parent,
        title=tr("Stop tracking"),
        headline=(
            tr("Stop tracking %1?").replace("%1", _quoted(jobs[0].name))
            if count == 1
            else QCoreApplication.translate("Dialogs", "Stop tracking %n job(s)?", "", count)
        ),
        body=QCoreApplication.translate(
            "Dialogs",
            "Kling keeps running the %n job(s) and still charges for them; only this app stops "
            "waiting for the results.",
            "",
            count,
        ),
        items=[j.name for j in jobs] if count > 1 else (),
        notes=[tr("Retry tracks it again later, at no cost.")],
        buttons=[
            ("cancel", tr("Cancel"), Role.RejectRole),
            ("stop", tr("Stop tracking"), Role.DestructiveRole),
        ],
        default="cancel",
        icon=QStyle.StandardPixmap.SP_MessageBoxWarning,
    )


def remove_question(parent: QWidget | None, jobs: Sequence[Job]) -> Question:
    """Removing jobs Kling still runs, or finished history: say what it means, then ask."""
    count = len(jobs)
    at_kling = [j for j in jobs if j.state in AT_KLING]
    history = [j for j in jobs if j.state in HISTORY]
    headline = (
        tr("Remove %1 from the list?").replace("%1", _quoted(jobs[0].name))
        if count == 1
        else QCoreApplication.translate("Dialogs", "Remove %n job(s) from the list?", "", count)
    )
    lines = []
    if at_kling:
        lines.append(
            tr(
                "It is still at Kling: Kling keeps running it and still charges for it, but this "
                "app stops following it and will not save its result."
            )
            if count == 1
            else QCoreApplication.translate(
                "Dialogs",
                "%n of them still at Kling: Kling keeps running them and still charges for "
                "them, but this app stops following them and will not save their results.",
                "",
                len(at_kling),
            )
        )
    if history:
        lines.append(
            tr("Its history in this app (state, result link, messages) goes with it.")
            if count == 1
            else QCoreApplication.translate(
                "Dialogs",
                "The history of %n finished job(s) (state, result link, messages) goes with them.",
                "",
                len(history),
            )
        )
    lines.append(
        tr("Your clips and results on disk are kept. Edit → Undo (Ctrl+Z) brings it back.")
        if count == 1
        else tr("Your clips and results on disk are kept. Edit → Undo (Ctrl+Z) brings them back.")
    )
    return Question(
        parent,
        title=tr("Remove from the list"),
        headline=headline,
        body=" ".join(lines[:-1]),
        items=[j.name for j in jobs] if count > 1 else (),
        notes=[lines[-1]],
        buttons=[
            ("cancel", tr("Cancel"), Role.RejectRole),
            (
                "remove",
                QCoreApplication.translate("Dialogs", "Remove %n job(s)", "", count),
                Role.DestructiveRole,
            ),
        ],
        default="remove",
        icon=QStyle.StandardPixmap.SP_MessageBoxWarning,
    )


def duplicates_question(
    parent: QWidget | None, duplicates: Sequence[Duplicate], *, auto_start: bool = False
) -> Question:
    """Clips added before (or results of this app): "Add it again anyway?"."""
    count = len(duplicates)
    if count == 1:
        headline = duplicates[0].sentence
        body = tr("Add it again anyway?")
        items: list[str] = []
    else:
        headline = QCoreApplication.translate(
            "Dialogs", "Add these %n clip(s) again anyway?", "", count
        )
        body = ""
        items = [d.sentence for d in duplicates]
    if auto_start:
        note = QCoreApplication.translate(
            "Dialogs",
            "Settings start paid Kling jobs as soon as clips are added: this starts %n new paid "
            "Kling job(s).",
            "",
            count,
        )
        go = QCoreApplication.translate("Dialogs", "Add %n again and start (paid)", "", count)
    else:
        note = tr("Nothing is sent to Kling until you press Add sound.")
        go = QCoreApplication.translate("Dialogs", "Add %n again", "", count)
    return Question(
        parent,
        title=tr("Already added"),
        headline=headline,
        body=body,
        items=items,
        notes=[note],
        buttons=[
            ("skip", tr("Don't add"), Role.RejectRole),
            ("add", go, Role.AcceptRole),
        ],
        default="skip",
        icon=QStyle.StandardPixmap.SP_MessageBoxInformation,
    )
