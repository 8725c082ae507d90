"""Every question the window asks and every call into the desktop, in one replaceable place."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QProcess, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QWidget

from kling_desktop.gui import close_question, dialogs
from kling_desktop.gui.close_question import CloseChoice, CloseQuestion
from kling_desktop.gui.desktop import open_folder
from kling_desktop.gui.drop_zone import VIDEO_PATTERNS
from kling_desktop.gui.spend import SpendRequest
from kling_desktop.jobs.duplicates import Duplicate
from kling_desktop.jobs.model import Job


class Interactions:
    """Every question the window asks and every call into the desktop, in one replaceable place.

    Tests pass a subclass that answers at once and records what was asked.
    """

    def __init__(self) -> None:
        #: For test harnesses and benchmarks only: answer the paid confirmation at once. The
        #: app never sets it; the user's opt-out is the ``auto_start`` setting.
        self.skip_spend_confirm = False

    def confirm_spend(self, parent: QWidget, request: SpendRequest) -> bool:
        """Add sound: the account, the clips, the paid jobs and the credits."""
        if self.skip_spend_confirm:
            return True
        return dialogs.spend_question(parent, request).ask() == "go"

    def confirm_resend(self, parent: QWidget, jobs: list[Job], request: SpendRequest) -> bool:
        """Send again (new paid job): a NEW paid Kling job for each of ``jobs``."""
        return dialogs.resend_question(parent, jobs, request).ask() == "send"

    def confirm_remove(self, parent: QWidget, jobs: list[Job]) -> bool:
        """Removing jobs Kling still runs, or finished history."""
        return dialogs.remove_question(parent, jobs).ask() == "remove"

    def confirm_duplicates(
        self, parent: QWidget, duplicates: list[Duplicate], *, auto_start: bool
    ) -> bool:
        """Clips added before: "Add it again anyway?"."""
        return dialogs.duplicates_question(parent, duplicates, auto_start=auto_start).ask() == "add"

    def confirm_stop_tracking(self, parent: QWidget, jobs: list[Job]) -> bool:
        return dialogs.stop_tracking_question(parent, jobs).ask() == "stop"

    def resolve_uncertain(self, parent: QWidget, job: Job, request: SpendRequest) -> bool | None:
        """True: send again (a new paid job); False: give up; None: decide later."""
        choice = dialogs.uncertain_question(parent, job, request).ask()
        if choice == "send":
            return True
        if choice == "give_up":
            return False
        return None

    def ask_close(self, parent: QWidget, question: CloseQuestion) -> CloseChoice:
        """Quit / keep working in the background / cancel, while Kling still works on clips."""
        return close_question.ask_close(parent, question)

    def choose_files(self, parent: QWidget, start: Path) -> list[Path]:
        patterns = " ".join(VIDEO_PATTERNS)
        names, _ = QFileDialog.getOpenFileNames(
            parent,
            parent.tr("Add clips"),
            str(start),
            parent.tr("Video clips (%1);;All files (*)").replace("%1", patterns),
        )
        return [Path(n) for n in names]

    def open_url(self, url: QUrl) -> bool:
        return QDesktopServices.openUrl(url)

    def reveal(self, path: Path) -> None:
        """Show ``path`` in the file manager, selected where the platform allows it."""
        if sys.platform == "win32":
            QProcess.startDetached("explorer.exe", [f"/select,{path}"])
        elif sys.platform == "darwin":
            QProcess.startDetached("open", ["-R", str(path)])
        elif not _reveal_freedesktop(path):
            open_folder(path.parent, None, opener=self.open_url)  # says so if nothing opens it


def _reveal_freedesktop(path: Path) -> bool:
    """``org.freedesktop.FileManager1.ShowItems``: most Linux file managers select the file."""
    try:
        from PySide6.QtDBus import QDBusConnection, QDBusInterface
    except ImportError:
        return False
    bus = QDBusConnection.sessionBus()
    if not bus.isConnected():
        return False
    iface = QDBusInterface(
        "org.freedesktop.FileManager1",
        "/org/freedesktop/FileManager1",
        "org.freedesktop.FileManager1",
        bus,
    )
    if not iface.isValid():
        return False
    reply = iface.call("ShowItems", [QUrl.fromLocalFile(str(path)).toString()], "")
    return not reply.errorMessage()
