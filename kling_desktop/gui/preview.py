"""Preview of a clip: the pane that shows a :class:`~kling_desktop.gui.player.Player` and
its controls — the With sound (result) / Original switch, Play, the position, Mute and volume.

Which file plays is chosen in one place, :meth:`PreviewPane.switch_to` (by the version's id:
:attr:`PreviewPane.RESULT` or :attr:`PreviewPane.ORIGINAL`); :meth:`PreviewPane.show_job`
gives the versions a job has.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QCoreApplication,
    Qt,
    Slot,
)
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from kling_desktop.gui.focus import FocusRing
from kling_desktop.gui.help import Shortcut, native_keys
from kling_desktop.gui.player import MULTIMEDIA_IMPORT_ERROR, Player
from kling_desktop.gui.take_switch import SourceSwitch
from kling_desktop.text import format_clock

if not MULTIMEDIA_IMPORT_ERROR:
    from PySide6.QtMultimedia import QMediaPlayer
    from PySide6.QtMultimediaWidgets import QVideoWidget

log = logging.getLogger(__name__)

#: The time label while no length is known (nothing loaded, or a file that cannot play).
NO_TIME = "–:–– / –:––"


def keyboard_keys() -> list[Shortcut]:
    """The preview's own keys (not actions), for Help → Keyboard shortcuts."""

    keys = native_keys

    def tr(text: str) -> str:
        return QCoreApplication.translate("PreviewPane", text)

    group = tr("Preview (when it has the focus)")
    return [
        Shortcut(group, tr("Play or pause"), keys("Space")),
        Shortcut(group, tr("Back or forward 1 second (position)"), keys("Left", "Right")),
        Shortcut(group, tr("Back or forward 5 seconds (position)"), keys("PgUp", "PgDown")),
        Shortcut(group, tr("Start or end (position)"), keys("Home", "End")),
        Shortcut(group, tr("Softer or louder (volume)"), keys("Down", "Up")),
        Shortcut(
            group,
            tr("On the With sound / Take / Original buttons: the next or previous one"),
            keys("Left", "Right"),
        ),
        Shortcut(group, tr("Next or previous control"), keys("Tab", "Shift+Tab")),
    ]


