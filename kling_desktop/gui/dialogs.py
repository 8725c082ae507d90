"""The window's questions before anything costs money or loses history.

Each ``*_question`` function builds the dialog without showing it (tests and screenshots look
at it as built); :class:`Question.ask` shows it modally and says which button was pressed.
Confirm buttons are named for what they do — "Start 3 paid jobs", "Send again (new paid
job)", "Remove 2 jobs" — never "Yes" or "OK", and a paid action has no "Don't ask again".
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QStyle, QWidget

from kling_desktop.gui.paid_questions import (
    _credit_notes,
    resend_question,
    spend_question,
    uncertain_question,
)
from kling_desktop.gui.question import LIST_ROWS, Question, Role, tr
from kling_desktop.gui.question import quoted as _quoted
from kling_desktop.jobs.duplicates import Duplicate
from kling_desktop.jobs.model import Job, JobState

__all__ = [
    "AT_KLING",
    "CANCELLABLE",
    "HISTORY",
    "LIST_ROWS",
    "LOCAL",
    "Question",
    "_credit_notes",
    "duplicates_question",
    "remove_question",
    "resend_question",
    "spend_question",
    "stop_tracking_question",
    "uncertain_question",
]

S = JobState

#: States in which Kling has (or may have) the job: removing it does not stop Kling.
AT_KLING = frozenset({S.SUBMITTING, S.PROCESSING, S.DOWNLOADING, S.UNCERTAIN})
#: Finished history: removing it loses what the list knows (the result link, the error).
HISTORY = frozenset({S.DONE, S.FAILED, S.STOPPED})
#: Never left the computer: removed (and cancelled) without a question.
LOCAL = frozenset({S.CHECKING, S.READY, S.REJECTED, S.QUEUED, S.UPLOADING, S.WAITING_SLOT})
#: Jobs that "Cancel" takes back to Ready (nothing spent).
CANCELLABLE = frozenset({S.QUEUED, S.UPLOADING, S.WAITING_SLOT})


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
