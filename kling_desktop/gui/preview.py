"""Preview of a finished clip: a player object and the pane that shows it (STYLE §9).

:class:`Player` wraps ``QMediaPlayer`` + ``QAudioOutput`` and re-emits typed signals; it knows
no widgets except the video output it is handed. :class:`PreviewPane` receives a player and
only lays out and wires. As in Picard, the QtMultimedia import is guarded and the player says
whether it can play at all, so a machine without the multimedia libraries gets a note instead
of a crash.

The picture: the player decodes into a sink of its own and hands each real frame on to the
output. That is how a clip shows its first frame as soon as it is loaded (the player prerolls
it by pausing) and keeps its last frame at the end, where Qt would otherwise show black: at
the end of the media, and on stop, Qt sends an empty frame, which the player does not pass on.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    Q_ARG,
    QCoreApplication,
    QMetaObject,
    QObject,
    Qt,
    QUrl,
    Signal,
    Slot,
)
from PySide6.QtGui import QKeyEvent, QKeySequence
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

from kling_desktop.gui.focus import FocusRing
from kling_desktop.gui.help import Shortcut
from kling_desktop.text import format_clock

log = logging.getLogger(__name__)

try:
    from PySide6.QtMultimedia import (
        QAudioOutput,
        QMediaDevices,
        QMediaPlayer,
        QVideoFrame,
        QVideoSink,
    )
    from PySide6.QtMultimediaWidgets import QVideoWidget

    MULTIMEDIA_IMPORT_ERROR = ""
except ImportError as exc:  # e.g. libpulse0 missing on Linux (environment-probe §2)
    log.warning("QtMultimedia is unavailable: %s", exc)
    MULTIMEDIA_IMPORT_ERROR = str(exc)

#: The time label while no length is known (nothing loaded, or a file that cannot play).
NO_TIME = "–:–– / –:––"


def keyboard_keys() -> list[Shortcut]:
    """The preview's own keys (not actions), for Help → Keyboard shortcuts."""

    def keys(*names: str) -> str:
        native = QKeySequence.SequenceFormat.NativeText
        return " / ".join(QKeySequence(name).toString(native) for name in names)

    def tr(text: str) -> str:
        return QCoreApplication.translate("PreviewPane", text)

    group = tr("Preview (when it has the focus)")
    return [
        Shortcut(group, tr("Play or pause"), keys("Space")),
        Shortcut(group, tr("Back or forward 1 second (position)"), keys("Left", "Right")),
        Shortcut(group, tr("Back or forward 5 seconds (position)"), keys("PgUp", "PgDown")),
        Shortcut(group, tr("Start or end (position)"), keys("Home", "End")),
        Shortcut(group, tr("Softer or louder (volume)"), keys("Down", "Up")),
        Shortcut(group, tr("With sound (result) or Original"), keys("Left", "Right")),
        Shortcut(group, tr("Next or previous control"), keys("Tab", "Shift+Tab")),
    ]


