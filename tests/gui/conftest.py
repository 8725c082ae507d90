"""Window fixtures: an answering :class:`Interactions`, drop helpers and window factories."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from kling_desktop.accounts.vault import Vault
from kling_desktop.api.client import KlingClient
from kling_desktop.api.models import Account, Balance
from kling_desktop.context import ClientSource
from kling_desktop.gui import plurals
from kling_desktop.gui.close_question import CloseChoice, CloseQuestion
from kling_desktop.gui.launch import AppContext, build_context, ui_state_for
from kling_desktop.gui.main_window import Interactions, MainWindow
from kling_desktop.gui.spend import SpendRequest
from kling_desktop.jobs.duplicates import Duplicate
from kling_desktop.jobs.model import Job
from kling_desktop.jobs.store import JobStore
from kling_desktop.paths import app_paths
from kling_desktop.runner.engine import JobRunner
from kling_desktop.settings import Settings
from kling_desktop.simulator import DEMO_TOKEN, Simulator
from tests.gui.fakes import FakeRunner


class StubClient:
    """Answers ``list_accounts`` and ``get_account`` from memory (the fake-runner tests need
    no server)."""

    def __init__(self, accounts: list[Account]) -> None:
        self.accounts = accounts

    def list_accounts(self) -> list[Account]:
        return list(self.accounts)

    def get_account(self, email: str) -> Account:
        return next(a for a in self.accounts if a.email == email)

    def close(self) -> None:
        pass


class StubClientSource(ClientSource):
    def __init__(self, token: str | None) -> None:
        super().__init__("http://127.0.0.1:9/v1/kling", token)
        self.accounts = [
            Account("demo@example.com", max_jobs=3, balance=Balance(total=56_000)),
            Account("b@example.com"),
        ]

    def factory(self) -> KlingClient | None:
        return StubClient(self.accounts) if self.has_token else None  # type: ignore[return-value]


class AnsweringInteractions(Interactions):
    """Answers every question at once and records it; never opens the desktop."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[tuple[str, object]] = []
        #: What each paid confirmation showed (add sound, send again, resolve).
        self.requests: list[SpendRequest] = []
        self.duplicates: list[list[Duplicate]] = []
        self.spend_answer = True
        self.resend_answer = True
        self.remove_answer = True
        self.duplicates_answer = True
        self.stop_answer = True
        self.resolve_answer: bool | None = True
        self.close_choice = CloseChoice.QUIT
        self.files_to_choose: list[Path] = []

    def confirm_spend(self, parent: QWidget, request: SpendRequest) -> bool:
        self.asked.append(("spend", request.paid_jobs))
        self.requests.append(request)
        return self.spend_answer

    def confirm_resend(self, parent: QWidget, jobs: list[Job], request: SpendRequest) -> bool:
        self.asked.append(("resend", [j.id for j in jobs]))
        self.requests.append(request)
        return self.resend_answer

    def confirm_remove(self, parent: QWidget, jobs: list[Job]) -> bool:
        self.asked.append(("remove", [j.id for j in jobs]))
        return self.remove_answer

    def confirm_duplicates(
        self, parent: QWidget, duplicates: list[Duplicate], *, auto_start: bool
    ) -> bool:
        self.asked.append(("duplicates", [d.path.name for d in duplicates]))
        self.duplicates.append(list(duplicates))
        return self.duplicates_answer

    def confirm_stop_tracking(self, parent: QWidget, jobs: list[Job]) -> bool:
        self.asked.append(("stop", [j.id for j in jobs]))
        return self.stop_answer

    def resolve_uncertain(self, parent: QWidget, job: Job, request: SpendRequest) -> bool | None:
        self.asked.append(("resolve", job.id))
        self.requests.append(request)
        return self.resolve_answer

    def ask_close(self, parent: QWidget, question: CloseQuestion) -> CloseChoice:
        self.asked.append(("close", question.at_kling))
        return self.close_choice

    def choose_files(self, parent: QWidget, start: Path) -> list[Path]:
        self.asked.append(("choose", start))
        return list(self.files_to_choose)

    def open_url(self, url: QUrl) -> bool:
        self.asked.append(("open_url", url.toLocalFile() or url.toString()))
        return True

    def reveal(self, path: Path) -> None:
        self.asked.append(("reveal", path))


@pytest.fixture
def interactions() -> AnsweringInteractions:
    return AnsweringInteractions()


