"""The window with the keyboard only (issue 11): Tab walks it in reading order, the list keeps
neither Tab nor Enter to itself, and a clip can be added, started and heard without a mouse."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QAccessible, QColor, QPalette
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QLabel,
    QPushButton,
    QToolButton,
    QWidget,
)
from pytestqt.qtbot import QtBot

from kling_desktop.gui.main_window import Interactions, MainWindow
from kling_desktop.gui.spend import SpendRequest
from kling_desktop.jobs.model import Job, JobOptions, JobState
from kling_desktop.simulator import Simulator
from tests.fixtures.media import ClipFactory
from tests.gui.conftest import AnsweringInteractions, FakeWindowFactory, RealWindowFactory

pytestmark = pytest.mark.qt_log_ignore(
    "QBackingStore::flush", "PulseAudioService", "No RHI backend", extend=True
)
TIMEOUT_MS = 20_000


def _focused() -> QWidget | None:
    return QApplication.focusWidget()


def _tab(qtbot: QtBot, *, backwards: bool = False) -> QWidget | None:
    widget = _focused()
    assert widget is not None
    if backwards:
        qtbot.keyClick(widget, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    else:
        qtbot.keyClick(widget, Qt.Key.Key_Tab)
    return _focused()


def _done_job(clip_factory: ClipFactory, job_id: int = 1, **fields: object) -> Job:
    original = clip_factory(f"clip{job_id}.mp4", 3.0)
    result = clip_factory(f"clip{job_id}.sound.mp4", 3.0, audio=True)
    return Job(
        id=job_id,
        input_path=original,
        state=JobState.DONE,
        output_path=result,
        options=JobOptions(email="demo@example.com"),
        duration_s=3.0,
        **fields,  # type: ignore[arg-type]
    )


def _window_with_a_result(
    qtbot: QtBot, fake_window: FakeWindowFactory, clip_factory: ClipFactory
) -> tuple[MainWindow, Job]:
    done = _done_job(clip_factory)
    ready = Job(id=2, input_path=clip_factory("next.mp4", 3.0), state=JobState.READY)
    window, _runner = fake_window(jobs=(done, ready))
    qtbot.waitUntil(window.account_combo.isEnabled)
    window.select_job(done.id)
    qtbot.waitUntil(lambda: window.preview.player.loaded, timeout=5000)
    return window, done


def test_tab_walks_drop_zone_options_list_preview_then_row_actions(
    qtbot: QtBot, fake_window: FakeWindowFactory, clip_factory: ClipFactory
) -> None:
    window, _done = _window_with_a_result(qtbot, fake_window, clip_factory)
    pane = window.preview
    window.drop_zone.setFocus(Qt.FocusReason.TabFocusReason)
    order = [_focused()]
    for _ in range(24):
        order.append(_tab(qtbot))
        if order[-1] is order[0]:
            break
    expected = [
        window.drop_zone,
        window.account_combo,
        window.options.add_clips_button,
        window.options.add_sound_button,
        window.filter_bar.buttons[next(iter(window.filter_bar.buttons))],  # "All", the one chosen
        window.table,
        pane.result_button,  # the version on show
        pane.play_button,
        pane.seek_slider,
        pane.mute_button,
        pane.volume_slider,
        *(b for b in window.jobs_page.row_buttons.buttons if b.isVisible() and b.isEnabled()),
    ]
    assert [w for w in order[:-1] if w in expected] == expected
    # The list keeps no Tab to itself: from it, Tab goes to the preview, Shift+Tab back.
    window.table.setFocus(Qt.FocusReason.TabFocusReason)
    assert _tab(qtbot) is pane.result_button
    assert _tab(qtbot, backwards=True) is window.table
    assert not window.table.tabKeyNavigation()


def test_enter_plays_the_result_and_space_pauses_and_plays(
    qtbot: QtBot, fake_window: FakeWindowFactory, clip_factory: ClipFactory
) -> None:
    window, done = _window_with_a_result(qtbot, fake_window, clip_factory)
    player = window.preview.player
    window.table.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(window.table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: player.playing, timeout=5000)
    assert player.source == done.output_path  # the result, with its sound
    assert window.table.hasFocus()  # Enter played it; the focus stays in the list
    qtbot.keyClick(window.table, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not player.playing, timeout=3000)
    qtbot.keyClick(window.table, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: player.playing, timeout=3000)
    assert window.selected_jobs() == [done]  # Space played; it did not change the selection


def test_enter_plays_the_original_of_a_clip_without_a_result(
    qtbot: QtBot, fake_window: FakeWindowFactory, clip_factory: ClipFactory
) -> None:
    window, _done = _window_with_a_result(qtbot, fake_window, clip_factory)
    window.select_job(2)
    window.table.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(window.table, Qt.Key.Key_Enter, Qt.KeyboardModifier.KeypadModifier)
    player = window.preview.player
    qtbot.waitUntil(lambda: player.playing, timeout=5000)
    assert player.source is not None and player.source.name == "next.mp4"


def test_the_play_button_plays_too(
    qtbot: QtBot, fake_window: FakeWindowFactory, clip_factory: ClipFactory
) -> None:
    window, done = _window_with_a_result(qtbot, fake_window, clip_factory)
    window.acts.preview_action.trigger()
    qtbot.waitUntil(lambda: window.preview.player.playing, timeout=5000)
    assert window.preview.player.source == done.output_path


def test_home_and_end_go_to_the_first_and_last_job(
    qtbot: QtBot, fake_window: FakeWindowFactory, clip_factory: ClipFactory
) -> None:
    jobs = [
        Job(id=i, input_path=clip_factory(f"clip{i}.mp4", 3.0), state=JobState.READY)
        for i in (1, 2, 3)
    ]
    window, _runner = fake_window(jobs=jobs)
    window.select_job(2)
    window.table.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(window.table, Qt.Key.Key_End)
    assert [j.id for j in window.selected_jobs()] == [3]
    qtbot.keyClick(window.table, Qt.Key.Key_Home)
    assert [j.id for j in window.selected_jobs()] == [1]
    qtbot.keyClick(window.table, Qt.Key.Key_End, Qt.KeyboardModifier.ShiftModifier)
    assert [j.id for j in window.selected_jobs()] == [1, 2, 3]  # Shift+End selects to the end


def _mnemonic(text: str) -> str | None:
    """The letter after a single ``&`` (``&&`` is a plain ampersand)."""
    at = text.replace("&&", "").find("&")
    return text.replace("&&", "")[at + 1].lower() if at >= 0 else None


def test_each_alt_letter_of_the_window_leads_to_one_place(
    qtbot: QtBot, fake_window: FakeWindowFactory, clip_factory: ClipFactory
) -> None:
    window, _done = _window_with_a_result(qtbot, fake_window, clip_factory)
    window.select_job(2)  # a ready clip: every sound option is on show
    owners: dict[str, list[str]] = {}
    for action in window.menuBar().actions():
        if (letter := _mnemonic(action.text())) is not None:
            owners.setdefault(letter, []).append(f"menu {action.text()}")
    for widget in window.findChildren(QWidget):
        if not widget.isVisibleTo(window):
            continue
        # Labels lead to their buddy; tool buttons show their action's text without it.
        labelled = isinstance(widget, QLabel) and widget.buddy() is not None
        button = isinstance(widget, QAbstractButton) and not isinstance(widget, QToolButton)
        text = widget.text() if labelled or button else ""  # type: ignore[attr-defined]
        if (letter := _mnemonic(text)) is not None:
            owners.setdefault(letter, []).append(text)
    assert {k: v for k, v in owners.items() if len(v) > 1} == {}
    assert len(owners) >= 15  # the menus and the options do have their letters


def test_a_sound_option_the_keyboard_reaches_is_scrolled_into_view(
    qtbot: QtBot, fake_window: FakeWindowFactory, clip_factory: ClipFactory
) -> None:
    window, _done = _window_with_a_result(qtbot, fake_window, clip_factory)
    window.select_job(2)  # ready: every option is on show, more than fit a short window
    window.resize(900, 600)
    page = window.jobs_page
    qtbot.waitUntil(lambda: page.sound_scroll.verticalScrollBar().maximum() > 0)
    controls = [w for w in page.sound_panel.focus_widgets() if w.isEnabled()]
    controls[-1].setFocus(Qt.FocusReason.TabFocusReason)  # the last: scrolled to the end
    qtbot.waitUntil(lambda: not controls[-1].visibleRegion().isEmpty())
    window.acts.sound_options_action.trigger()  # Ctrl+L: the first option
    assert controls[0].hasFocus()
    qtbot.waitUntil(lambda: not controls[0].visibleRegion().isEmpty())


def test_the_keyboard_starts_in_the_list_or_on_the_empty_drop_zone(
    qtbot: QtBot, fake_window: FakeWindowFactory, clip_factory: ClipFactory
) -> None:
    ready = Job(id=1, input_path=clip_factory("a.mp4", 3.0), state=JobState.READY)
    window, _runner = fake_window(jobs=(ready,))
    qtbot.waitUntil(lambda: window.model.rowCount() == 1)
    qtbot.waitUntil(lambda: window.focusWidget() is window.table)
    empty, _ = fake_window()
    qtbot.waitUntil(lambda: empty.stack.currentWidget() is empty.jobs_page)
    qtbot.waitUntil(lambda: empty.focusWidget() is empty.drop_zone)


def test_escape_in_the_list_is_cancel_and_nothing_else(
    qtbot: QtBot, fake_window: FakeWindowFactory, clip_factory: ClipFactory
) -> None:
    queued = Job(id=1, input_path=clip_factory("queued.mp4", 3.0), state=JobState.QUEUED)
    window, runner = fake_window(jobs=(queued,))
    window.select_job(1)
    window.table.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(window.table, Qt.Key.Key_Escape)
    assert runner.calls.count(("cancel", 1)) == 1
    assert window.isVisible() and window.table.hasFocus()
    # One shortcut only: no other action of the window claims Esc.
    escapes = [a for a in window.actions() if a.shortcut().toString() == "Esc"]
    assert escapes == [window.acts.cancel_action]


def test_every_control_has_an_accessible_name(
    qtbot: QtBot, fake_window: FakeWindowFactory, clip_factory: ClipFactory
) -> None:
    window, _done = _window_with_a_result(qtbot, fake_window, clip_factory)
    window.message_bar.show_message("Something", action="Do it", details="GET /x: Error")
    unnamed = []
    for widget in window.findChildren(QWidget):
        if not widget.isVisibleTo(window) or not widget.focusPolicy() & Qt.FocusPolicy.TabFocus:
            continue
        if widget is window.table.viewport() or widget.parentWidget() is window.table:
            continue  # the list's own parts (its viewport, scroll bars) speak for it
        face = QAccessible.queryAccessibleInterface(widget)
        name = face.text(QAccessible.Text.Name) if face is not None else ""
        if not name.strip():
            unnamed.append(f"{type(widget).__name__} {widget.objectName()}")
    assert unnamed == []


def test_the_focus_ring_shows_for_the_keyboard_not_for_a_click(
    qtbot: QtBot, fake_window: FakeWindowFactory, clip_factory: ClipFactory
) -> None:
    window, _done = _window_with_a_result(qtbot, fake_window, clip_factory)
    window.drop_zone.setFocus(Qt.FocusReason.TabFocusReason)
    assert _tab(qtbot) is window.account_combo
    assert window.focus_ring.target is window.account_combo
    ring = window.focus_ring.geometry()
    inside = window.account_combo.geometry().translated(
        window.account_combo.parentWidget().mapTo(window.centralWidget(), QPoint(0, 0))
    )
    assert ring.contains(inside) and ring != inside  # around it, not over it
    qtbot.mouseClick(window.options.add_clips_button, Qt.MouseButton.LeftButton)
    assert window.focus_ring.target is None


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_the_current_row_wears_a_ring_in_light_and_dark_palettes(
    qtbot: QtBot, fake_window: FakeWindowFactory, clip_factory: ClipFactory, dark: bool
) -> None:
    window, _done = _window_with_a_result(qtbot, fake_window, clip_factory)
    palette = QPalette(window.palette())
    if dark:
        for role, colour in (
            (QPalette.ColorRole.Window, "#2b2b2e"),
            (QPalette.ColorRole.Base, "#1e1e20"),
            (QPalette.ColorRole.AlternateBase, "#323236"),
            (QPalette.ColorRole.Text, "#e6e6e6"),
            (QPalette.ColorRole.WindowText, "#e6e6e6"),
            (QPalette.ColorRole.Highlight, "#3d8ee6"),
        ):
            palette.setColor(role, QColor(colour))
    window.table.setPalette(palette)
    window.table.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(window.table.hasFocus)
    index = window.table.currentIndex()
    rect = window.table.visualRect(index.siblingAtColumn(1))
    image = window.table.viewport().grab().toImage()
    ring = QColor(image.pixel(rect.center().x(), rect.top()))
    inside = QColor(image.pixel(rect.center().x(), rect.top() + 6))
    assert ring == palette.color(QPalette.ColorRole.Text)  # the selected row's ring
    assert inside == palette.color(QPalette.Active, QPalette.ColorRole.Highlight)
    window.options.add_clips_button.setFocus(Qt.FocusReason.TabFocusReason)
    image = window.table.viewport().grab().toImage()
    assert QColor(image.pixel(rect.center().x(), rect.top())) != ring  # only with focus


class KeyboardInteractions(AnsweringInteractions):
    """The real Add sound question, answered with the Enter key."""

    def __init__(self, files: list[Path]) -> None:
        super().__init__()
        self.files_to_choose = files
        self.pressed: list[str] = []

    def confirm_spend(self, parent: QWidget, request: SpendRequest) -> bool:
        def press_enter() -> None:
            focused = QApplication.focusWidget()
            assert isinstance(focused, QPushButton) and QApplication.activeModalWidget()
            self.pressed.append(focused.text())
            QTest.keyClick(focused, Qt.Key.Key_Return)  # Enter presses the focused button

        QTimer.singleShot(300, press_enter)
        self.requests.append(request)
        return Interactions.confirm_spend(self, parent, request)


def test_keyboard_alone_adds_a_clip_starts_it_and_plays_its_result(
    qtbot: QtBot,
    real_window: RealWindowFactory,
    clip_factory: ClipFactory,
    simulator: Simulator,
    interactions: AnsweringInteractions,
) -> None:
    clip = clip_factory("keys.mp4", 4.0)
    keyboard = KeyboardInteractions([clip])
    simulator.scenario.task_seconds = 0.5
    window, _context = real_window()
    window.interactions = keyboard
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    qtbot.waitUntil(window.account_combo.isEnabled, timeout=TIMEOUT_MS)

    qtbot.keyClick(window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)  # Add clips…
    assert [a for a, _ in keyboard.asked] == ["choose"]
    qtbot.waitUntil(lambda: _states(window) == [JobState.READY], timeout=TIMEOUT_MS)
    qtbot.waitUntil(window.acts.add_sound_action.isEnabled)

    qtbot.keyClick(window, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # Add sound
    assert keyboard.pressed == ["Start 1 paid job"]  # Enter pressed the named default button
    qtbot.waitUntil(lambda: _states(window) == [JobState.DONE], timeout=TIMEOUT_MS)

    # Back to the list with Tab (it holds the new clip's row), then Enter.
    window.activateWindow()  # the question has gone (offscreen, nothing does this for us)
    qtbot.waitUntil(window.isActiveWindow)
    window.drop_zone.setFocus(Qt.FocusReason.TabFocusReason)
    while not window.table.hasFocus():
        _tab(qtbot)
    qtbot.keyClick(window.table, Qt.Key.Key_Return)
    player = window.preview.player
    qtbot.waitUntil(lambda: player.playing, timeout=5000)
    job = window.model.jobs()[0]
    assert player.source == job.output_path and player.has_audio


def _states(window: MainWindow) -> list[JobState]:
    return [j.state for j in window.model.jobs()]