class Player(QObject):
    """One media player with an audio output, and signals with plain Python types.

    The enum-valued signals carry ``QMediaPlayer.PlaybackState`` / ``QMediaPlayer.MediaStatus``.
    Errors arrive as one sentence a user can read.

    :attr:`loaded` turns true once per :meth:`load` when the media is open (``media_loaded``
    is emitted then) and stays true while it plays, pauses or ends. Wait on it rather than on
    ``MediaStatus.LoadedMedia``: the player prerolls the first frame by pausing, which moves
    the status on to ``BufferedMedia`` at once.

    Every command to Qt's player and audio output (load, play, pause, seek, volume) is carried
    out by the event loop, a moment after the call, never from Python directly. Why: Qt's
    playback threads take the Python lock (PySide checks for Python overrides when they
    disconnect from our Python-made audio output and video sink) while holding a Qt lock that
    ``stop()`` and ``setSource()`` also need; called from Python, those wait for that Qt lock
    while holding the Python lock, and the app freezes. The event loop calls them without
    the Python lock. What this object reports (:attr:`volume`, :attr:`source`) is what was
    asked for; the signals say when Qt has done it.
    """

    state_changed = Signal(object)  # QMediaPlayer.PlaybackState
    position_changed = Signal(int)  # ms
    duration_changed = Signal(int)  # ms
    media_status_changed = Signal(object)  # QMediaPlayer.MediaStatus
    media_loaded = Signal()  # the current source is open: duration and tracks are known
    picture_changed = Signal(bool)  # whether a frame of the current source is on show
    error = Signal(str)
    has_audio_changed = Signal(bool)
    has_video_changed = Signal(bool)
    source_changed = Signal(object)  # Path | None

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._source: Path | None = None
        self._error = ""
        self._loaded = False
        self._play_on_load = False
        self._wants_play = False
        self._has_picture = False
        # Loads asked for whose new source Qt has not been given yet: until then, what the
        # player says is about the media being left.
        self._loads_in_flight = 0
        self._volume = 1.0
        self._muted = False
        self._player: Any = None
        self._audio: Any = None
        self._sink: Any = None
        self._output: Any = None  # the QVideoSink frames are handed on to
        if MULTIMEDIA_IMPORT_ERROR:
            return
        self._player = QMediaPlayer(self)
        self._audio = QAudioOutput(self)
        self._volume = float(self._audio.volume())
        self._sink = QVideoSink(self)
        self._player.setAudioOutput(self._audio)
        self._player.setVideoOutput(self._sink)
        self._sink.videoFrameChanged.connect(self._on_frame)
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
        """The file asked for (the one loaded or loading), or None."""
        return self._source

    @property
    def loaded(self) -> bool:
        """Whether the current source is open (see the class docstring)."""
        return self._loaded

    @property
    def has_picture(self) -> bool:
        """Whether a frame of the current source is on show (first, current or last)."""
        return self._has_picture

    @property
    def position(self) -> int:
        """Playback position in milliseconds."""
        return int(self._player.position()) if self._player and self._loaded else 0

    @property
    def duration(self) -> int:
        """Length of the loaded media in milliseconds (0 until known, and for no media)."""
        return int(self._player.duration()) if self._player and self._loaded else 0

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
        """Whether it is playing now (not merely asked to)."""
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
        return self._volume if self._audio else 0.0

    @volume.setter
    def volume(self, value: float) -> None:
        if self._audio:
            self._volume = min(1.0, max(0.0, float(value)))
            self._post(self._audio, "setVolume", Q_ARG("float", self._volume))

    @property
    def muted(self) -> bool:
        return bool(self._audio and self._muted)

    @muted.setter
    def muted(self, value: bool) -> None:
        if self._audio:
            self._muted = bool(value)
            self._post(self._audio, "setMuted", Q_ARG(bool, self._muted))

    # -- actions -------------------------------------------------------------------------------

    def set_video_output(self, output: QObject | None) -> None:
        """Show the picture in ``output`` (a ``QVideoWidget`` or a ``QVideoSink``)."""
        sink: Any = output
        if sink is not None and hasattr(sink, "videoSink"):
            sink = sink.videoSink()
        self._output = sink
        if sink is not None and self._has_picture and self._sink is not None:
            sink.setVideoFrame(self._sink.videoFrame())

    def load(self, path: Path | None, *, keep_picture: bool = False) -> None:
        """Open ``path`` (asynchronously: watch :attr:`media_loaded`); None unloads.

        Args:
            path: the file to open, or None for nothing.
            keep_picture: leave the current picture on show until the new file's first frame
                arrives (switching between two versions of one clip); otherwise the picture
                goes at once.
        """
        self._error = ""
        self._loaded = False
        self._play_on_load = False
        self._wants_play = False
        if self._player is None:
            self._source = path
            if path is not None:
                self._report(
                    f"Playback is not available on this computer ({self.unavailable_reason})."
                )
            self.source_changed.emit(path)
            return
        if not keep_picture or path is None:
            self._clear_picture()
        self._loads_in_flight += 1
        self._post(self._player, "stop")
        if path is not None and path == self._source:
            # The same file again (e.g. downloaded anew): make Qt really reopen it.
            self._post(self._player, "setSource", Q_ARG(QUrl, QUrl()))
        self._source = path
        self._post(self, "_load_arrives")
        url = QUrl.fromLocalFile(str(path)) if path is not None else QUrl()
        self._post(self._player, "setSource", Q_ARG(QUrl, url))
        self.source_changed.emit(path)
        self.duration_changed.emit(0)  # no stale length while the new file opens (or fails)

    def play(self) -> None:
        """Play from the current position; asked while the file opens, plays once it is open."""
        if self._player is None or self._source is None:
            return
        if self._loaded:
            self._wants_play = True
            self._post(self._player, "play")
        elif not self._error:
            self._play_on_load = True

    def pause(self) -> None:
        self._play_on_load = False
        self._wants_play = False
        if self._player and self._loaded:
            self._post(self._player, "pause")

    def stop(self) -> None:
        self._play_on_load = False
        self._wants_play = False
        if self._player:
            self._post(self._player, "stop")

    def toggle(self) -> None:
        """Play when paused or stopped, pause when playing (or about to)."""
        if self._wants_play or self._play_on_load:
            self.pause()
        else:
            self.play()

    def seek(self, ms: int) -> None:
        """Jump to ``ms`` milliseconds (clamped to the media)."""
        if self._player:
            duration = self.duration
            target = max(0, int(ms))
            target = min(target, duration) if duration > 0 else target
            self._post(self._player, "setPosition", Q_ARG("qint64", target))

    # -- internals -----------------------------------------------------------------------------

    @staticmethod
    def _post(target: QObject, method: str, *args: Any) -> None:
        """Have the event loop call ``target.method(*args)`` (see the class docstring)."""
        if not QMetaObject.invokeMethod(target, method, Qt.ConnectionType.QueuedConnection, *args):
            log.error("Preview: could not ask Qt for %s.%s", type(target).__name__, method)

    @Slot()
    def _load_arrives(self) -> None:
        """The event loop reached the newest load: from here on the player speaks of it."""
        self._loads_in_flight -= 1

    @property
    def _current(self) -> bool:
        return self._loads_in_flight == 0

    # -- the picture ---------------------------------------------------------------------------

    @Slot(object)
    def _on_frame(self, frame: Any) -> None:
        # An empty frame means "stopped" or "ended": keep the last picture (never black).
        if not frame.isValid() or self._source is None or not self._current:
            return
        if self._output is not None:
            self._output.setVideoFrame(frame)
        if not self._has_picture:
            self._has_picture = True
            self.picture_changed.emit(True)

    def _clear_picture(self) -> None:
        if not self._has_picture:
            return  # (a video widget never shown must not be asked to repaint: Qt warns)
        if self._output is not None:
            self._output.setVideoFrame(QVideoFrame())
        self._has_picture = False
        self.picture_changed.emit(False)

    # -- relays --------------------------------------------------------------------------------

    @Slot(object)
    def _on_state(self, state: Any) -> None:
        if state == QMediaPlayer.PlaybackState.PlayingState:
            self._wants_play = True
        self.state_changed.emit(state)

    @Slot(bool)
    def _on_has_audio(self, value: bool) -> None:
        self.has_audio_changed.emit(bool(value))

    @Slot(bool)
    def _on_has_video(self, value: bool) -> None:
        self.has_video_changed.emit(bool(value))

    @Slot("qint64")
    def _on_position(self, ms: int) -> None:
        if self._current:
            self.position_changed.emit(int(ms))

    @Slot("qint64")
    def _on_duration(self, ms: int) -> None:
        if self._current:
            self.duration_changed.emit(int(ms) if self._loaded else 0)

    @Slot(object)
    def _on_status(self, status: Any) -> None:
        if not self._current:
            return  # the old media's last word (stop() reports it loaded)
        first_load = (
            status
            in (
                QMediaPlayer.MediaStatus.LoadedMedia,
                QMediaPlayer.MediaStatus.BufferingMedia,
                QMediaPlayer.MediaStatus.BufferedMedia,
            )
            and not self._loaded
            and self._source is not None
            and not self._error
        )
        if status == QMediaPlayer.MediaStatus.InvalidMedia:
            self._loaded = False
            self._play_on_load = False
            self._clear_picture()
        elif status == QMediaPlayer.MediaStatus.EndOfMedia:
            self._wants_play = False
        if first_load:
            self._loaded = True
        self.media_status_changed.emit(status)
        if not first_load:
            return
        self.duration_changed.emit(self.duration)
        self.media_loaded.emit()
        # A receiver of media_loaded may have asked to play already (a switch that plays on).
        if self._play_on_load:
            self._play_on_load = False
            self.play()
        elif not self._wants_play:
            self._post(self._player, "pause")  # decodes and shows the first frame

    @Slot(object, str)
    def _on_error(self, error: Any, text: str) -> None:
        if not self._current:
            return
        name = self._source.name if self._source else "the clip"
        if error == QMediaPlayer.Error.ResourceError:
            sentence = f"Can't open {name}: the file is missing or can't be read."
        elif error == QMediaPlayer.Error.FormatError:
            sentence = (
                f"Can't play {name}: the file is damaged or in a format this computer can't decode."
            )
        else:
            sentence = f"Can't play {name} here."
        log.warning("Preview: Qt could not play %s: %s (%s)", self._source, text, error)
        self._loaded = False
        self._play_on_load = False
        self._wants_play = False
        self._clear_picture()
        self._report(sentence)
        self.duration_changed.emit(0)

    def _report(self, sentence: str) -> None:
        log.warning("Preview: %s", sentence)
        self._error = sentence
        self.error.emit(sentence)


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
            button.setAccessibleDescription(tip)
            self.source_group.addButton(button, ident)

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
            self.result_button,
            self.original_button,
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
        # Room for the focus ring around the outermost controls.
        ring = FocusRing.MARGIN
        layout.setContentsMargins(ring, ring, ring, ring)
        layout.addLayout(switch_row)
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
        self.source_group.idClicked.connect(self.switch_to)

    # -- public --------------------------------------------------------------------------------

    def show_job(self, result_path: Path | None, original_path: Path | None) -> None:
        """Show a job: its result (preferred) and its original clip for comparison.

        The first frame appears as soon as the file is open; nothing plays until asked.
        """
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

    def play_job(self, result_path: Path | None, original_path: Path | None) -> None:
        """Play a job: its result, or its original when it has none (Enter on a row).

        A job already on show plays from where it is (from the start once it ended), in the
        version chosen; another is shown first and plays as soon as it is open.
        """
        if result_path is None and original_path is None:
            self.clear()
            return
        shown = self._paths == {self.RESULT: result_path, self.ORIGINAL: original_path}
        if not shown or self.player.source is None or self.player.error_text:
            self.show_job(result_path, original_path)
        if not self.player.playing:
            self.player.play()

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
        for button in (self.result_button, self.original_button):
            button.setEnabled(False)
        # An exclusive group always keeps one button checked: lift that to check neither.
        self.source_group.setExclusive(False)
        self.result_button.setChecked(False)
        self.original_button.setChecked(False)
        self.source_group.setExclusive(True)
        self._set_controls_enabled(False)
        self._reset_time()
        self._show_note(self.tr("Select a clip to preview it."))

    def current(self) -> int:
        """:attr:`RESULT` or :attr:`ORIGINAL` (-1 while nothing is shown)."""
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
        button = self.source_group.button(which)
        if button is not None:
            button.setChecked(True)

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
