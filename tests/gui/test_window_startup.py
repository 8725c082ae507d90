"""Starting the window: the token is read off the GUI thread, the preview pane comes later.

DESIGN §4.3: the GUI thread never waits on the keyring. Until the vault answers, the window
shows neither the welcome panel nor "No token"; clips added meanwhile wait; the runner resumes
only once the client source has the answer.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from kling_desktop.accounts.vault import Vault
from kling_desktop.gui.launch import AppContext, Launcher, ui_state_for
from kling_desktop.gui.main_window import MainWindow
from kling_desktop.jobs.model import JobState
from kling_desktop.jobs.store import JobStore
from kling_desktop.paths import app_paths
from kling_desktop.settings import Settings
from kling_desktop.simulator import DEMO_TOKEN, Simulator
from tests.fixtures.media import ClipFactory
from tests.gui.conftest import (
    AnsweringInteractions,
    RealWindowFactory,
    StubClientSource,
    drop_on,
    fast_settings,
    files_mime,
)
from tests.gui.fakes import FakeRunner

pytestmark = pytest.mark.qt_log_ignore(
    "QBackingStore::flush", "PulseAudioService", "No RHI backend", extend=True
)
TIMEOUT_MS = 20_000


class GatedVault(Vault):
    """``token()`` blocks until the test opens the gate, like a keyring behind an unlock prompt."""

    def __init__(self, token: str | None) -> None:
        super().__init__()
        self.answer = token
        self.gate = threading.Event()
        self.threads: list[threading.Thread] = []

    def token(self, *args: object, **kwargs: object) -> str | None:  # type: ignore[override]
        self.threads.append(threading.current_thread())
        self.gate.wait(10)
        return self.answer


@pytest.fixture
def pending_window(
    qtbot: QtBot, interactions: AnsweringInteractions
) -> Iterator[tuple[MainWindow, FakeRunner, GatedVault]]:
    """A window whose token is still being read, over a :class:`FakeRunner`."""
    paths = app_paths().ensure()
    runner = FakeRunner()
    store = JobStore(paths.database)
    vault = GatedVault(None)
    context = AppContext(
        paths=paths,
        settings=Settings(),
        settings_file=paths.settings_file,
        vault=vault,
        client_source=StubClientSource(None),
        store=store,
        runner=runner,  # type: ignore[arg-type]
        ui_state=ui_state_for(paths),
        token_pending=True,
    )
    window = MainWindow(context, interactions=interactions)
    qtbot.addWidget(window)
    window.show()
    yield window, runner, vault
    vault.gate.set()
    store.close()


def test_no_welcome_and_no_no_token_until_the_vault_answers(
    qtbot: QtBot, pending_window: tuple[MainWindow, FakeRunner, GatedVault]
) -> None:
    window, runner, vault = pending_window
    resumed: list[str] = []
    window.load_token(on_loaded=lambda: resumed.append("resume"))
    qtbot.wait(50)
    assert window.stack.currentWidget() is window.loading_page
    assert window.status.account_label.text() == ""
    assert window.account_combo.currentText() == "Loading accounts…"
    assert not resumed and ("client_changed", None) not in runner.calls
    qtbot.waitUntil(lambda: bool(vault.threads))  # started once the window has painted
    assert vault.threads[0] is not threading.main_thread()

    vault.gate.set()  # no token anywhere
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.welcome)
    assert window.status.account_label.text() == "No token"
    assert resumed == ["resume"]
    assert ("client_changed", None) in runner.calls


def test_clips_added_while_the_token_loads_wait_for_the_accounts(
    qtbot: QtBot, pending_window: tuple[MainWindow, FakeRunner, GatedVault], tmp_path: Path
) -> None:
    window, runner, vault = pending_window
    vault.answer = "user:1-test"
    clip = tmp_path / "a.mp4"
    clip.write_bytes(b"not checked by the fake runner")
    window.load_token(on_loaded=runner.resume)
    window.add_paths([clip])
    qtbot.wait(200)  # the folder expansion came back; the clip waits
    assert not [c for c in runner.calls if c[0] == "add_files"]

    vault.gate.set()
    qtbot.waitUntil(lambda: [c for c in runner.calls if c[0] == "add_files"] != [])
    assert window.stack.currentWidget() is window.jobs_page
    assert window.account_combo.isEnabled()
    (_, (paths, options, _start)) = next(c for c in runner.calls if c[0] == "add_files")
    assert paths == [clip] and options.email == "demo@example.com"
    assert runner.calls.index(("resume", None)) < runner.calls.index(("client_changed", None))


def test_closing_before_the_token_arrives_resumes_nothing(
    qtbot: QtBot, pending_window: tuple[MainWindow, FakeRunner, GatedVault]
) -> None:
    window, runner, vault = pending_window
    resumed: list[str] = []
    window.load_token(on_loaded=lambda: resumed.append("resume"))
    qtbot.waitUntil(lambda: bool(vault.threads))  # the read is under way (after the paint)
    assert window.close()
    vault.gate.set()
    qtbot.wait(200)
    assert resumed == [] and ("client_changed", None) not in runner.calls


def test_a_token_set_in_accounts_meanwhile_wins_over_the_slow_read(
    qtbot: QtBot, pending_window: tuple[MainWindow, FakeRunner, GatedVault]
) -> None:
    window, _runner, vault = pending_window
    resumed: list[str] = []
    window.load_token(on_loaded=lambda: resumed.append("resume"))
    qtbot.waitUntil(lambda: bool(vault.threads))  # the first read hangs (an unlock prompt)
    window.session.token_loaded("user:1-new")  # what the accounts pane's "token saved" leads to
    assert resumed == ["resume"]
    assert window.context.client_source.has_token
    qtbot.waitUntil(window.account_combo.isEnabled)
    vault.gate.set()  # the old read finally answers "none": too late, ignored
    qtbot.wait(200)
    assert resumed == ["resume"]
    assert window.context.client_source.has_token
    assert window.stack.currentWidget() is window.jobs_page


def test_the_preview_pane_is_built_after_the_first_paint(
    qtbot: QtBot, pending_window: tuple[MainWindow, FakeRunner, GatedVault]
) -> None:
    from kling_desktop.gui.preview import PreviewPane

    window, _runner, _vault = pending_window
    qtbot.waitUntil(lambda: window.jobs_page.preview_built_yet)
    assert isinstance(window.preview, PreviewPane)
    # Beside the list: the preview, above the sound options.
    side = window.jobs_page.side
    assert window.splitter.widget(1) is side and window.splitter.count() == 2
    assert side.widget(0) is window.preview and side.count() == 2


def test_the_preview_pane_is_built_on_first_use_before_any_paint(
    qtbot: QtBot, interactions: AnsweringInteractions
) -> None:
    paths = app_paths().ensure()
    store = JobStore(paths.database)
    context = AppContext(
        paths=paths,
        settings=Settings(),
        settings_file=paths.settings_file,
        vault=Vault(),
        client_source=StubClientSource("user:1-test"),
        store=store,
        runner=FakeRunner(),  # type: ignore[arg-type]
        ui_state=ui_state_for(paths),
    )
    try:
        window = MainWindow(context, interactions=interactions)
        qtbot.addWidget(window)
        assert not window.jobs_page.preview_built_yet
        pane = window.preview
        side = window.jobs_page.side
        assert window.splitter.widget(1) is side and side.widget(0) is pane and side.count() == 2
        assert window.preview is pane
    finally:
        store.close()


def test_a_restarted_window_resumes_once_the_token_is_read(
    qtbot: QtBot,
    real_window: RealWindowFactory,
    clip_factory: ClipFactory,
    simulator: Simulator,
    interactions: AnsweringInteractions,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    simulator.scenario.task_seconds = 3.0
    window, _context = real_window()
    drop_on(window, files_mime(clip_factory("long.mp4", 4.0)))
    qtbot.waitUntil(lambda: _states(window) == [JobState.READY], timeout=TIMEOUT_MS)
    window.commands.add_sound()
    qtbot.waitUntil(lambda: _states(window) == [JobState.PROCESSING], timeout=TIMEOUT_MS)
    with qtbot.waitSignal(window.closed):
        window.close()

    # The real start: the launcher builds the stack without a token and reads it afterwards.
    monkeypatch.setenv("KLING_DESKTOP_TOKEN", DEMO_TOKEN)
    launcher = Launcher(Vault(), interactions=interactions)
    again = launcher.open(demo=False, base_url=simulator.url, settings=fast_settings())
    try:
        assert launcher.context is not None and launcher.context.token_pending
        qtbot.waitUntil(lambda: _states(again) == [JobState.DONE], timeout=TIMEOUT_MS)
        assert simulator.submit_count == 1  # resumed by polling, never resubmitted
        assert again.status.connection_label.text() == "Connected"
    finally:
        with qtbot.waitSignal(again.closed):
            again.close()


def _states(window: MainWindow) -> list[JobState]:
    return [j.state for j in window.model.jobs()]


def test_importing_the_window_leaves_the_slow_modules_for_later() -> None:
    """What the first paint does not need stays unimported (docs/performance.md, item 1)."""
    import subprocess
    import sys

    slow = ("keyring", "kling_desktop.gui.demo", "kling_desktop.simulator", "PySide6.QtMultimedia")
    code = (
        "import sys, kling_desktop.gui.launch\n"
        f"print(' '.join(m for m in {slow!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == ""


def test_the_launcher_vault_is_made_on_first_use() -> None:
    from kling_desktop.gui.launch import _VaultOnFirstUse

    vault = _VaultOnFirstUse()
    assert vault._vault is None
    assert vault.token() is None  # the in-memory test keyring is empty
    assert isinstance(vault._vault, Vault)


def test_runner_news_is_coalesced_into_one_refresh(
    qtbot: QtBot, interactions: AnsweringInteractions
) -> None:
    """A burst of job changes and progress costs one refresh; the rows still update at once."""
    from kling_desktop.gui.job_table import Column
    from kling_desktop.gui.main_window import REFRESH_INTERVAL_MS
    from kling_desktop.jobs.model import Job
    from kling_desktop.runner.engine import Progress

    paths = app_paths().ensure()
    store = JobStore(paths.database)
    jobs = tuple(
        Job(id=i, input_path=Path(f"/clips/{i}.mp4"), state=JobState.READY) for i in range(1, 21)
    )
    runner = FakeRunner(jobs)
    context = AppContext(
        paths=paths,
        settings=Settings(),
        settings_file=paths.settings_file,
        vault=Vault(),
        client_source=StubClientSource("user:1-test"),
        store=store,
        runner=runner,  # type: ignore[arg-type]
        ui_state=ui_state_for(paths),
    )
    try:
        window = MainWindow(context, interactions=interactions)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitUntil(lambda: window.options.add_sound_button.text() == "Add sound to 20 clips")
        refreshes: list[int] = []
        original = window._refresh_all
        window._refresh_all = lambda: (refreshes.append(1), original())  # type: ignore[method-assign]
        for job in jobs:
            runner.set_state(job.id, JobState.UPLOADING)
            for percent in range(0, 100, 10):
                runner.set_progress(job.id, Progress(percent / 100, "Uploading"))
        # The table row is current at once...
        assert window.model.index(0, Column.STATE).data().startswith("Uploading")
        assert refreshes == []
        # ...the actions and counts follow once, within the interval.
        qtbot.waitUntil(lambda: not window.options.add_sound_button.isEnabled())
        qtbot.wait(REFRESH_INTERVAL_MS * 3)
        assert len(refreshes) == 1
        assert window.status.counts_label.text() == "20 in progress"
    finally:
        store.close()
