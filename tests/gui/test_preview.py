"""The preview: a real generated clip with sound loads, plays, switches, and bad files say so."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtMultimedia import QMediaPlayer
from pytestqt.qtbot import QtBot

from kling_desktop.gui.player import Player
from kling_desktop.gui.preview import NO_TIME, PreviewPane
from tests.fixtures.media import ClipFactory

Status = QMediaPlayer.MediaStatus

# Environment noise with no sound server and no GPU (environment-probe §2), not app faults.
pytestmark = pytest.mark.qt_log_ignore("PulseAudioService", "No RHI backend", extend=True)


@pytest.fixture
def pane(qtbot: QtBot) -> PreviewPane:
    widget = PreviewPane()
    qtbot.addWidget(widget)
    widget.resize(480, 360)
    widget.show()
    return widget


def _wait_loaded(qtbot: QtBot, player: Player) -> None:
    qtbot.waitUntil(lambda: player.loaded, timeout=5000)


def test_player_signals_for_a_clip_with_sound(qtbot: QtBot, clip_factory: ClipFactory) -> None:
    clip = clip_factory("result.mp4", 3.0, audio=True)
    player = Player()
    assert player.available
    statuses: list[object] = []
    player.media_status_changed.connect(statuses.append)
    durations: list[int] = []
    player.duration_changed.connect(durations.append)
    with qtbot.waitSignal(
        player.has_audio_changed, timeout=5000, check_params_cb=lambda has: has is True
    ):
        player.load(clip)
    _wait_loaded(qtbot, player)
    assert Status.LoadedMedia in statuses
    assert player.has_audio and player.has_video
    assert 2900 <= player.duration <= 3100
    assert durations and durations[-1] == player.duration
    assert player.source == clip
    player.volume = 1.7
    assert player.volume == 1.0
    player.muted = True
    assert player.muted
    with qtbot.waitSignal(player.state_changed, timeout=2000):
        player.toggle()
    assert player.playing
    qtbot.waitUntil(lambda: player.position > 0, timeout=3000)
    with qtbot.waitSignal(player.state_changed, timeout=2000):
        player.toggle()
    assert not player.playing


def test_pane_plays_result_and_switches_to_original(
    qtbot: QtBot, pane: PreviewPane, clip_factory: ClipFactory
) -> None:
    result = clip_factory("result.mp4", 4.0, audio=True)
    original = clip_factory("original.mp4", 4.0)
    player = pane.player
    pane.show_job(result, original)
    _wait_loaded(qtbot, player)
    assert player.source == result and player.has_audio
    assert pane.current() == PreviewPane.RESULT
    assert pane.play_button.isEnabled() and pane.volume_slider.isEnabled()
    assert pane.time_label.text() == "0:00 / 0:04"
    if not Player.audio_device_available():  # the usual case on CI: say why nothing is heard
        assert "No sound device found" in pane.note.text()

    # Space toggles playback (the shortcut is the pane's own).
    pane.video.setFocus()
    qtbot.keyClick(pane.video, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: player.playing, timeout=2000)
    qtbot.waitUntil(lambda: player.position >= 300, timeout=4000)
    pane.play_button.click()
    qtbot.waitUntil(lambda: not player.playing, timeout=2000)
    player.seek(1500)
    qtbot.waitUntil(lambda: pane.time_label.text() == "0:01 / 0:04", timeout=2000)
    kept = player.position

    # Switch to the original: same position, still usable, no sound there.
    pane.original_button.click()
    qtbot.waitUntil(lambda: player.source == original, timeout=2000)
    _wait_loaded(qtbot, player)
    qtbot.waitUntil(lambda: abs(player.position - kept) < 300, timeout=3000)
    assert pane.current() == PreviewPane.ORIGINAL
    assert not player.has_audio
    assert not pane.note.isVisibleTo(pane)  # a silent original is not worth a note
    pane.play_button.click()
    qtbot.waitUntil(lambda: player.playing, timeout=2000)

    # ... and back to the result while playing: keeps playing from about there.
    at = player.position
    pane.result_button.click()
    qtbot.waitUntil(lambda: player.source == result, timeout=2000)
    qtbot.waitUntil(lambda: player.playing and player.position >= at, timeout=4000)
    assert player.has_audio
    pane.player.pause()


def test_seek_slider_and_volume(qtbot: QtBot, pane: PreviewPane, clip_factory: ClipFactory) -> None:
    pane.show_job(clip_factory("r.mp4", 4.0, audio=True), None)
    _wait_loaded(qtbot, pane.player)
    assert not pane.original_button.isEnabled()
    assert pane.seek_slider.maximum() == pane.player.duration
    pane.seek_slider.setValue(2000)
    qtbot.waitUntil(lambda: abs(pane.player.position - 2000) < 300, timeout=2000)
    pane.volume_slider.setValue(40)
    assert pane.player.volume == pytest.approx(0.4, abs=0.01)
    pane.mute_button.click()
    assert pane.player.muted


def test_broken_file_shows_a_note(
    qtbot: QtBot, pane: PreviewPane, tmp_path: Path, clip_factory: ClipFactory
) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"this is not a video at all\n" * 20)
    with qtbot.waitSignal(pane.player.error, timeout=5000) as blocker:
        pane.show_job(broken, clip_factory("original.mp4", 3.0))
    assert "broken.mp4" in blocker.args[0]
    qtbot.waitUntil(lambda: pane.player.media_status == Status.InvalidMedia, timeout=5000)
    assert pane.note.isVisibleTo(pane)
    assert "Can't play broken.mp4" in pane.note.text()
    assert not pane.play_button.isEnabled()
    # The original still plays: the pane recovers.
    pane.original_button.click()
    _wait_loaded(qtbot, pane.player)
    assert pane.play_button.isEnabled()
    assert not pane.note.isVisibleTo(pane)


def test_missing_file_shows_a_note(qtbot: QtBot, pane: PreviewPane, tmp_path: Path) -> None:
    with qtbot.waitSignal(pane.player.error, timeout=5000):
        pane.show_job(tmp_path / "gone.mp4", None)
    assert "gone.mp4" in pane.note.text()


def test_result_without_sound_says_so(
    qtbot: QtBot, pane: PreviewPane, clip_factory: ClipFactory
) -> None:
    pane.show_job(clip_factory("silent-result.mp4", 3.0), None)
    _wait_loaded(qtbot, pane.player)
    assert "no sound track" in pane.note.text()


def test_clear_and_injected_player(qtbot: QtBot, clip_factory: ClipFactory) -> None:
    player = Player()
    pane = PreviewPane(player)
    qtbot.addWidget(pane)
    assert pane.player is player
    pane.show_job(clip_factory("a.mp4", 3.0, audio=True), None)
    _wait_loaded(qtbot, player)
    # Showing the same file again (a fresh download) really reopens it.
    statuses: list[object] = []
    player.media_status_changed.connect(statuses.append)
    pane.show_job(player.source, None)
    _wait_loaded(qtbot, player)
    assert Status.LoadingMedia in statuses
    pane.clear()
    assert player.source is None
    assert not pane.play_button.isEnabled()
    assert pane.time_label.text() == NO_TIME
    pane.show_job(None, None)
    assert player.source is None


def _frame_on_show(pane: PreviewPane) -> bool:
    """Whether the video widget holds a real frame (what it paints)."""
    return bool(pane.video.videoSink().videoFrame().isValid())  # type: ignore[attr-defined]


def test_first_frame_shows_as_soon_as_a_clip_is_selected(
    qtbot: QtBot, pane: PreviewPane, clip_factory: ClipFactory
) -> None:
    assert not pane.showing_picture  # nothing selected: no black box
    pane.show_job(clip_factory("r.mp4", 3.0, audio=True), None)
    with qtbot.waitSignal(pane.player.picture_changed, timeout=5000):
        pass
    assert pane.player.loaded and pane.player.has_picture
    assert _frame_on_show(pane)
    assert pane.showing_picture
    assert not pane.player.playing  # shown, not played
    assert pane.player.position == 0
    assert pane.time_label.text() == "0:00 / 0:03"


def test_last_frame_stays_at_the_end(
    qtbot: QtBot, pane: PreviewPane, clip_factory: ClipFactory
) -> None:
    pane.show_job(clip_factory("short.mp4", 1.0, audio=True), None)
    _wait_loaded(qtbot, pane.player)
    frames: list[int] = []
    sink = pane.video.videoSink()  # type: ignore[attr-defined]
    sink.videoFrameChanged.connect(lambda f: frames.append(f.startTime()))
    pane.play_button.click()
    qtbot.waitUntil(lambda: pane.player.media_status == Status.EndOfMedia, timeout=5000)
    qtbot.wait(100)  # anything Qt sends after the end arrives now
    assert not pane.player.playing
    assert pane.player.has_picture and _frame_on_show(pane)  # Qt's empty end frame not shown
    assert sink.videoFrame().startTime() >= 800_000  # the last frame (µs), not the first
    assert frames and frames[-1] == sink.videoFrame().startTime()
    assert pane.time_label.text() == "0:01 / 0:01"
    # Play again: from the start.
    pane.play_button.click()
    qtbot.waitUntil(lambda: pane.player.playing, timeout=2000)
    pane.player.pause()


def test_clear_resets_everything(
    qtbot: QtBot, pane: PreviewPane, clip_factory: ClipFactory
) -> None:
    pane.show_job(clip_factory("r.mp4", 3.0, audio=True), clip_factory("o.mp4", 3.0))
    qtbot.waitUntil(lambda: pane.player.has_picture, timeout=5000)
    assert pane.result_button.isChecked()
    pane.clear()  # the row went away
    assert pane.player.source is None and not pane.player.loaded
    assert not pane.player.has_picture and not _frame_on_show(pane)
    assert not pane.showing_picture
    assert not pane.result_button.isChecked() and not pane.original_button.isChecked()
    assert pane.current() == -1
    assert pane.time_label.text() == NO_TIME
    assert pane.seek_slider.maximum() == 0
    assert not pane.play_button.isEnabled()
    assert pane.note.text() == "Select a clip to preview it."
    # The group is exclusive again: choosing a version still unchecks the other.
    pane.show_job(clip_factory("r2.mp4", 2.0, audio=True), clip_factory("o2.mp4", 2.0))
    _wait_loaded(qtbot, pane.player)
    pane.original_button.click()
    assert pane.original_button.isChecked() and not pane.result_button.isChecked()


def test_a_file_that_cannot_play_shows_no_stale_length(
    qtbot: QtBot, pane: PreviewPane, tmp_path: Path, clip_factory: ClipFactory
) -> None:
    pane.show_job(clip_factory("good.mp4", 7.0, audio=True), None)
    qtbot.waitUntil(lambda: pane.player.has_picture, timeout=5000)
    assert pane.time_label.text() == "0:00 / 0:07"
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video\n" * 50)
    with qtbot.waitSignal(pane.player.error, timeout=5000):
        pane.show_job(broken, None)
    qtbot.wait(100)
    assert pane.time_label.text() == NO_TIME
    assert "0:07" not in pane.time_label.text()
    assert pane.player.duration == 0 and pane.seek_slider.maximum() == 0
    assert "Can't play broken.mp4" in pane.note.text()
    assert not pane.showing_picture  # not the previous clip's picture
    assert not pane.player.has_picture


def test_play_job_plays_at_once_and_again_without_reloading(
    qtbot: QtBot, pane: PreviewPane, clip_factory: ClipFactory
) -> None:
    result, original = clip_factory("r.mp4", 3.0, audio=True), clip_factory("o.mp4", 3.0)
    pane.play_job(result, original)  # Enter on a row not shown yet
    qtbot.waitUntil(lambda: pane.player.playing, timeout=5000)
    assert pane.player.source == result
    pane.player.pause()
    statuses: list[object] = []
    pane.player.media_status_changed.connect(statuses.append)
    at = pane.player.position
    pane.play_job(result, original)  # Enter again on the same row: plays on, no reload
    qtbot.waitUntil(lambda: pane.player.playing, timeout=2000)
    assert Status.LoadingMedia not in statuses
    assert pane.player.position >= at
    pane.player.pause()
    pane.play_job(None, original)  # a row without a result plays its original
    qtbot.waitUntil(lambda: pane.player.playing and pane.player.source == original, timeout=5000)
    assert pane.current() == PreviewPane.ORIGINAL
    pane.player.pause()
