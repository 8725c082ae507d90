"""Closing while Kling works (quit, background, cancel), the tray, and desktop notifications
over a real D-Bus session bus."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QMainWindow, QPushButton, QSystemTrayIcon, QWidget
from pytestqt.qtbot import QtBot

from kling_desktop.gui.background import Background, progress_text
from kling_desktop.gui.close_question import (
    AT_KLING,
    CloseChoice,
    CloseQuestion,
    ask_close,
    background_label,
    close_question,
    question_text,
    quit_label,
)
from kling_desktop.gui.desktop_notify import DesktopNotifications
from kling_desktop.jobs.model import Job, JobState

#: What the offscreen platform says about windows and tray icons it cannot really show.
OFFSCREEN_TRAY = ("does not support raise", "systemTrayWindowChanged")


def _job(job_id: int, state: JobState) -> Job:
    return Job(id=job_id, input_path=Path(f"/clips/clip{job_id}.mp4"), state=state)


class Runner(QObject):
    job_changed = Signal(object)
    job_progress = Signal(int, object)

    def __init__(self, *states: JobState) -> None:
        super().__init__()
        self.list = [_job(i, s) for i, s in enumerate(states, start=1)]

    def jobs(self) -> list[Job]:
        return list(self.list)

    def move(self, job_id: int, state: JobState) -> None:
        self.list = [j.replace(state=state) if j.id == job_id else j for j in self.list]
        self.job_changed.emit(next(j for j in self.list if j.id == job_id))


class Answer:
    """The close question, answered at once and recorded."""

    def __init__(self, choice: CloseChoice) -> None:
        self.choice = choice
        self.asked: list[CloseQuestion] = []

    def __call__(self, parent: QWidget, question: CloseQuestion) -> CloseChoice:
        self.asked.append(question)
        return self.choice


class Window(QMainWindow):
    """A main window whose closeEvent asks the background first, like the app's."""

    def __init__(self) -> None:
        super().__init__()
        self.background: Background | None = None
        self.closed_for_good = False
        self.quits: list[None] = []  # what the tray's Quit asked of the application

    def closeEvent(self, event: Any) -> None:
        if self.background is not None and not self.background.may_close():
            event.ignore()
            return
        self.closed_for_good = True
        event.accept()


def _window(
    qtbot: QtBot, runner: Runner, answer: Answer, *, tray: bool
) -> tuple[Window, Background]:
    window = Window()
    qtbot.addWidget(window)
    background = Background(
        window,
        runner,
        ask=answer,
        tray_available=lambda: tray,
        quit_app=lambda: window.quits.append(None),
    )
    window.background = background
    window.show()
    qtbot.waitExposed(window)
    return window, background


# -- the question -------------------------------------------------------------------------------


def test_only_jobs_at_kling_make_closing_ask() -> None:
    assert close_question([_job(1, JobState.READY), _job(2, JobState.DONE)], tray=True) is None
    question = close_question(
        [_job(i, s) for i, s in enumerate([*AT_KLING, JobState.FAILED, JobState.READY])],
        tray=False,
    )
    assert question == CloseQuestion(at_kling=len(AT_KLING), uploads=1, tray=False)
    assert {
        JobState.SUBMITTING,
        JobState.PROCESSING,
        JobState.DOWNLOADING,
        JobState.WAITING_SLOT,
        JobState.QUEUED,
        JobState.UPLOADING,
    } == AT_KLING


def test_the_question_says_what_each_choice_does() -> None:
    head, text = question_text(CloseQuestion(at_kling=2, uploads=1, tray=True))
    assert head.startswith("Kling is still working on 2 clip")
    assert "next time you open it" in text
    assert "start again from the beginning" in text
    assert "system tray" in text
    _head, text = question_text(CloseQuestion(at_kling=1, uploads=0, tray=False))
    assert "no system tray" in text and "minimised" in text
    assert "start again" not in text
    assert quit_label() == "Quit (jobs keep running at Kling and resume next time)"
    assert background_label(True) == "Keep working in the background"
    assert "minimised" in background_label(False)


