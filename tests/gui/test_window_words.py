"""What the window says (issue 11): sentences that agree with the facts and with each other,
counts that agree in number, and technical detail only behind "Details"."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication
from pytestqt.qtbot import QtBot

from kling_desktop.accounts.vault import Vault
from kling_desktop.api import errors
from kling_desktop.api.models import Account
from kling_desktop.gui import dialogs, plurals
from kling_desktop.gui.account_forms import user_message
from kling_desktop.gui.launch import Launcher
from kling_desktop.gui.main_window import MainWindow
from kling_desktop.gui.notify import summary_text
from kling_desktop.jobs.model import Job, JobState
from kling_desktop.media import rules
from kling_desktop.media.check import check_clip
from kling_desktop.runner.engine import BatchSummary, Progress
from kling_desktop.simulator import DEMO_TOKEN, Simulator
from tests.fixtures.media import ClipFactory
from tests.gui.conftest import (
    AnsweringInteractions,
    FakeWindowFactory,
    RealWindowFactory,
    StubClientSource,
    drop_on,
    fast_settings,
    files_mime,
)

pytestmark = pytest.mark.qt_log_ignore(
    "QBackingStore::flush", "PulseAudioService", "No RHI backend", extend=True
)
TIMEOUT_MS = 20_000
GUI = Path(__file__).resolve().parents[2] / "kling_desktop" / "gui"


# -- counts ---------------------------------------------------------------------------------


def _counted_texts() -> list[str]:
    """Every numerus text in the window's code: a literal with %n passed to tr/translate."""
    found = []
    for source in sorted(GUI.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            name = getattr(getattr(node, "func", None), "attr", "")
            name = name or getattr(getattr(node, "func", None), "id", "")
            if not isinstance(node, ast.Call) or name not in ("tr", "translate"):
                continue
            found.extend(
                arg.value
                for arg in node.args
                if isinstance(arg, ast.Constant)
                and isinstance(arg.value, str)
                and ("%n" in arg.value or "%Ln" in arg.value)
            )
    return found


def test_every_count_reads_right_for_one_and_for_many() -> None:
    texts = _counted_texts()
    assert len(texts) > 30  # the notices, the dialogs, the status bar, the accounts pane
    for text in texts:
        for n in (1, 2):
            english = plurals.english(text, n)
            assert "(s)" not in english, (text, n)
    assert plurals.english("%n clip(s) need your attention", 1) == "%n clip needs your attention"
    assert plurals.english("%n need(s) attention", 2) == "%n need attention"


def test_no_count_is_pasted_into_a_sentence_with_replace() -> None:
    """Qt's plural form (tr(…, n)) instead of "%1 clips" pasted in: translators can give each
    language its own forms."""
    for source in GUI.glob("*.py"):
        text = source.read_text(encoding="utf-8")
        assert 'replace("%1", count_clips(' not in text, source.name
        assert '"%1 clips"' not in text and "account(s)" not in text.replace(
            "Kling account(s).", ""
        ), source.name


def test_summaries_agree_in_number() -> None:
    one = Job(id=1, input_path=Path("/c/a.mp4"), state=JobState.FAILED, error_message="No.")
    two = [one, Job(id=2, input_path=Path("/c/b.mp4"), state=JobState.FAILED)]
    done = [Job(id=3, input_path=Path("/c/c.mp4"), state=JobState.DONE)]
    assert summary_text(BatchSummary(done=done, failed=[one]))[0] == ("1 clip needs your attention")
    assert summary_text(BatchSummary(done=[], failed=two))[0] == "2 clips need your attention"
    assert summary_text(BatchSummary(done=done, failed=[]))[0] == "1 clip finished with sound"


def test_dialog_counts_agree_in_number() -> None:
    jobs = [Job(id=i, input_path=Path(f"/c/{i}.mp4"), state=JobState.DONE) for i in (1, 2)]
    assert dialogs.remove_question(None, jobs[:1]).buttons["remove"].text() == "Remove from list"
    assert dialogs.remove_question(None, jobs).buttons["remove"].text() == "Remove 2 jobs"
    stop = dialogs.stop_tracking_question(None, jobs[:1])
    assert stop.body.text().startswith("Kling keeps running the job and still charges for it")
    assert {b.text() for b in stop.buttons.values()} == {"Cancel", "Stop tracking"}


def test_the_status_bar_counts_agree_in_number(fake_window: FakeWindowFactory) -> None:
    jobs = (
        Job(id=1, input_path=Path("/c/a.mp4"), state=JobState.FAILED),
        Job(id=2, input_path=Path("/c/b.mp4"), state=JobState.READY),
    )
    window, runner = fake_window(jobs)
    assert window.status.counts_label.text() == "1 ready · 1 needs attention"
    runner.set_state(2, JobState.FAILED)
    window._refresh_all()
    assert window.status.counts_label.text() == "2 need attention"


# -- sentences, not request names -----------------------------------------------------------


def test_a_network_failure_is_a_sentence_and_its_request_a_detail() -> None:
    exc = errors.NetworkError("GET /accounts: ConnectionError")
    assert str(exc) == (
        "Could not reach the Kling service. Check the internet connection; the app keeps trying."
    )
    assert "GET /accounts: ConnectionError" in exc.details
    late = errors.Timeout("POST /videos/add-sound: no answer in time")
    assert "POST" not in str(late) and "POST /videos/add-sound" in late.details
    said = errors.error_for_status(500, {"error": "Internal fault"})
    assert "“Internal fault”" in str(said)  # the service's own words are still quoted
    assert said.details == "Internal fault · HTTP 500"


def test_a_cut_short_clip_is_told_without_its_box_offsets(clip_factory: ClipFactory) -> None:
    clip = clip_factory("cut.mp4", 4.0)
    data = clip.read_bytes()
    clip.write_bytes(data[: len(data) * 2 // 3])
    verdict = check_clip(clip)
    assert not verdict.ok
    message = verdict.blocking[0].message
    assert message == rules.INCOMPLETE_MESSAGE
    assert "byte" not in message and "box" not in message and "'" not in message


def test_the_accounts_pane_never_sends_you_to_the_accounts_pane() -> None:
    for exc in (errors.Unauthorized("bad token"), errors.AccountError("session expired")):
        text = user_message(exc)
        assert "Accounts" not in text, text
    assert "user:" in user_message(errors.Unauthorized())


def test_account_listing_trouble_is_a_sentence_with_details(
    qtbot: QtBot, fake_window: FakeWindowFactory
) -> None:
    class Unreachable:
        def list_accounts(self) -> list[Account]:
            raise errors.NetworkError("GET /accounts: ConnectionError")

        def close(self) -> None:
            pass

    window, _runner = fake_window()
    source = window.context.client_source
    assert isinstance(source, StubClientSource)
    source.factory = lambda: Unreachable()  # type: ignore[assignment, return-value, method-assign]
    window.session.refresh_accounts()
    bar = window.message_bar
    qtbot.waitUntil(bar.isVisible)
    assert bar.text.startswith("Your Kling accounts could not be listed. Could not reach")
    assert "GET" not in bar.text and "ConnectionError" not in bar.text
    assert bar.details_button.isVisible() and not bar.details_button.isChecked()
    bar.details_button.click()
    assert "GET /accounts: ConnectionError" in bar.details


# -- the token: said as it is -------------------------------------------------------------------


def test_the_demo_says_saved_only_when_the_token_was_written(
    fake_window: FakeWindowFactory,
) -> None:
    window, _runner = fake_window()
    window.context.demo = object()  # type: ignore[assignment]  # as in the demo
    window.session.token_changed("session")
    assert "saved" not in window.message_bar.text
    assert "nothing was written" in window.message_bar.text
    window.session.token_changed("saved")
    assert window.message_bar.text == "Your token is saved. Leave the demo to use it."
    window.session.token_changed("removed")
    assert not window.message_bar.isVisible()


def test_the_banner_follows_the_token(
    qtbot: QtBot, fake_window: FakeWindowFactory, tmp_path: Path
) -> None:
    ready = Job(id=1, input_path=tmp_path / "a.mp4", state=JobState.READY)
    window, runner = fake_window((ready,), token=None)
    window.commands.add_sound()
    assert window.message_bar.text == "Set up your useapi.net token first."
    window.session.token_loaded("user:1-now-set")
    assert not window.message_bar.isVisible()

    # The runner's own "no token" sentence, shown before the token came, goes too.
    window.context.client_source.set_token(None)
    runner.connection_changed.emit(False, "No useapi.net API token is set up.")
    window.message_bar.show_message(
        "1 clip needs your attention: a.mp4 — No useapi.net API "
        "token is set up. Open Accounts to add one."
    )
    assert window.status.connection_label.text() == ""  # not "Offline": the account says "No token"
    window.session.token_loaded("user:1-now-set")
    assert not window.message_bar.isVisible()
    assert window.status.connection_label.text() == ""  # unknown until the runner asks again


def test_online_follows_the_latest_request(fake_window: FakeWindowFactory, tmp_path: Path) -> None:
    jobs = (
        Job(id=1, input_path=tmp_path / "a.mp4", state=JobState.PROCESSING, task_id=5),
        Job(id=2, input_path=tmp_path / "b.mp4", state=JobState.QUEUED),
    )
    window, runner = fake_window(jobs)
    runner.connection_changed.emit(False, str(errors.NetworkError("GET /tasks/5: ReadError")))
    assert window.status.connection_label.text() == "Offline"
    runner.set_state(2, JobState.UPLOADING)
    runner.set_progress(2, Progress(0.4, ""))  # bytes are going out: the last request works
    assert window.status.connection_label.text() == "Connected"
    runner.set_progress(1, Progress(None, "Connection problem"))
    assert window.status.connection_label.text() == "Offline"
    runner.set_state(1, JobState.DOWNLOADING)  # a poll said it is done
    assert window.status.connection_label.text() == "Connected"
    runner.connection_changed.emit(False, str(errors.Unauthorized()))
    assert window.status.connection_label.text() == "Token not accepted"


# -- the same no-token situation, the same state, across restarts (real runner) ---------------


def _states(window: MainWindow) -> list[JobState]:
    return [j.state for j in window.model.jobs()]


def _restart_without_a_token(
    qtbot: QtBot, simulator: Simulator, interactions: AnsweringInteractions
) -> tuple[Launcher, MainWindow]:
    launcher = Launcher(Vault(), interactions=interactions)
    window = launcher.open(demo=False, base_url=simulator.url, settings=fast_settings())
    qtbot.waitUntil(lambda: not window.session.token_pending, timeout=TIMEOUT_MS)
    assert not window.context.client_source.has_token
    return launcher, window


def test_a_clip_waiting_for_a_token_still_waits_after_a_restart_without_one(
    qtbot: QtBot,
    real_window: RealWindowFactory,
    clip_factory: ClipFactory,
    simulator: Simulator,
    interactions: AnsweringInteractions,
) -> None:
    window, _context = real_window()
    drop_on(window, files_mime(clip_factory("wait.mp4", 4.0)))
    qtbot.waitUntil(lambda: _states(window) == [JobState.READY], timeout=TIMEOUT_MS)
    simulator.scenario.bad_token = True  # the token stops working
    window.commands.add_sound()
    job_id = window.model.jobs()[0].id
    qtbot.waitUntil(
        lambda: window.model.index(0, 4).data() == "Waiting for a working API token",
        timeout=TIMEOUT_MS,
    )
    assert _states(window) == [JobState.QUEUED]
    with qtbot.waitSignal(window.closed):
        window.close()

    simulator.scenario.bad_token = False
    _launcher, again = _restart_without_a_token(qtbot, simulator, interactions)
    try:
        qtbot.wait(1500)  # the resumed runner has had its chance to get it wrong
        assert _states(again) == [JobState.QUEUED]
        assert again.model.index(0, 4).data() == "Waiting for a working API token"
        again.session.token_loaded(DEMO_TOKEN)  # what saving one in Accounts leads to
        qtbot.waitUntil(lambda: _states(again) == [JobState.DONE], timeout=TIMEOUT_MS)
        assert simulator.submit_count == 1
        assert again.runner.job(job_id) is not None
    finally:
        with qtbot.waitSignal(again.closed):
            again.close()


def test_a_clip_waiting_for_a_slot_comes_back_waiting_and_resumes_with_the_token(
    qtbot: QtBot,
    real_window: RealWindowFactory,
    clip_factory: ClipFactory,
    simulator: Simulator,
    interactions: AnsweringInteractions,
) -> None:
    window, _context = real_window()
    drop_on(window, files_mime(clip_factory("slot.mp4", 4.0)))
    qtbot.waitUntil(lambda: _states(window) == [JobState.READY], timeout=TIMEOUT_MS)
    simulator.scenario.submit_429 = 1_000  # every slot busy
    window.commands.add_sound()
    qtbot.waitUntil(lambda: _states(window) == [JobState.WAITING_SLOT], timeout=TIMEOUT_MS)
    with qtbot.waitSignal(window.closed):
        window.close()

    simulator.scenario.submit_429 = 0  # a slot is free now
    _launcher, again = _restart_without_a_token(qtbot, simulator, interactions)
    try:
        qtbot.wait(1500)
        assert _states(again) == [JobState.WAITING_SLOT]  # not "Failed"
        again.session.token_loaded(DEMO_TOKEN)
        qtbot.waitUntil(lambda: _states(again) == [JobState.DONE], timeout=TIMEOUT_MS)
        assert simulator.submit_count == 1  # the 429s created nothing; one paid job
    finally:
        with qtbot.waitSignal(again.closed):
            again.close()


def test_translations_go_through_qt(qtbot: QtBot) -> None:
    """The English forms come from a translator: another language's, installed later, wins."""
    assert QCoreApplication.translate("Notify", "%n clip(s)", "", 3) == "3 clips"
    assert QCoreApplication.translate("Notify", "plain text") == "plain text"