class PreviewPane(QWidget):
    """The finished clip with its new sound, and the original for before/after comparison.

    Keyboard: Tab reaches the Result/Original switch, Play, the position, Mute and the volume;
    Space plays and pauses wherever the focus is in the pane (on a button, Space presses that
    button); the arrow keys, Page Up/Down, Home and End move the position or the volume.

    The window calls :meth:`show_job` when a row is selected, :meth:`play_job` for Enter on
    a row, :meth:`toggle_play` for Space in the list, and :meth:`clear` when the row goes.

    Args:
        player: the :class:`Player` to drive; a new one (owned by the pane) when None.
    """

    RESULT, ORIGINAL, TAKE = SourceSwitch.RESULT, SourceSwitch.ORIGINAL, SourceSwitch.TAKE

    def __init__(self, player: Player | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.player = player if player is not None else Player(self)
        self._paths: dict[int, Path | None] = {self.RESULT: None, self.ORIGINAL: None}
        # After a switch: (the file switched to, position in ms, resume playing).
        self._pending: tuple[Path, int, bool] | None = None
        self._slider_sync = False
        self._build()
        self._wire()
        self.clear()

    # -- layout --------------------------------------------------------------------------------

    def _build(self) -> None:
        style = self.style()
        self.setAccessibleName(self.tr("Preview"))
        self._icon_play = style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay)
        self._icon_pause = style.standardIcon(QStyle.StandardPixmap.SP_MediaPause)
        self._icon_sound = style.standardIcon(QStyle.StandardPixmap.SP_MediaVolume)
        self._icon_muted = style.standardIcon(QStyle.StandardPixmap.SP_MediaVolumeMuted)

        self.note = QLabel(self)
        self.note.setWordWrap(True)
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note.setAccessibleName(self.tr("Preview message"))

        self.video: QWidget
        if self.player.available:
            self.video = QVideoWidget(self)
            self.video.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # click it, then Space plays
            self.player.set_video_output(self.video)
        else:
            self.video = QLabel(self.tr("Playback is not available on this computer."), self)
            self.video.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.video.setAccessibleName(self.tr("Video"))
        # Always shown: showing the video's native window again later would take the keyboard
        # focus from wherever it is (the list, as the user arrows through it). Without a
        # picture (nothing selected, a file that cannot play) it is empty.
        self.video.setMinimumSize(240, 135)
        self.video.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

        self.switch = SourceSwitch(self)
        self.switch.setAccessibleName(self.tr("Which version plays"))
        # The parts tests and the window reach by their own names.
        self.result_button = self.switch.result_button
        self.original_button = self.switch.original_button
        self.take_buttons = self.switch.take_buttons
        self.use_take_button = self.switch.use_button
        self.source_group = self.switch.group

        self.play_button = QToolButton(self)
        self.play_button.setIcon(self._icon_play)
        self.play_button.setToolTip(self.tr("Play / pause (Space)"))
        self.play_button.setAccessibleName(self.tr("Play"))

        self.seek_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.seek_slider.setAccessibleName(self.tr("Position"))
        self.seek_slider.setToolTip(
            self.tr("Position (arrow keys: 1 s, Page Up/Down: 5 s, Home/End)")
        )
        self.seek_slider.setSingleStep(1000)
        self.seek_slider.setPageStep(5000)

        self.time_label = QLabel(NO_TIME, self)
        self.time_label.setAccessibleName(self.tr("Time"))

        self.mute_button = QToolButton(self)
        self.mute_button.setCheckable(True)
        self.mute_button.setIcon(self._icon_sound)
        self.mute_button.setToolTip(self.tr("Mute"))
        self.mute_button.setAccessibleName(self.tr("Mute"))

        self.volume_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.volume_slider.setRange(0, 100)
        self.volume_slider.setSingleStep(5)
        self.volume_slider.setPageStep(20)
        self.volume_slider.setValue(round(self.player.volume * 100) if self.player.available else 0)
        self.volume_slider.setMaximumWidth(100)
        self.volume_slider.setAccessibleName(self.tr("Volume"))
        self.volume_slider.setToolTip(self.tr("Volume (arrow keys)"))

        # Every control is reached with Tab (tool buttons only take focus from a click by
        # default on some styles), in reading order.
        self.controls = [
            *self.switch.buttons,
            self.play_button,
            self.seek_slider,
            self.mute_button,
            self.volume_slider,
        ]
        for control in self.controls:
            control.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        for before, after in zip(self.controls, self.controls[1:], strict=False):
            QWidget.setTabOrder(before, after)
        self.focus_ring = FocusRing(self)
        self.focus_ring.watch(*self.controls, self.video)

        controls = QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(self.seek_slider, 1)
        controls.addWidget(self.time_label)
        controls.addWidget(self.mute_button)
        controls.addWidget(self.volume_slider)

        layout = QVBoxLayout(self)
        # Room for the focus ring around the outermost controls.
        ring = FocusRing.MARGIN
        layout.setContentsMargins(ring, ring, ring, ring)
        layout.addWidget(self.switch)
        layout.addWidget(self.video, 1)
        layout.addWidget(self.note)
        layout.addLayout(controls)

    def _wire(self) -> None:
        p = self.player
        p.state_changed.connect(self._on_state)
        p.position_changed.connect(self._on_position)
        p.duration_changed.connect(self._on_duration)
        p.media_status_changed.connect(self._on_status)
        p.media_loaded.connect(self._on_loaded)
        p.error.connect(self._on_error)
        self.play_button.clicked.connect(p.toggle)
        self.seek_slider.valueChanged.connect(self._on_slider)
        self.mute_button.toggled.connect(self._on_mute)
        self.volume_slider.valueChanged.connect(self._on_volume)
        self.switch.chosen.connect(self.switch_to)

    # -- public --------------------------------------------------------------------------------

    def show_job(
        self,
        result_path: Path | None,
        original_path: Path | None,
        takes: Sequence[Path | None] = (),
        result_take: int = 0,
    ) -> None:
        """Show a job: its result (preferred) and its original clip for comparison; for a clip
        of several takes, ``takes`` are their files in take order (the result's own place is
        ``result_path``, whatever it holds) and ``result_take`` which one is the result.

        The first frame appears as soon as the file is open; nothing plays until asked.
        """
        self._paths = self._versions(result_path, original_path, takes, result_take)
        self.switch.set_versions(
            result=result_path is not None,
            original=original_path is not None,
            takes=[p is not None or k == result_take for k, p in enumerate(takes)],
            result_take=result_take,
        )
        which = self.RESULT if result_path is not None else self.ORIGINAL
        self._pending = None
        if result_path is None and original_path is None:
            self.clear()
            return
        self._select(which)
        self._load(self._paths[which])

    def _versions(
        self,
        result_path: Path | None,
        original_path: Path | None,
        takes: Sequence[Path | None],
        result_take: int,
    ) -> dict[int, Path | None]:
        paths = {self.RESULT: result_path, self.ORIGINAL: original_path}
        for k, path in enumerate(takes):
            if k != result_take:
                paths[self.TAKE + k] = path
        return paths

    def switch_to_take(self, take: int) -> None:
        """Keys 1–4: play take ``take`` (0-based) of the clip on show, where it is."""
        which = self.switch.take_id(take)
        if which in self._paths:
            self.switch_to(which)

    def current_take(self) -> int | None:
        """The take (0-based) on show; None for the original or nothing."""
        return self.switch.take_of(self.current()) if self.current() >= 0 else None

    def play_job(
        self,
        result_path: Path | None,
        original_path: Path | None,
        takes: Sequence[Path | None] = (),
        result_take: int = 0,
    ) -> None:
        """Play a job: its result, or its original when it has none (Enter on a row).

        A job already on show plays from where it is (from the start once it ended), in the
        version chosen; another is shown first and plays as soon as it is open.
        """
        if result_path is None and original_path is None:
            self.clear()
            return
        shown = self._paths == self._versions(result_path, original_path, takes, result_take)
        if not shown or self.player.source is None or self.player.error_text:
            self.show_job(result_path, original_path, takes, result_take)
        if not self.player.playing:
            self.player.play()

    def resume_at(self, position: int, *, playing: bool = True) -> None:
        """Go on with the version just shown from ``position`` ms as soon as it is open (a
        remixed result takes the place of the one on show), playing or paused as it was."""
        path = self._paths.get(self.current())
        if path is not None:
            self._pending = (path, position, playing)

    @Slot()
    def toggle_play(self) -> None:
        """Play or pause what is on show (Space)."""
        if self.play_button.isEnabled() or self.player.source is not None:
            self.player.toggle()

    def clear(self) -> None:
        """Show nothing: no picture, no length, neither version chosen (no job selected)."""
        self._paths = {self.RESULT: None, self.ORIGINAL: None}
        self._pending = None
        self.player.load(None)
        self.switch.clear()
        self._set_controls_enabled(False)
        self._reset_time()
        self._show_note(self.tr("Select a clip to preview it."))

    def current(self) -> int:
        """:attr:`RESULT`, :attr:`ORIGINAL` or ``TAKE + k`` (-1 while nothing is shown)."""
        return self.switch.current()

    @Slot(int)
    def switch_to(self, which: int) -> None:
        """Switch between result, takes and original, keeping the position (and playing
        on). The one place that chooses which file plays."""
        path = self._paths.get(which)
        if path is None:
            self._select(self.current())
            return
        self._select(which)
        if path == self.player.source:
            return
        self._pending = (path, self.player.position, self.player.playing)
        self._load(path, keep_picture=True)

    # -- keyboard ------------------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Space reaches the pane from any child that does not use it (the sliders, the video);
        # a focused button uses Space to press itself, as everywhere.
        if event.key() == Qt.Key.Key_Space and not event.modifiers():
            self.toggle_play()
            event.accept()
            return
        super().keyPressEvent(event)

    # -- internals -----------------------------------------------------------------------------

    def _select(self, which: int) -> None:
        self.switch.select(which)

    def _load(self, path: Path | None, *, keep_picture: bool = False) -> None:
        self._hide_note()
        self._set_controls_enabled(False)
        self._reset_time()
        self.player.load(path, keep_picture=keep_picture)

    def _set_controls_enabled(self, enabled: bool) -> None:
        for widget in (self.play_button, self.seek_slider):
            widget.setEnabled(enabled)
        audio = enabled and self.player.has_audio
        self.mute_button.setEnabled(audio)
        self.volume_slider.setEnabled(audio)

    @property
    def showing_picture(self) -> bool:
        """Whether a frame of the clip is on show (its first, current or last)."""
        return self.player.has_picture

    def _show_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(True)

    def _hide_note(self) -> None:
        self.note.clear()
        self.note.setVisible(False)

    def _reset_time(self) -> None:
        self._slider_sync = True
        try:
            self.seek_slider.setRange(0, 0)
        finally:
            self._slider_sync = False
        self.time_label.setText(NO_TIME)

    def _set_time(self, position: int, duration: int) -> None:
        if not self.player.loaded:
            self.time_label.setText(NO_TIME)
            return
        self.time_label.setText(
            f"{format_clock(position / 1000)} / {format_clock(duration / 1000)}"
        )

    @Slot(str)
    def _on_error(self, sentence: str) -> None:
        self._set_controls_enabled(False)
        self._reset_time()
        self._show_note(sentence)

    @Slot(object)
    def _on_status(self, status: Any) -> None:
        if MULTIMEDIA_IMPORT_ERROR:
            return
        if status == QMediaPlayer.MediaStatus.InvalidMedia:
            self._set_controls_enabled(False)
            self._reset_time()
            if not self.player.error_text:
                name = self.player.source.name if self.player.source else ""
                self._show_note(self.tr("Can't play %1 here.").replace("%1", name))

    @Slot()
    def _on_loaded(self) -> None:
        self._set_controls_enabled(True)
        self._describe_sound()
        self._set_time(self.player.position, self.player.duration)
        pending, self._pending = self._pending, None
        if pending is not None and pending[0] == self.player.source:
            _, position, resume = pending
            self.player.seek(position)
            if resume:
                self.player.play()
        else:
            self._pending = pending

    def _describe_sound(self) -> None:
        """Say why there is nothing to hear, when there isn't."""
        showing_result = self.current() != self.ORIGINAL
        if showing_result and not self.player.has_audio:
            self._show_note(self.tr("This result has no sound track."))
        elif self.player.has_audio and not Player.audio_device_available():
            self._show_note(self.tr("No sound device found: the clip plays here without sound."))
        else:
            self._hide_note()

    @Slot(object)
    def _on_state(self, state: Any) -> None:
        playing = self.player.playing
        self.play_button.setIcon(self._icon_pause if playing else self._icon_play)
        self.play_button.setAccessibleName(self.tr("Pause") if playing else self.tr("Play"))

    @Slot(int)
    def _on_duration(self, ms: int) -> None:
        self._slider_sync = True
        try:
            self.seek_slider.setRange(0, max(0, ms))
        finally:
            self._slider_sync = False
        self._set_time(self.player.position, ms)

    @Slot(int)
    def _on_position(self, ms: int) -> None:
        if not self.seek_slider.isSliderDown():
            self._slider_sync = True
            try:
                self.seek_slider.setValue(ms)
            finally:
                self._slider_sync = False
        self._set_time(ms, self.player.duration)

    @Slot(int)
    def _on_slider(self, value: int) -> None:
        if not self._slider_sync:
            self.player.seek(value)

    @Slot(bool)
    def _on_mute(self, muted: bool) -> None:
        self.player.muted = muted
        self.mute_button.setIcon(self._icon_muted if muted else self._icon_sound)
        self.mute_button.setToolTip(self.tr("Unmute") if muted else self.tr("Mute"))

    @Slot(int)
    def _on_volume(self, value: int) -> None:
        self.player.volume = value / 100