@pytest.mark.parametrize(
    ("label", "choice"),
    [
        ("Quit (jobs keep running at Kling and resume next time)", CloseChoice.QUIT),
        ("Keep working in the background", CloseChoice.BACKGROUND),
        ("Cancel", CloseChoice.CANCEL),
    ],
)
def test_the_real_question_has_three_named_buttons(
    qtbot: QtBot, label: str, choice: CloseChoice
) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    parent = QWidget()
    qtbot.addWidget(parent)
    seen: list[list[str]] = []

    def press() -> None:
        box = next(w for w in QApplication.topLevelWidgets() if w.objectName() == "closeQuestion")
        assert isinstance(box, QMessageBox)
        buttons = [b.text() for b in box.buttons()]
        seen.append(buttons)
        next(b for b in box.buttons() if b.text().replace("&", "") == label).click()

    QTimer.singleShot(0, press)
    assert ask_close(parent, CloseQuestion(at_kling=2, uploads=0, tray=True)) is choice
    assert sorted(t.replace("&", "") for t in seen[0]) == sorted(
        [quit_label(), background_label(True), "Cancel"]
    )


def test_escape_cancels_the_question(qtbot: QtBot) -> None:
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    parent = QWidget()
    qtbot.addWidget(parent)

    def escape() -> None:
        box = next(w for w in QApplication.topLevelWidgets() if w.objectName() == "closeQuestion")
        default = [b for b in box.findChildren(QPushButton) if b.isDefault()]
        assert [b.text() for b in default] == [background_label(False)]  # Enter keeps working
        QTest.keyClick(box, Qt.Key.Key_Escape)

    QTimer.singleShot(0, escape)
    assert ask_close(parent, CloseQuestion(1, 0, tray=False)) is CloseChoice.CANCEL


# -- closing ------------------------------------------------------------------------------------


def test_nothing_at_kling_closes_without_asking(qtbot: QtBot) -> None:
    answer = Answer(CloseChoice.CANCEL)
    window, _background = _window(qtbot, Runner(JobState.DONE, JobState.READY), answer, tray=True)
    assert window.close()
    assert window.closed_for_good and answer.asked == []


def test_quit_closes_and_leaves_the_jobs_to_kling(qtbot: QtBot) -> None:
    answer = Answer(CloseChoice.QUIT)
    window, background = _window(
        qtbot, Runner(JobState.PROCESSING, JobState.UPLOADING), answer, tray=True
    )
    assert window.close()
    assert answer.asked == [CloseQuestion(at_kling=2, uploads=1, tray=True)]
    assert window.closed_for_good and not background.in_background


def test_cancel_keeps_the_window(qtbot: QtBot) -> None:
    answer = Answer(CloseChoice.CANCEL)
    window, background = _window(qtbot, Runner(JobState.WAITING_SLOT), answer, tray=True)
    assert not window.close()
    assert window.isVisible() and not window.closed_for_good and not background.in_background


@pytest.mark.qt_log_ignore(*OFFSCREEN_TRAY, extend=True)
def test_background_with_a_tray_hides_the_window_and_the_tray_brings_it_back(
    qtbot: QtBot,
) -> None:
    runner = Runner(JobState.PROCESSING, JobState.DONE)
    window, background = _window(qtbot, runner, Answer(CloseChoice.BACKGROUND), tray=True)
    assert not window.close()
    qtbot.waitUntil(lambda: background.in_background and not window.isVisible())
    tray = background.tray
    assert isinstance(tray, QSystemTrayIcon)
    assert tray.toolTip() == "Kling Desktop — 1 clip at Kling · 1 done"
    menu = tray.contextMenu()
    assert menu is not None
    assert [a.text() for a in menu.actions() if not a.isSeparator()] == [
        "&Open Kling Desktop",
        quit_label(),
    ]
    # Progress shows in the tooltip as the jobs move.
    runner.move(1, JobState.DONE)
    qtbot.waitUntil(lambda: tray.toolTip() == "Kling Desktop — Nothing at Kling now · 2 done")
    assert not window.closed_for_good
    # A click on the icon opens the window again, and the icon goes.
    tray.activated.emit(QSystemTrayIcon.ActivationReason.Trigger)
    qtbot.waitUntil(window.isVisible)
    assert not background.in_background and background.tray is None


