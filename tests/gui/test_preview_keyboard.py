"""The preview with the keyboard only: Tab reaches every control, keys work them, and the
focused one wears a ring that can be seen."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from kling_desktop.gui.preview import PreviewPane
from tests.fixtures.media import ClipFactory

pytestmark = pytest.mark.qt_log_ignore("PulseAudioService", "No RHI backend", extend=True)


@pytest.fixture
def pane(qtbot: QtBot, clip_factory: ClipFactory) -> PreviewPane:
    widget = PreviewPane()
    qtbot.addWidget(widget)
    widget.resize(520, 360)
    widget.show()
    widget.activateWindow()  # key events and focus need the active window
    qtbot.waitUntil(widget.isActiveWindow)
    widget.show_job(clip_factory("result.mp4", 6.0, audio=True), clip_factory("original.mp4", 6.0))
    qtbot.waitUntil(lambda: widget.player.loaded, timeout=5000)
    return widget


def _focused() -> QWidget | None:
    return QApplication.focusWidget()


def _tab(qtbot: QtBot, backwards: bool = False) -> QWidget | None:
    widget = _focused()
    assert widget is not None
    if backwards:
        qtbot.keyClick(widget, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    else:
        qtbot.keyClick(widget, Qt.Key.Key_Tab)
    return _focused()


def test_tab_reaches_every_control_in_reading_order(qtbot: QtBot, pane: PreviewPane) -> None:
    # Result/Original is one choice (like radio buttons): Tab enters it at the version on
    # show, and leaves it for Play.
    pane.result_button.setFocus(Qt.FocusReason.TabFocusReason)
    order = [_focused()]
    for _ in range(4):
        order.append(_tab(qtbot))
    assert order == [
        pane.result_button,
        pane.play_button,
        pane.seek_slider,
        pane.mute_button,
        pane.volume_slider,
    ]
    assert _tab(qtbot, backwards=True) is pane.mute_button
    for _ in range(3):
        _tab(qtbot, backwards=True)
    assert _focused() is pane.result_button


def test_arrow_keys_switch_between_result_and_original(qtbot: QtBot, pane: PreviewPane) -> None:
    pane.result_button.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(pane.result_button, Qt.Key.Key_Right)
    assert _focused() is pane.original_button
    assert pane.current() == PreviewPane.ORIGINAL
    qtbot.waitUntil(lambda: pane.player.loaded and not pane.player.has_audio, timeout=5000)
    assert pane.focus_ring.target is pane.original_button
    # Tab now enters the choice at "Original", and Shift+Tab from Play comes back to it.
    pane.play_button.setFocus(Qt.FocusReason.TabFocusReason)
    assert _tab(qtbot, backwards=True) is pane.original_button
    qtbot.keyClick(pane.original_button, Qt.Key.Key_Left)
    assert pane.current() == PreviewPane.RESULT and _focused() is pane.result_button
    qtbot.waitUntil(lambda: pane.player.loaded and pane.player.has_audio, timeout=5000)


def test_every_control_has_an_accessible_name(pane: PreviewPane) -> None:
    names = {c.accessibleName() for c in pane.controls}
    assert names == {
        "With sound (result)",
        *(f"Take {k}" for k in range(1, 5)),
        "Original",
        "Use this take",
        "Play",
        "Position",
        "Mute",
        "Volume",
    }
    assert pane.accessibleName() == "Preview"
    assert pane.time_label.accessibleName() == "Time"
    assert pane.video.accessibleName() == "Video"


def test_the_focus_ring_follows_the_keyboard_not_the_mouse(qtbot: QtBot, pane: PreviewPane) -> None:
    ring = pane.focus_ring
    assert ring.target is None
    pane.result_button.setFocus(Qt.FocusReason.TabFocusReason)
    assert ring.target is pane.result_button and ring.isVisible()
    _tab(qtbot)
    assert ring.target is pane.play_button
    _tab(qtbot)
    assert ring.target is pane.seek_slider
    # Around the control, outside its edges.
    inner = pane.seek_slider.geometry()
    assert ring.geometry().contains(inner) and ring.geometry() != inner
    qtbot.mouseClick(pane.original_button, Qt.MouseButton.LeftButton)
    assert _focused() is pane.original_button
    assert ring.target is None  # a click shows no ring


def test_space_plays_and_pauses_from_the_sliders_and_the_picture(
    qtbot: QtBot, pane: PreviewPane
) -> None:
    for widget in (pane.seek_slider, pane.volume_slider, pane.video):
        widget.setFocus(Qt.FocusReason.TabFocusReason)
        qtbot.keyClick(widget, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: pane.player.playing, timeout=3000)
        assert pane.play_button.accessibleName() == "Pause"
        qtbot.keyClick(widget, Qt.Key.Key_Space)
        qtbot.waitUntil(lambda: not pane.player.playing, timeout=3000)
        assert pane.play_button.accessibleName() == "Play"


def test_space_on_a_button_presses_that_button(qtbot: QtBot, pane: PreviewPane) -> None:
    pane.play_button.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(pane.play_button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: pane.player.playing, timeout=3000)
    qtbot.keyClick(pane.play_button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not pane.player.playing, timeout=3000)

    pane.original_button.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(pane.original_button, Qt.Key.Key_Space)
    assert pane.current() == PreviewPane.ORIGINAL
    qtbot.waitUntil(lambda: pane.player.loaded and not pane.player.has_audio, timeout=5000)
    assert not pane.player.playing  # switching did not start it

    pane.result_button.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(pane.result_button, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: pane.player.loaded and pane.player.has_audio, timeout=5000)
    pane.mute_button.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(pane.mute_button, Qt.Key.Key_Space)
    assert pane.player.muted and pane.mute_button.accessibleName() == "Mute"
    assert pane.mute_button.isChecked()


def test_arrow_keys_seek_and_set_the_volume(qtbot: QtBot, pane: PreviewPane) -> None:
    slider = pane.seek_slider
    slider.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.keyClick(slider, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: abs(pane.player.position - 1000) < 150, timeout=3000)
    qtbot.keyClick(slider, Qt.Key.Key_PageUp)
    qtbot.waitUntil(lambda: abs(pane.player.position - 6000) < 150, timeout=3000)
    assert pane.time_label.text() == "0:06 / 0:06"
    qtbot.keyClick(slider, Qt.Key.Key_Home)
    qtbot.waitUntil(lambda: pane.player.position < 150, timeout=3000)
    qtbot.keyClick(slider, Qt.Key.Key_PageUp)
    qtbot.waitUntil(lambda: abs(pane.player.position - 5000) < 150, timeout=3000)
    assert pane.time_label.text() == "0:05 / 0:06"

    volume = pane.volume_slider
    volume.setFocus(Qt.FocusReason.TabFocusReason)
    start = volume.value()
    qtbot.keyClick(volume, Qt.Key.Key_Down)
    assert volume.value() == start - 5
    assert pane.player.volume == pytest.approx((start - 5) / 100)
    qtbot.keyClick(volume, Qt.Key.Key_PageDown)
    assert pane.player.volume == pytest.approx((start - 25) / 100)
    qtbot.keyClick(volume, Qt.Key.Key_Up)
    assert pane.player.volume == pytest.approx((start - 20) / 100)


def test_toggle_play_is_what_the_window_calls_for_space_in_the_list(
    qtbot: QtBot, pane: PreviewPane
) -> None:
    pane.toggle_play()
    qtbot.waitUntil(lambda: pane.player.playing, timeout=3000)
    pane.toggle_play()
    qtbot.waitUntil(lambda: not pane.player.playing, timeout=3000)
    pane.clear()
    pane.toggle_play()  # nothing on show: nothing happens
    assert pane.player.source is None


def test_a_new_picture_does_not_take_the_focus(qtbot: QtBot, clip_factory: ClipFactory) -> None:
    """Arrowing through a list selects clip after clip: the keyboard must stay in the list."""
    from PySide6.QtWidgets import QHBoxLayout, QLineEdit

    window = QWidget()
    qtbot.addWidget(window)
    elsewhere = QLineEdit(window)
    pane = PreviewPane(parent=window)
    row = QHBoxLayout(window)
    row.addWidget(elsewhere)
    row.addWidget(pane)
    window.resize(700, 360)
    window.show()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow)
    elsewhere.setFocus(Qt.FocusReason.TabFocusReason)
    for name in ("one.mp4", "two.mp4"):
        pane.show_job(clip_factory(name, 2.0, audio=True), None)
        qtbot.waitUntil(lambda: pane.player.has_picture, timeout=5000)
        qtbot.wait(100)
        assert _focused() is elsewhere
