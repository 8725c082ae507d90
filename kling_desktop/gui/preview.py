"""Preview of a finished clip: a player object and the pane that shows it (STYLE §9).

:class:`Player` wraps ``QMediaPlayer`` + ``QAudioOutput`` and re-emits typed signals; it knows
no widgets except the video output it is handed. :class:`PreviewPane` receives a player and
only lays out and wires. As in Picard, the QtMultimedia import is guarded and the player says
whether it can play at all, so a machine without the multimedia libraries gets a note instead
of a crash.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QSlider,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)

try:
    from PySide6.QtMultimedia import QAudioOutput, QMediaDevices, QMediaPlayer
    from PySide6.QtMultimediaWidgets import QVideoWidget

    MULTIMEDIA_IMPORT_ERROR = ""
except ImportError as exc:  # e.g. libpulse0 missing on Linux (environment-probe §2)
    log.warning("QtMultimedia is unavailable: %s", exc)
    MULTIMEDIA_IMPORT_ERROR = str(exc)


def format_time(ms: int) -> str:
    """``3000`` → ``"0:03"``; an hour or more → ``"1:02:03"``."""
    seconds = max(0, int(ms)) // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Player(QObject):
    """One media player with an audio output, and signals with plain Python types.

    The enum-valued signals carry ``QMediaPlayer.PlaybackState`` / ``QMediaPlayer.MediaStatus``.
    Errors arrive as one sentence a user can read.
    """

    state_changed = Signal(object)  # QMediaPlayer.PlaybackState
    position_changed = Signal(int)  # ms
    duration_changed = Signal(int)  # ms
    media_status_changed = Signal(object)  # QMediaPlayer.MediaStatus
    error = Signal(str)
    has_audio_changed = Signal(bool)
    has_video_changed = Signal(bool)
    source_changed = Signal(object)  # Path | None

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._source: Path | None = None
        self._error = ""
        self._player: Any = None
        self._audio: Any = None
        if MULTIMEDIA_IMPORT_ERROR:
            return
        self._player = QMediaPlayer(self)
        self._audio = QAudioOutput(self)
        self._player.setAudioOutput(self._audio)
        self._player.playbackStateChanged.connect(self._on_state)
        self._player.positionChanged.connect(self._on_position)
        self._player.durationChanged.connect(self._on_duration)
        self._player.mediaStatusChanged.connect(self._on_status)
        self._player.hasAudioChanged.connect(self._on_has_audio)
        self._player.hasVideoChanged.connect(self._on_has_video)
        self._player.errorOccurred.connect(self._on_error)

    # -- capabilities --------------------------------------------------------------------------

    @property
    def available(self) -> bool:
        """Whether QtMultimedia loaded at all; without it nothing plays."""
        return self._player is not None

    @property
    def unavailable_reason(self) -> str:
        return MULTIMEDIA_IMPORT_ERROR

    @staticmethod
    def audio_device_available() -> bool:
        """Whether the system offers a sound output (playback runs silently without one)."""
        if MULTIMEDIA_IMPORT_ERROR:
            return False
        return bool(QMediaDevices.audioOutputs())

    # -- state ---------------------------------------------------------------------------------

    @property
    def source(self) -> Path | None:
        """The file loaded, or None."""
        return self._source

    @property
    def position(self) -> int:
        """Playback position in milliseconds."""
        return int(self._player.position()) if self._player else 0

    @property
    def duration(self) -> int:
        """Length of the loaded media in milliseconds (0 until known)."""
        return int(self._player.duration()) if self._player else 0

    @property
    def media_status(self) -> Any:
        """``QMediaPlayer.MediaStatus`` (``NoMedia`` when unavailable)."""
        return self._player.mediaStatus() if self._player else None

    @property
    def state(self) -> Any:
        """``QMediaPlayer.PlaybackState``."""
        return self._player.playbackState() if self._player else None

    @property
    def playing(self) -> bool:
        return bool(self._player and self._player.isPlaying())

    @property
    def has_audio(self) -> bool:
        """Whether the loaded media has a sound track."""
        return bool(self._player and self._player.hasAudio())

    @property
    def has_video(self) -> bool:
        return bool(self._player and self._player.hasVideo())

    @property
    def error_text(self) -> str:
        """The last error as a sentence; empty after a successful load."""
        return self._error

    @property
    def volume(self) -> float:
        """Linear volume from 0.0 (silent) to 1.0 (full)."""
        return float(self._audio.volume()) if self._audio else 0.0

    @volume.setter
    def volume(self, value: float) -> None:
        if self._audio:
            self._audio.setVolume(min(1.0, max(0.0, float(value))))

    @property
    def muted(self) -> bool:
        return bool(self._audio and self._audio.isMuted())

    @muted.setter
    def muted(self, value: bool) -> None:
        if self._audio:
            self._audio.setMuted(bool(value))

    # -- actions -------------------------------------------------------------------------------

    def set_video_output(self, output: QObject | None) -> None:
        """Show the picture in ``output`` (a ``QVideoWidget`` or ``QVideoSink``)."""
        if self._player:
            self._player.setVideoOutput(output)

    def load(self, path: Path | None) -> None:
        """Open ``path`` (asynchronously: watch :attr:`media_status_changed`); None unloads."""
        self._error = ""
        if self._player is None:
            self._source = path
            if path is not None:
                self._report(
                    f"Playback is not available on this computer ({self.unavailable_reason})."
                )
            self.source_changed.emit(path)
            return
        # Stop first: stopping reports the *old* media as loaded, before the source changes.
        self._player.stop()
        if path is not None and path == self._source:
            # The same file again (e.g. downloaded anew): make Qt really reopen it.
            self._player.setSource(QUrl())
        self._source = path
        self._player.setSource(QUrl.fromLocalFile(str(path)) if path is not None else QUrl())
        self.source_changed.emit(path)

    def play(self) -> None:
        if self._player and self._source is not None:
            self._player.play()

    def pause(self) -> None:
        if self._player:
            self._player.pause()

    def stop(self) -> None:
        if self._player:
            self._player.stop()

    def toggle(self) -> None:
        """Play when paused or stopped, pause when playing."""
        if self.playing:
            self.pause()
        else:
            self.play()

    def seek(self, ms: int) -> None:
        """Jump to ``ms`` milliseconds (clamped to the media)."""
        if self._player:
            duration = self.duration
            target = max(0, int(ms))
            self._player.setPosition(min(target, duration) if duration > 0 else target)

    # -- relays --------------------------------------------------------------------------------

    @Slot(object)
    def _on_state(self, state: Any) -> None:
        self.state_changed.emit(state)

    @Slot(bool)
    def _on_has_audio(self, value: bool) -> None:
        self.has_audio_changed.emit(bool(value))

    @Slot(bool)
    def _on_has_video(self, value: bool) -> None:
        self.has_video_changed.emit(bool(value))

    @Slot("qint64")
    def _on_position(self, ms: int) -> None:
        self.position_changed.emit(int(ms))

    @Slot("qint64")
    def _on_duration(self, ms: int) -> None:
        self.duration_changed.emit(int(ms))

    @Slot(object)
    def _on_status(self, status: Any) -> None:
        self.media_status_changed.emit(status)

    @Slot(object, str)
    def _on_error(self, error: Any, text: str) -> None:
        name = self._source.name if self._source else "the clip"
        if error == QMediaPlayer.Error.ResourceError:
            sentence = f"Can't open {name}: the file is missing or unreadable ({text})."
        elif error == QMediaPlayer.Error.FormatError:
            sentence = (
                f"Can't play {name}: the file is damaged or uses a format this computer "
                f"can't decode ({text})."
            )
        else:
            sentence = f"Can't play {name} ({text})."
        self._report(sentence)

    def _report(self, sentence: str) -> None:
        log.warning("Preview: %s", sentence)
        self._error = sentence
        self.error.emit(sentence)


class PreviewPane(QWidget):
    """The finished clip with its new sound, and the original for before/after comparison.

    Args:
        player: the :class:`Player` to drive; a new one (owned by the pane) when None.
    """

    RESULT, ORIGINAL = 0, 1

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
        self.video.setMinimumSize(240, 135)
        self.video.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.video.setAccessibleName(self.tr("Video"))

        self.result_button = QToolButton(self)
        self.result_button.setText(self.tr("With sound (result)"))
        self.original_button = QToolButton(self)
        self.original_button.setText(self.tr("Original"))
        self.source_group = QButtonGroup(self)
        self.source_group.setExclusive(True)
        for button, ident, tip in (
            (self.result_button, self.RESULT, self.tr("Play the clip with Kling's new sound")),
            (self.original_button, self.ORIGINAL, self.tr("Play the clip as it was dropped")),
        ):
            button.setCheckable(True)
            button.setToolTip(tip)
            button.setAccessibleName(button.text())
            self.source_group.addButton(button, ident)

        self.play_button = QToolButton(self)
        self.play_button.setIcon(self._icon_play)
        self.play_button.setToolTip(self.tr("Play / pause (Space)"))
        self.play_button.setAccessibleName(self.tr("Play"))

        self.seek_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.seek_slider.setAccessibleName(self.tr("Position"))
        self.seek_slider.setSingleStep(1000)
        self.seek_slider.setPageStep(5000)

        self.time_label = QLabel(format_time(0) + " / " + format_time(0), self)
        self.time_label.setAccessibleName(self.tr("Time"))

        self.mute_button = QToolButton(self)
        self.mute_button.setCheckable(True)
        self.mute_button.setIcon(self._icon_sound)
        self.mute_button.setToolTip(self.tr("Mute"))
        self.mute_button.setAccessibleName(self.tr("Mute"))

        self.volume_slider = QSlider(Qt.Orientation.Horizontal, self)
        self.volume_slider.setRange(0, 100)
        self.volume_slider.setValue(round(self.player.volume * 100) if self.player.available else 0)
        self.volume_slider.setMaximumWidth(100)
        self.volume_slider.setAccessibleName(self.tr("Volume"))
        self.volume_slider.setToolTip(self.tr("Volume"))

        switch_row = QHBoxLayout()
        switch_row.addWidget(self.result_button)
        switch_row.addWidget(self.original_button)
        switch_row.addStretch(1)

        controls = QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(self.seek_slider, 1)
        controls.addWidget(self.time_label)
        controls.addWidget(self.mute_button)
        controls.addWidget(self.volume_slider)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(switch_row)
        layout.addWidget(self.video, 1)
        layout.addWidget(self.note)
        layout.addLayout(controls)

        self.space = QShortcut(QKeySequence(Qt.Key.Key_Space), self)
        self.space.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)

    def _wire(self) -> None:
        p = self.player
        p.state_changed.connect(self._on_state)
        p.position_changed.connect(self._on_position)
        p.duration_changed.connect(self._on_duration)
        p.media_status_changed.connect(self._on_status)
        p.error.connect(self._show_note)
        self.play_button.clicked.connect(p.toggle)
        self.space.activated.connect(p.toggle)
        self.seek_slider.valueChanged.connect(self._on_slider)
        self.mute_button.toggled.connect(self._on_mute)
        self.volume_slider.valueChanged.connect(self._on_volume)
        self.source_group.idClicked.connect(self.switch_to)

    # -- public --------------------------------------------------------------------------------

    def show_job(self, result_path: Path | None, original_path: Path | None) -> None:
        """Show a job: its result (preferred) and its original clip for comparison."""
        self._paths = {self.RESULT: result_path, self.ORIGINAL: original_path}
        self.result_button.setEnabled(result_path is not None)
        self.original_button.setEnabled(original_path is not None)
        which = self.RESULT if result_path is not None else self.ORIGINAL
        self._pending = None
        if result_path is None and original_path is None:
            self.clear()
            return
        self._select(which)
        self._load(self._paths[which])

    def clear(self) -> None:
        """Show nothing (no job selected)."""
        self._paths = {self.RESULT: None, self.ORIGINAL: None}
        self._pending = None
        self.player.load(None)
        for button in (self.result_button, self.original_button):
            button.setEnabled(False)
        self.result_button.setChecked(True)
        self._set_controls_enabled(False)
        self._set_time(0, 0)
        self._show_note(self.tr("Select a clip to preview it."))

    def current(self) -> int:
        """:attr:`RESULT` or :attr:`ORIGINAL`."""
        return self.source_group.checkedId()

    @Slot(int)
    def switch_to(self, which: int) -> None:
        """Switch between result and original, keeping the position (and playing on)."""
        path = self._paths.get(which)
        if path is None:
            self._select(self.current())
            return
        self._select(which)
        if path == self.player.source:
            return
        self._pending = (path, self.player.position, self.player.playing)
        self._load(path)

    # -- internals -----------------------------------------------------------------------------

    def _select(self, which: int) -> None:
        button = self.source_group.button(which)
        if button is not None:
            button.setChecked(True)

    def _load(self, path: Path | None) -> None:
        self._hide_note()
        self._set_controls_enabled(False)
        self.player.load(path)

    def _set_controls_enabled(self, enabled: bool) -> None:
        for widget in (self.play_button, self.seek_slider):
            widget.setEnabled(enabled)
        audio = enabled and self.player.has_audio
        self.mute_button.setEnabled(audio)
        self.volume_slider.setEnabled(audio)

    def _show_note(self, text: str) -> None:
        self.note.setText(text)
        self.note.setVisible(True)

    def _hide_note(self) -> None:
        self.note.clear()
        self.note.setVisible(False)

    def _set_time(self, position: int, duration: int) -> None:
        self.time_label.setText(f"{format_time(position)} / {format_time(duration)}")

    @Slot(object)
    def _on_status(self, status: Any) -> None:
        if MULTIMEDIA_IMPORT_ERROR:
            return
        loaded = status in (
            QMediaPlayer.MediaStatus.LoadedMedia,
            QMediaPlayer.MediaStatus.BufferedMedia,
            QMediaPlayer.MediaStatus.BufferingMedia,
            QMediaPlayer.MediaStatus.EndOfMedia,
        )
        if status == QMediaPlayer.MediaStatus.InvalidMedia:
            self._set_controls_enabled(False)
            if not self.player.error_text:
                self._show_note(self.tr("This clip can't be played here."))
            return
        if status != QMediaPlayer.MediaStatus.LoadedMedia:
            if loaded:
                self._set_controls_enabled(True)
            return
        self._set_controls_enabled(True)
        self._describe_sound()
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
        showing_result = self.current() == self.RESULT
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