@pytest.fixture(autouse=True)
def english_plurals(qapp: QApplication) -> None:
    """The app's English plural forms, as ``make_application`` installs them."""
    plurals.install(qapp)


FakeWindowFactory = Callable[..., tuple[MainWindow, FakeRunner]]


@pytest.fixture
def fake_window(qtbot: QtBot, interactions: AnsweringInteractions) -> Iterator[FakeWindowFactory]:
    """``fake_window(jobs=(), token="t")``: a window over a :class:`FakeRunner`."""
    stores: list[JobStore] = []

    def make(
        jobs: tuple[Job, ...] = (), token: str | None = "user:1-test", demo: bool = False
    ) -> tuple[MainWindow, FakeRunner]:
        paths = app_paths().ensure()
        runner = FakeRunner(jobs)
        store = JobStore(paths.database)
        stores.append(store)
        context = AppContext(
            paths=paths,
            settings=Settings(),
            settings_file=paths.settings_file,
            vault=Vault(),
            client_source=StubClientSource(token),
            store=store,
            runner=runner,  # type: ignore[arg-type]
            ui_state=ui_state_for(paths),
        )
        window = MainWindow(context, interactions=interactions)
        qtbot.addWidget(window)
        window.show()
        window.activateWindow()  # keyboard shortcuts need the active window
        qtbot.waitUntil(window.isActiveWindow)
        return window, runner

    yield make
    for store in stores:
        store.close()


def urls_mime(*urls: QUrl) -> QMimeData:
    mime = QMimeData()
    mime.setUrls(list(urls))
    return mime


def files_mime(*paths: Path) -> QMimeData:
    return urls_mime(*(QUrl.fromLocalFile(str(p)) for p in paths))


def drop_on(widget: QWidget, mime: QMimeData) -> tuple[bool, bool]:
    """Drag ``mime`` over ``widget`` and drop it, as a file manager would.

    Returns whether the enter and the drop were accepted.
    """
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    actions = Qt.DropAction.CopyAction | Qt.DropAction.MoveAction
    buttons, modifiers = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    try:
        enter = QDragEnterEvent(pos, actions, mime, buttons, modifiers)
    except TypeError:  # PySide6 6.11 (used on Python 3.11) only has the QPoint form
        enter = QDragEnterEvent(pos.toPoint(), actions, mime, buttons, modifiers)
    QApplication.sendEvent(widget, enter)
    drop = QDropEvent(pos, actions, mime, buttons, modifiers)
    QApplication.sendEvent(widget, drop)
    assert drop.dropAction() in (Qt.DropAction.CopyAction, Qt.DropAction.IgnoreAction)
    return enter.isAccepted(), drop.isAccepted()


RealWindowFactory = Callable[..., tuple[MainWindow, AppContext]]


def fast_settings() -> Settings:
    """The simulator's tasks end in half a second: poll often (below the UI's own minimum)."""
    settings = Settings()
    settings.poll_interval_s = 0.2
    settings.first_poll_delay_s = 0.1
    return settings


@pytest.fixture
def real_window(
    qtbot: QtBot, simulator: Simulator, interactions: AnsweringInteractions
) -> Iterator[RealWindowFactory]:
    """``real_window()``: the real runner and store, talking HTTP to the simulator fixture.

    Call it again (after closing the first) for a restart on the same database.
    """
    contexts: list[AppContext] = []

    def make(
        *, transfer_backoff_s: float | None = None, **overrides: object
    ) -> tuple[MainWindow, AppContext]:
        options: dict[str, object] = {
            "base_url": simulator.url,
            "token": DEMO_TOKEN,
            "settings": fast_settings(),
        }
        options.update(overrides)
        context = build_context(demo=False, vault=Vault(), **options)  # type: ignore[arg-type]
        if transfer_backoff_s is not None:
            # Failed transfers retry after this long (the app's 2 s, doubling, is slow for tests).
            context.runner.shutdown()
            context.runner = JobRunner(
                context.store,
                context.client_source.factory,
                context.settings,
                transfer_backoff_s=transfer_backoff_s,
            )
        contexts.append(context)
        window = MainWindow(context, interactions=interactions)
        window.closed.connect(context.close)
        qtbot.addWidget(window)
        window.show()
        context.runner.resume()
        return window, context

    yield make
    for context in contexts:
        with contextlib.suppress(Exception):  # closed already by the test
            context.runner.shutdown()
        with contextlib.suppress(Exception):
            context.store.close()
