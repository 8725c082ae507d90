"""Actions, filters, notifications and layout memory, over a runner the test drives exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from kling_desktop.cli.parser import WINDOW, parse
from kling_desktop.gui.close_question import AT_KLING, CloseChoice
from kling_desktop.gui.job_table import Column, JobFilter
from kling_desktop.gui.job_texts import status_text
from kling_desktop.gui.notify import Level
from kling_desktop.jobs.model import Job, JobOptions, JobState
from kling_desktop.runner.engine import BatchSummary, Progress
from tests.gui.conftest import AnsweringInteractions, FakeWindowFactory

pytestmark = pytest.mark.qt_log_ignore(
    "QBackingStore::flush", "PulseAudioService", "No RHI backend", extend=True
)


def _job(job_id: int, state: JobState, **fields: object) -> Job:
    return Job(
        id=job_id,
        input_path=Path(f"/clips/clip{job_id}.mp4"),
        state=state,
        options=JobOptions(email="demo@example.com"),
        duration_s=4.0,
        **fields,  # type: ignore[arg-type]
    )


ONE_OF_EACH = (
    _job(1, JobState.READY),
    _job(2, JobState.PROCESSING, task_id=7, submitted_at=1000.0),
    _job(3, JobState.DONE, result_url="https://cdn.example/r.mp4", output_path=Path("/r.mp4")),
    # A refused submit: nothing charged, its confirmed request is still to send (free Retry).
    _job(4, JobState.FAILED, error_message="Kling refused the clip.", confirmed_requests=1),
    _job(5, JobState.UNCERTAIN, error_message="No answer to the submit."),
    _job(6, JobState.UPLOADING),
)


def _select(window, job_id: int) -> None:  # type: ignore[no-untyped-def]
    window.select_job(job_id)
    assert [j.id for j in window.selected_jobs()] == [job_id]


def test_the_filter_shows_all_active_done_and_failed(fake_window: FakeWindowFactory) -> None:
    window, _ = fake_window(ONE_OF_EACH)
    assert window.proxy.rowCount() == 6
    expected = {JobFilter.ACTIVE: 3, JobFilter.DONE: 1, JobFilter.FAILED: 2, JobFilter.ALL: 6}
    for job_filter, rows in expected.items():
        window.acts.filter_actions[job_filter].trigger()
        assert window.proxy.rowCount() == rows, job_filter
        assert window.acts.filter_actions[job_filter].isChecked()
    QTest.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert window.proxy.job_filter is JobFilter.DONE


def test_actions_follow_the_selected_jobs_state(fake_window: FakeWindowFactory) -> None:
    window, _ = fake_window(ONE_OF_EACH)
    enabled = {
        1: {"preview", "reveal", "remove"},
        2: {"preview", "reveal", "stop", "remove"},
        3: {"preview", "reveal", "remove", "copy"},
        4: {"preview", "reveal", "remove", "retry"},
        5: {"preview", "reveal", "remove", "resolve", "resubmit"},
        6: {"preview", "reveal", "remove", "cancel"},
    }
    actions = {
        "preview": window.acts.preview_action,
        "reveal": window.acts.reveal_action,
        "copy": window.acts.copy_link_action,
        "retry": window.acts.retry_action,
        "resubmit": window.acts.resubmit_action,
        "stop": window.acts.stop_action,
        "resolve": window.acts.resolve_action,
        "cancel": window.acts.cancel_action,
        "remove": window.acts.remove_action,
    }
    for job_id, names in enabled.items():
        _select(window, job_id)
        on = {name for name, action in actions.items() if action.isEnabled()}
        assert on == names, job_id
    assert window.acts.retry_all_action.isEnabled()
    assert "Kling still runs and charges it" in window.acts.stop_action.text()


def test_each_action_reaches_the_runner(
    fake_window: FakeWindowFactory, interactions: AnsweringInteractions
) -> None:
    window, runner = fake_window(ONE_OF_EACH)
    _select(window, 2)
    window.acts.stop_action.trigger()
    assert ("stop", [2]) in interactions.asked and ("stop_tracking", 2) in runner.calls
    _select(window, 4)
    QTest.keyClick(window, Qt.Key.Key_R, Qt.KeyboardModifier.ControlModifier)
    assert ("retry", 4) in runner.calls
    window.acts.retry_all_action.trigger()
    assert ("retry_all_failed", None) in runner.calls
    _select(window, 5)
    window.acts.resolve_action.trigger()
    assert ("resolve_uncertain", (5, True)) in runner.calls
    _select(window, 3)
    QTest.keyClick(
        window,
        Qt.Key.Key_C,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert QGuiApplication.clipboard().text() == "https://cdn.example/r.mp4"
    window.acts.reveal_action.trigger()
    assert interactions.asked[-1] == ("reveal", Path("/clips/clip3.mp4"))  # result not on disk
    window.table.setFocus()
    QTest.keyClick(window.table, Qt.Key.Key_Delete)
    assert ("remove", 3) in runner.calls
    assert window.model.row_of(3) == -1


def test_a_declined_stop_keeps_tracking(
    fake_window: FakeWindowFactory, interactions: AnsweringInteractions
) -> None:
    window, runner = fake_window(ONE_OF_EACH)
    interactions.stop_answer = False
    _select(window, 2)
    window.acts.stop_action.trigger()
    assert not [c for c in runner.calls if c[0] == "stop_tracking"]


def test_add_sound_asks_with_the_count_and_starts_only_ready_clips(
    qtbot: QtBot, fake_window: FakeWindowFactory, interactions: AnsweringInteractions
) -> None:
    window, runner = fake_window((*ONE_OF_EACH, _job(7, JobState.READY)))
    assert window.options.add_sound_button.text() == "Add sound to 2 clips"
    window.options.add_sound_button.click()
    assert interactions.asked == [("spend", 2)]
    assert ("start", [1, 7]) in runner.calls
    # The actions follow the runner's news within REFRESH_INTERVAL_MS.
    qtbot.waitUntil(lambda: not window.options.add_sound_button.isEnabled())


def test_options_go_with_the_dropped_clips(
    qtbot: QtBot, fake_window: FakeWindowFactory, clip: Path
) -> None:
    window, runner = fake_window()
    qtbot.waitUntil(lambda: window.account_combo.isEnabled())
    assert window.account_combo.currentData() == "demo@example.com"
    window.account_combo.setCurrentIndex(1)
    window.settings.keep_original_sound = True  # Settings → New clips
    window.add_paths([clip])
    qtbot.waitUntil(lambda: window.model.rowCount() == 1)
    _, (paths, options, start) = runner.calls[0]
    assert paths == [clip] and start is False
    assert options.email == "b@example.com" and options.keep_original_sound


def test_add_clips_dialog_queues_the_chosen_files(
    qtbot: QtBot,
    fake_window: FakeWindowFactory,
    interactions: AnsweringInteractions,
    clip: Path,
) -> None:
    window, _ = fake_window()
    interactions.files_to_choose = [clip]
    QTest.keyClick(window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.model.rowCount() == 1)


def test_progress_and_elapsed_time_show_in_the_state_column(
    fake_window: FakeWindowFactory,
) -> None:
    window, runner = fake_window(ONE_OF_EACH)
    runner.set_progress(6, Progress(0.42, "Uploading 42 %"))
    index = window.model.index(window.model.row_of(6), Column.STATE)
    assert index.data() == "Uploading 42 %"
    job = runner.job(2)
    assert job is not None
    assert status_text(job, Progress(None, "Adding sound", 1000.0), now=1042.0) == (
        "Adding sound · 0:42"
    )
    assert status_text(job, Progress(), now=1000.0 + 3725) == "Adding sound · 1:02:05"


def test_one_summary_per_batch_failures_first(fake_window: FakeWindowFactory) -> None:
    window, runner = fake_window(ONE_OF_EACH)
    done, failed = runner.job(3), runner.job(4)
    assert done is not None and failed is not None
    runner.finish_batch(BatchSummary(done=[done], failed=[failed]))
    assert window.message_bar.isVisible() and window.message_bar.level is Level.ERROR
    text = window.message_bar.text
    assert text.startswith("1 clip needs your attention")  # the verb agrees (Qt plurals)
    assert text.index("Kling refused the clip.") < text.index("1 clip finished with sound")


def test_closing_with_clips_at_kling_asks_and_can_be_cancelled_or_sent_to_the_background(
    fake_window: FakeWindowFactory, interactions: AnsweringInteractions, qtbot: QtBot
) -> None:
    window, runner = fake_window(ONE_OF_EACH)
    at_kling = sum(1 for job in runner.jobs() if job.state in AT_KLING)
    assert at_kling >= 1
    interactions.close_choice = CloseChoice.CANCEL
    assert not window.close()
    assert interactions.asked == [("close", at_kling)]
    assert window.isVisible()
    interactions.close_choice = CloseChoice.BACKGROUND
    assert not window.close()  # it works on without its window (no tray here: minimised)
    qtbot.waitUntil(lambda: window.background.in_background)
    interactions.close_choice = CloseChoice.QUIT
    assert window.close()


def test_without_a_token_the_first_run_panel_offers_setup_and_demo(
    fake_window: FakeWindowFactory,
) -> None:
    window, _ = fake_window(token=None)
    assert window.stack.currentWidget() is window.welcome
    assert window.welcome.set_up_button.isVisible() and window.welcome.demo_button.isVisible()
    assert window.status.account_label.text() == "No token"


def test_the_window_remembers_its_geometry_and_columns(fake_window: FakeWindowFactory) -> None:
    window, _ = fake_window(ONE_OF_EACH)
    window.resize(780, 520)  # the offscreen screen is 800 px wide
    size = window.size()
    window.table.horizontalHeader().resizeSection(Column.STATE, 333)
    window.table.horizontalHeader().moveSection(Column.ACCOUNT, Column.NAME)
    assert window.close()
    again, _ = fake_window(ONE_OF_EACH)
    assert again.size() == size
    assert again.table.horizontalHeader().sectionSize(Column.STATE) == 333
    assert again.table.horizontalHeader().visualIndex(Column.ACCOUNT) == Column.NAME


def test_command_line_takes_demo_and_files() -> None:
    args, qt_args = parse(["--demo", "a.mp4", "folder", "-platform", "offscreen"])
    assert args.command == WINDOW and args.demo is True
    assert [str(p) for p in args.files] == ["a.mp4", "folder"]
    assert qt_args == ["-platform", "offscreen"]  # Qt's own options pass through
    assert parse([])[0].demo is False


def test_help_opens_the_log_folder(
    fake_window: FakeWindowFactory, interactions: AnsweringInteractions
) -> None:
    from kling_desktop.paths import app_paths

    window, _ = fake_window()
    window.acts.log_folder_action.trigger()
    assert interactions.asked[-1] == ("open_url", str(app_paths().log_dir))


def test_every_action_has_a_shortcut_or_a_menu(fake_window: FakeWindowFactory) -> None:
    window, _ = fake_window()
    in_menus = {a for menu in window.menuBar().findChildren(QMenu) for a in menu.actions()}
    for action in window.actions():
        assert action in in_menus, action.text()
    a = window.acts
    keyed = [a.add_clips_action, a.add_sound_action, a.retry_action, a.copy_link_action,
             a.remove_action, a.settings_action, a.accounts_action, a.stop_action,
             a.resolve_action]  # fmt: skip
    assert all(not a.shortcut().isEmpty() for a in keyed)