@pytest.mark.qt_log_ignore(*OFFSCREEN_TRAY, extend=True)
def test_the_tray_menu_quits_for_good_without_asking_again(qtbot: QtBot) -> None:
    answer = Answer(CloseChoice.BACKGROUND)
    window, background = _window(qtbot, Runner(JobState.PROCESSING), answer, tray=True)
    window.close()
    qtbot.waitUntil(lambda: background.in_background)
    background.quit()
    assert window.closed_for_good and len(answer.asked) == 1
    assert window.quits == [None]  # and the application ends (its window was hidden)


@pytest.mark.qt_log_ignore(*OFFSCREEN_TRAY, extend=True)
def test_background_without_a_tray_minimises(qtbot: QtBot) -> None:
    answer = Answer(CloseChoice.BACKGROUND)
    window, background = _window(qtbot, Runner(JobState.DOWNLOADING), answer, tray=False)
    assert not window.close()
    assert answer.asked[0].tray is False
    qtbot.waitUntil(window.isMinimized)
    assert background.in_background and background.tray is None and not window.closed_for_good
    background.restore()
    qtbot.waitUntil(lambda: not window.isMinimized())


def test_progress_text_counts_what_matters() -> None:
    jobs = [_job(1, JobState.PROCESSING), _job(2, JobState.QUEUED), _job(3, JobState.FAILED)]
    assert progress_text(jobs) == "Kling Desktop — 2 clips at Kling · 1 failed or waiting for you"


# -- desktop notifications over a real session bus -----------------------------------------------

NOTIFY_SIGNATURE = "susssasa{sv}i"


