"""The question when the window closes while Kling still works on clips.

Quit (the jobs run on at Kling and resume next time), keep working in the background (a tray
icon, or a minimised window where the desktop has no tray, and the question says which), or
cancel. :class:`~kling_desktop.gui.background.Background` carries the answer out.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from PySide6.QtCore import (
    QCoreApplication,
)
from PySide6.QtWidgets import QMessageBox, QWidget

from kling_desktop.jobs.model import Job, JobState

log = logging.getLogger(__name__)

#: Jobs that go on without the user: at Kling, or on their way there or back.
AT_KLING = frozenset(
    {
        JobState.QUEUED,
        JobState.UPLOADING,
        JobState.SUBMITTING,
        JobState.WAITING_SLOT,
        JobState.PROCESSING,
        JobState.DOWNLOADING,
    }
)


def tr(text: str, disambiguation: str | None = None, n: int = -1) -> str:
    return QCoreApplication.translate("Background", text, disambiguation, n)


# -- the question ------------------------------------------------------------------------------


class CloseChoice(enum.Enum):
    QUIT = "quit"  # the jobs keep running at Kling and resume next time
    BACKGROUND = "background"  # the app stays, without its window (tray or minimised)
    CANCEL = "cancel"


@dataclass(frozen=True)
class CloseQuestion:
    """What the close question says: how much is still at work, and what "background" does."""

    at_kling: int  # jobs in AT_KLING
    uploads: int  # of them, being uploaded (they start again next time)
    tray: bool  # the background keeps a tray icon; without one it minimises the window
    demo: bool = False  # the demo starts afresh next time: quitting drops its jobs


def close_question(jobs: Iterable[Job], *, tray: bool, demo: bool = False) -> CloseQuestion | None:
    """The question to ask before closing, or None when nothing is at work."""
    working = [j for j in jobs if j.state in AT_KLING]
    if not working:
        return None
    uploads = sum(1 for j in working if j.state is JobState.UPLOADING)
    return CloseQuestion(at_kling=len(working), uploads=uploads, tray=tray, demo=demo)


def quit_label(demo: bool = False) -> str:
    if demo:
        return tr("Quit (the demo starts afresh next time)")
    return tr("Quit (jobs keep running at Kling and resume next time)")


def background_label(tray: bool) -> str:
    return (
        tr("Keep working in the background")
        if tray
        else tr("Keep working in the background (minimised)")
    )


def question_text(question: CloseQuestion) -> tuple[str, str]:
    """The question's headline and its explanation."""
    head = tr("Kling is still working on %n clip(s).", "", question.at_kling)
    lines = [
        tr(
            "Quit: this is the demo, which starts afresh next time: its list and the results "
            "it saved are cleared then."
        )
        if question.demo
        else tr(
            "Quit: Kling finishes them anyway, and Kling Desktop picks them up and saves the "
            "results the next time you open it."
        )
    ]
    if question.uploads:
        lines.append(
            tr(
                "%n upload(s) in progress would start again from the beginning next time "
                "(uploading costs nothing).",
                "",
                question.uploads,
            )
        )
    if question.tray:
        lines.append(
            tr(
                "Keep working in the background: the window closes and Kling Desktop stays in "
                "the system tray, saving each result as soon as it is ready. Click its icon to "
                "open the window again."
            )
        )
    else:
        lines.append(
            tr(
                "Keep working in the background: this desktop has no system tray, so the "
                "window is minimised and Kling Desktop saves each result as soon as it is "
                "ready."
            )
        )
    return head, "\n\n".join(lines)


def ask_close(parent: QWidget, question: CloseQuestion) -> CloseChoice:
    """Ask with three named buttons; Escape cancels, Enter keeps working."""
    head, text = question_text(question)
    box = QMessageBox(parent)
    box.setObjectName("closeQuestion")
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(tr("Close Kling Desktop?"))
    box.setText(head)
    box.setInformativeText(text)
    quit_button = box.addButton(quit_label(question.demo), QMessageBox.ButtonRole.DestructiveRole)
    keep_button = box.addButton(background_label(question.tray), QMessageBox.ButtonRole.AcceptRole)
    cancel_button = box.addButton(QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(keep_button)
    box.setEscapeButton(cancel_button)
    box.exec()
    clicked = box.clickedButton()
    if clicked is quit_button:
        return CloseChoice.QUIT
    if clicked is keep_button:
        return CloseChoice.BACKGROUND
    return CloseChoice.CANCEL
