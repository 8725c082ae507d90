"""The window's layout at the sizes people use (issue 11): 1024×700 and 1920×1080, one title,
columns wide enough for what they hold, exclusive view filters, readable demo settings."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialogButtonBox, QLabel, QRadioButton, QWidget
from pytestqt.qtbot import QtBot

from kling_desktop import APP_NAME
from kling_desktop.gui.job_table import Column, JobFilter
from kling_desktop.gui.job_texts import message_text
from kling_desktop.gui.main_window import MainWindow
from kling_desktop.gui.settings_dialog import SettingsDialog
from kling_desktop.jobs.model import Job, JobOptions, JobState
from kling_desktop.runner.engine import Progress
from kling_desktop.settings import Settings
from tests.gui.conftest import FakeWindowFactory

pytestmark = pytest.mark.qt_log_ignore(
    "QBackingStore::flush", "PulseAudioService", "No RHI backend", extend=True
)
EMAIL = "a.rather.long.account.name@example.com"


def _jobs() -> tuple[Job, ...]:
    def job(job_id: int, state: JobState, **fields: object) -> Job:
        return Job(
            id=job_id,
            input_path=Path(f"/clips/clip-number-{job_id}.mp4"),
            state=state,
            options=JobOptions(email=EMAIL),
            duration_s=12.5,
            **fields,  # type: ignore[arg-type]
        )

    return (
        job(1, JobState.PROCESSING, task_id=1, submitted_at=time.time() - 754),
        job(2, JobState.QUEUED),
        job(3, JobState.DONE, output_path=Path("/videos/clip-number-3.sound.mp4"),
            warnings="640×360 is smaller than 720p."),
        job(4, JobState.READY, warnings="640×360 is smaller than 720p."),
    )  # fmt: skip


def _at(qtbot: QtBot, window: MainWindow, width: int, height: int) -> None:
    window.resize(width, height)
    qtbot.waitUntil(lambda: window.width() == width)
    qtbot.wait(50)  # the split follows the new size on the next turn of the event loop


def test_one_title(fake_window: FakeWindowFactory) -> None:
    window, _ = fake_window()
    assert window.windowTitle() == APP_NAME
    demo, _ = fake_window()
    demo.context.demo = object()  # type: ignore[assignment]
    assert MainWindow.is_demo.fget(demo)  # type: ignore[attr-defined]
    # Qt adds the display name to a title that does not end with it: the demo's ends with it.
    title = demo.tr("Demo — %1").replace("%1", APP_NAME)
    assert title.endswith(APP_NAME) and title.count(APP_NAME) == 1


def test_the_status_column_fits_its_clock_and_its_countdown(
    fake_window: FakeWindowFactory,
) -> None:
    window, runner = fake_window(_jobs())
    runner.set_progress(2, Progress(None, "Upload interrupted", None, time.time() + 59.4))
    status = window.model.index(1, Column.STATE).data()
    assert status == "Upload interrupted · next try in 59 s"
    assert window.model.index(0, Column.STATE).data().startswith("Adding sound · 12:3")
    header = window.table.horizontalHeader()
    metrics = window.table.fontMetrics()
    for text in (status, "Adding sound · 12:34"):
        assert header.sectionSize(Column.STATE) >= metrics.horizontalAdvance(text) + 16


def test_the_length_header_keeps_room_for_the_sort_arrow(
    qtbot: QtBot, fake_window: FakeWindowFactory
) -> None:
    window, _ = fake_window(_jobs())
    header = window.table.horizontalHeader()
    needed = header.fontMetrics().horizontalAdvance("Length") + 12
    assert header.minimumSectionSize() > needed
    header.resizeSection(Column.DURATION, 10)  # dragged as narrow as it goes
    assert header.sectionSize(Column.DURATION) >= header.minimumSectionSize()
    window.table.sortByColumn(Column.DURATION, Qt.SortOrder.AscendingOrder)
    assert header.sortIndicatorSection() == Column.DURATION


def test_at_1024_by_700_nothing_hides_behind_a_scroll_bar(
    qtbot: QtBot, fake_window: FakeWindowFactory
) -> None:
    window, _ = fake_window(_jobs())
    window.select_job(3)
    _at(qtbot, window, 1024, 700)
    qtbot.waitUntil(lambda: window.table.horizontalScrollBar().maximum() == 0)
    assert not window.table.horizontalScrollBar().isVisible()
    header = window.table.horizontalHeader()
    viewport = window.table.viewport().width()
    # Status is whole; the selected row's details are under the list, whole too.
    state_right = header.sectionViewportPosition(Column.STATE) + header.sectionSize(Column.STATE)
    assert state_right <= viewport
    assert "Saved as /videos/clip-number-3.sound.mp4" in window.details.text()
    details = window.details
    assert details.isVisible()
    assert details.heightForWidth(details.width()) <= details.height()  # every line shows
    assert header.sectionSize(Column.NAME) >= window.table.fontMetrics().averageCharWidth() * 12
    assert window.preview.width() >= 280


def test_at_1920_by_1080_the_preview_grows_and_the_account_is_whole(
    qtbot: QtBot, fake_window: FakeWindowFactory
) -> None:
    window, _ = fake_window(_jobs())
    _at(qtbot, window, 1024, 700)
    narrow = window.preview.width()
    _at(qtbot, window, 1920, 1080)
    qtbot.waitUntil(lambda: window.preview.width() > narrow + 250)
    assert window.preview.width() >= 560
    header = window.table.horizontalHeader()
    assert header.sectionSize(Column.ACCOUNT) >= window.table.fontMetrics().horizontalAdvance(EMAIL)
    assert not header.isSectionHidden(Column.MESSAGE)  # the Details column is back
    assert window.table.horizontalScrollBar().maximum() == 0


def test_a_finished_row_says_where_its_result_is(fake_window: FakeWindowFactory) -> None:
    window, _ = fake_window(_jobs())
    done = window.model.job(3)
    assert done is not None
    assert message_text(done) == "Saved as /videos/clip-number-3.sound.mp4"
    assert "720p" not in window.model.index(2, Column.MESSAGE).data()
    window.select_job(3)
    assert "720p" not in window.details.text()
    ready = window.model.job(4)
    assert ready is not None and "720p" in message_text(ready)  # before sending, it matters


def test_the_details_line_counts_down_with_the_row(
    qtbot: QtBot, fake_window: FakeWindowFactory
) -> None:
    window, runner = fake_window(_jobs())
    window.select_job(2)
    runner.set_progress(2, Progress(None, "Upload interrupted", None, time.time() + 30.4))
    qtbot.waitUntil(lambda: "next try in 30 s" in window.details.text(), timeout=2000)
    qtbot.waitUntil(lambda: "next try in 29 s" in window.details.text(), timeout=2500)


def test_view_filters_are_one_choice(qtbot: QtBot, fake_window: FakeWindowFactory) -> None:
    window, _ = fake_window(_jobs())
    buttons = window.filter_bar.buttons
    assert all(isinstance(b, QRadioButton) for b in buttons.values())
    assert window.filter_bar.group.exclusive() and window.acts.filter_action_group.isExclusive()
    buttons[JobFilter.DONE].click()
    assert window.proxy.job_filter is JobFilter.DONE
    assert [f for f, b in buttons.items() if b.isChecked()] == [JobFilter.DONE]
    assert [f for f, a in window.acts.filter_actions.items() if a.isChecked()] == [JobFilter.DONE]
    QTest.keyClick(window, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    assert [f for f, b in buttons.items() if b.isChecked()] == [JobFilter.FAILED]
    # The arrow keys move the choice, as in any radio group.
    buttons[JobFilter.FAILED].setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(buttons[JobFilter.FAILED], Qt.Key.Key_Left)
    qtbot.keyClick(buttons[JobFilter.DONE], Qt.Key.Key_Space)
    assert window.proxy.job_filter is JobFilter.DONE


def test_the_demo_settings_are_shown_greyed_with_the_reason(
    qtbot: QtBot, fake_window: FakeWindowFactory
) -> None:
    window, _ = fake_window()
    window.context.demo = object()  # type: ignore[assignment]
    demo_results = str(Path.home() / "Videos" / "Kling Desktop demo")
    window.settings.output_folder = demo_results
    window.open_settings()
    dialog = window.tools.settings_dialog
    assert isinstance(dialog, SettingsDialog) and dialog.read_only
    assert dialog.read_only_note.isVisible()
    assert "“Kling Desktop demo” folder" in dialog.read_only_note.text()
    assert "Leave the demo" in dialog.read_only_note.text()
    assert not dialog.auto_start.isEnabled() and not dialog.api_url.isEnabled()
    assert not dialog.folder_edit.isEnabled()
    assert dialog.folder_edit.text() == demo_results  # readable
    assert dialog.buttons.standardButtons() == QDialogButtonBox.StandardButton.Close
    dialog.buttons.button(QDialogButtonBox.StandardButton.Close).click()
    assert not dialog.isVisible()


def test_the_real_settings_stay_editable() -> None:
    dialog = SettingsDialog(Settings())
    assert not dialog.read_only and not dialog.read_only_note.isVisibleTo(dialog)
    assert dialog.auto_start.isEnabled()
    labels = [w for w in dialog.findChildren(QLabel) if w.isEnabled()]
    assert labels
    dialog.deleteLater()


def test_quiet_lines_are_not_disabled_text(fake_window: FakeWindowFactory) -> None:
    """A disabled label's grey is too faint to read; quiet lines use the placeholder grey."""
    window, _ = fake_window(token=None)
    quiet = [
        w
        for w in window.findChildren(QWidget)
        if isinstance(w, QLabel) and w.isVisibleTo(window) and not w.isEnabled()
    ]
    assert quiet == []