@pytest.fixture
def session_bus() -> Iterator[str]:
    """A private D-Bus session bus (dbus-daemon), its address."""
    daemon = shutil.which("dbus-daemon")
    if daemon is None:
        pytest.skip("dbus-daemon is not installed (apt-get install dbus-daemon)")
    process = subprocess.Popen(
        [daemon, "--session", "--nofork", "--nopidfile", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    address = process.stdout.readline().strip()
    try:
        assert address.startswith("unix:"), address
        yield address
    finally:
        process.terminate()
        process.wait(5)
        process.stdout.close()


class FakeNotifications(QObject):
    """A notification server on its own bus connection: records each Notify call."""

    def __init__(self, address: str, name: str) -> None:
        super().__init__()
        from PySide6.QtDBus import QDBusConnection, QDBusVirtualObject

        self.calls: list[tuple[str, list[Any]]] = []
        self.bus = QDBusConnection.connectToBus(address, name)
        assert self.bus.isConnected()
        calls = self.calls

        class Server(QDBusVirtualObject):
            def introspect(self, path: str) -> str:
                return ""  # like GNOME's: a{sv} comes with no Qt type annotation

            def handleMessage(self, message: Any, connection: Any) -> bool:
                if message.member() != "Notify":
                    return False
                calls.append((message.signature(), list(message.arguments())))
                connection.send(message.createReply([42]))
                return True

        self.server = Server(self)
        assert self.bus.registerVirtualObject("/org/freedesktop/Notifications", self.server)
        assert self.bus.registerService("org.freedesktop.Notifications")


def _connect(address: str, name: str) -> Any:
    from PySide6.QtDBus import QDBusConnection

    bus = QDBusConnection.connectToBus(address, name)
    assert bus.isConnected()
    return bus


def test_the_batch_message_reaches_the_notification_service(qtbot: QtBot, session_bus: str) -> None:
    fake = FakeNotifications(session_bus, "fake-notifications")
    notifications = DesktopNotifications(_connect(session_bus, "app-1"))
    failed: list[str] = []
    try:
        with qtbot.waitSignal(notifications.delivered, timeout=10_000) as blocker:
            assert notifications.notify(
                "2 clips finished with sound", "a.mp4, b.mp4", on_failed=failed.append
            )
        assert blocker.args == ["2 clips finished with sound", ""]
        assert failed == []
        assert len(fake.calls) == 1
        signature, arguments = fake.calls[0]
        assert signature == NOTIFY_SIGNATURE  # replaces_id a uint32, the spec's types
        app, replaces, icon, summary, body, _actions, _hints, timeout = arguments
        assert (app, replaces, icon, timeout) == ("Kling Desktop", 0, "kling-desktop", -1)
        assert (summary, body) == ("2 clips finished with sound", "a.mp4, b.mp4")
        # Urgent for failures.
        with qtbot.waitSignal(notifications.delivered, timeout=10_000):
            notifications.notify("1 clip needs your attention", "c.mp4", urgent=True)
        assert fake.calls[1][1][3] == "1 clip needs your attention"
    finally:
        notifications.close()


def test_without_a_notification_service_the_caller_falls_back(
    qtbot: QtBot, session_bus: str
) -> None:
    notifications = DesktopNotifications(_connect(session_bus, "app-2"), timeout_ms=2000)
    failed: list[str] = []
    try:
        with qtbot.waitSignal(notifications.delivered, timeout=10_000) as blocker:
            assert notifications.notify("Done", "", on_failed=failed.append)
        assert blocker.args[1] and failed == [blocker.args[1]]  # the reason, to the fallback
    finally:
        notifications.close()


def test_no_bus_at_all_says_so_at_once(qtbot: QtBot) -> None:
    from PySide6.QtDBus import QDBusConnection

    nowhere = QDBusConnection.connectToBus("unix:path=/nonexistent/bus", "nowhere")
    notifications = DesktopNotifications(nowhere)
    assert notifications.notify("Done", "") is False
    notifications.close()


def test_the_end_of_batch_message_goes_to_the_desktop_service(
    qtbot: QtBot, session_bus: str
) -> None:
    from kling_desktop.gui.notify import MessageBar, Notifier
    from kling_desktop.runner.engine import BatchSummary

    fake = FakeNotifications(session_bus, "fake-notifications-2")
    bar = MessageBar()
    qtbot.addWidget(bar)
    desktop = DesktopNotifications(_connect(session_bus, "app-3"))
    notifier = Notifier(bar, use_tray=False, desktop=desktop)
    try:
        with qtbot.waitSignal(desktop.delivered, timeout=10_000):
            notifier.batch_finished(BatchSummary(done=[_job(1, JobState.DONE)], failed=[]))
        assert [args[3:5] for _sig, args in fake.calls] == [
            ["1 clip finished with sound", "clip1.mp4"]
        ]
        assert bar.text.startswith("1 clip finished with sound")  # and in the window, always
    finally:
        notifier.close()


class RefusingDesktop:
    """A notification service that is not there: says so at once, or later."""

    def __init__(self, at_once: bool) -> None:
        self.at_once = at_once
        self.sent: list[str] = []

    def notify(self, summary: str, body: str, *, urgent: bool = False, on_failed: Any) -> bool:
        self.sent.append(summary)
        if self.at_once:
            return False
        on_failed("org.freedesktop.DBus.Error.ServiceUnknown")
        return True

    def close(self) -> None:
        pass


@pytest.mark.parametrize("at_once", [True, False])
def test_without_the_service_the_message_stays_in_the_window(qtbot: QtBot, at_once: bool) -> None:
    from kling_desktop.gui.notify import MessageBar, Notifier
    from kling_desktop.runner.engine import BatchSummary

    bar = MessageBar()
    qtbot.addWidget(bar)
    desktop = RefusingDesktop(at_once)
    notifier = Notifier(bar, use_tray=False, desktop=desktop)  # type: ignore[arg-type]
    notifier.batch_finished(BatchSummary(done=[], failed=[_job(2, JobState.FAILED)]))
    assert desktop.sent and desktop.sent[0].startswith("1 clip")
    assert "clip2.mp4" in bar.text  # the in-window message, whatever the desktop did


def test_the_demo_says_quitting_starts_it_afresh() -> None:
    """The demo clears its list next time: its close question must not promise a resume."""
    working = Job(id=1, input_path=Path("/c.mp4"), state=JobState.PROCESSING)
    question = close_question([working], tray=True, demo=True)
    assert question is not None
    _head, text = question_text(question)
    assert "starts afresh" in text and "picks them up" not in text
    assert quit_label(demo=True) == "Quit (the demo starts afresh next time)"
