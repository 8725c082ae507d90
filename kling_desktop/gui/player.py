"""The player: ``QMediaPlayer`` + ``QAudioOutput`` behind one object with typed signals
(STYLE §9). It knows no widgets except the video output it is handed; the pane in
:mod:`preview` drives it. As in Picard, the QtMultimedia import is guarded and the player says
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
    QMetaObject,
    QObject,
    Qt,
    QUrl,
    Signal,
    Slot,
)

from kling_desktop.gui import plurals

log = logging.getLogger(__name__)

try:
    from PySide6.QtMultimedia import (
        QAudioOutput,
        QMediaDevices,
        QMediaPlayer,
        QVideoFrame,
        QVideoSink,
    )

    # The pane's video widget must load too, or playback is not available at all.
    from PySide6.QtMultimediaWidgets import QVideoWidget  # noqa: F401

    MULTIMEDIA_IMPORT_ERROR = ""
except ImportError as exc:  # e.g. libpulse0 missing on Linux (environment-probe §2)
    log.warning("QtMultimedia is unavailable: %s", exc)
    MULTIMEDIA_IMPORT_ERROR = str(exc)


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
        with plurals.suspended():  # the first player loads Qt's FFmpeg and audio plugins
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
