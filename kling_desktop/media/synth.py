"""Make real little video clips with PyAV, from libavfilter's test sources.

The picture is ``testsrc2`` (colour bars, a moving gradient and a running clock) and the sound
``sine``, both generated in-process by ``av.filter.Graph`` (no ffmpeg binary). Used by the
simulator (to mux a generated sound track into a result), the demo, the frozen self-test and
the tests, so no binary media ever needs to live in git.
"""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Literal, TypeVar

import av
import av.error
from av.filter import Graph

_Frame = TypeVar("_Frame", av.VideoFrame, av.AudioFrame)

Container = Literal["mp4", "mov", "webm", "mkv", "m4a", "m4v", "avi", "ts", "gif"]

_FORMATS: dict[str, tuple[str, str, str]] = {
    # container -> (format name, video codec, audio codec)
    "mp4": ("mp4", "libx264", "aac"),
    "mov": ("mov", "libx264", "aac"),
    "mkv": ("matroska", "libx264", "aac"),
    "webm": ("webm", "libvpx", "libopus"),
    "m4a": ("ipod", "", "aac"),
    "m4v": ("ipod", "libx264", "aac"),
    "avi": ("avi", "mpeg4", "libmp3lame"),
    "ts": ("mpegts", "libx264", "aac"),
    "gif": ("gif", "gif", ""),
}
# Encoders that are slow at their defaults: the fastest settings make test clips in moments.
_FAST_OPTIONS: dict[str, dict[str, str]] = {
    "libx264": {"preset": "ultrafast", "tune": "zerolatency"},
    "libx265": {"preset": "ultrafast", "x265-params": "log-level=error"},
    "libvpx": {"deadline": "realtime", "cpu-used": "8"},
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8", "row-mt": "1"},
}

#: Bits per pixel of the picture: ~10 kB a second at 320×180, 10 fps (a detailed test picture
#: would otherwise make clips several times larger than the uploads the tests time).
_BITS_PER_PIXEL = 0.15
_MIN_BIT_RATE = 32_000


def make_clip(
    path: Path,
    duration_s: float = 4.0,
    *,
    width: int = 320,
    height: int = 180,
    fps: int = 10,
    audio: bool = False,
    video: bool = True,
    container: Container = "mp4",
    faststart: bool = False,
    tone_hz: float = 440.0,
    video_codec: str | None = None,
    audio_codec: str | None = None,
    bit_rate: int | None = None,
    keyframe_every_s: float | None = None,
    rotation: int = 0,
) -> Path:
    """Write a clip of exactly ``duration_s`` seconds (a test picture, optional sine tone).

    ``video_codec``/``audio_codec`` replace the container's usual encoders (e.g. ``"libx265"``
    in MP4, ``"pcm_s16le"`` in MOV); ``bit_rate`` replaces the small default picture rate (a
    large one makes a big file quickly); ``keyframe_every_s`` sets the distance between
    keyframes (x264's default is 250 frames); ``rotation`` stores a display rotation (degrees
    counter-clockwise) as a phone does.
    """
    fmt, vcodec, acodec = _FORMATS[container]
    vcodec = video_codec or vcodec
    acodec = audio_codec or acodec or "aac"
    if vcodec == "libx264" and vcodec not in av.codecs_available:
        # The installers share Qt's FFmpeg, which has no x264: its own MPEG-4 encoder serves.
        vcodec = "mpeg4"
    options = {"movflags": "+faststart"} if faststart and container in ("mp4", "mov") else {}
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w", format=fmt, options=options) as out:
        vstream: av.video.stream.VideoStream | None = None
        if video and vcodec:
            vstream = out.add_stream(vcodec, rate=fps)  # type: ignore[assignment]
            assert vstream is not None
            vstream.width = width
            vstream.height = height
            vstream.pix_fmt = "rgb8" if vcodec == "gif" else "yuv420p"
            vstream.codec_context.time_base = Fraction(1, fps)
            vstream.codec_context.bit_rate = bit_rate or max(
                _MIN_BIT_RATE, round(width * height * fps * _BITS_PER_PIXEL)
            )
            options = dict(_FAST_OPTIONS.get(vcodec, {}))
            if keyframe_every_s is not None:
                options["g"] = str(max(1, round(keyframe_every_s * fps)))
            vstream.codec_context.options = options
            if rotation:
                vstream.set_display_rotation(rotation)
        astream: av.audio.stream.AudioStream | None = None
        if audio or not video:
            astream = out.add_stream(acodec, rate=48000)  # type: ignore[assignment]
            assert astream is not None
            astream.layout = "stereo" if acodec == "libopus" else "mono"
        # MPEG-TS fixes its timestamp shift from the first packet muxed: the sound (whose
        # encoder priming starts before 0) goes first, or its start would wrap around 2^33.
        if astream is not None and container == "ts":
            write_tone(out, astream, duration_s, tone_hz)
        if vstream is not None:
            # testsrc2 marks every frame a keyframe, which x264 obeys; a keyframe distance
            # only takes effect when the encoder may choose the frame types itself.
            intra_only = keyframe_every_s is None
            _write_video(out, vstream, duration_s, fps, width, height, intra_only=intra_only)
        if astream is not None and container != "ts":
            write_tone(out, astream, duration_s, tone_hz)
    return path


def _write_video(
    out: av.container.OutputContainer,
    stream: av.video.stream.VideoStream,
    duration_s: float,
    fps: int,
    width: int,
    height: int,
    *,
    intra_only: bool = True,
) -> None:
    graph = Graph()
    graph.link_nodes(
        graph.add("testsrc2", size=f"{width}x{height}", rate=str(fps)),
        graph.add("trim", end_frame=str(max(1, round(duration_s * fps)))),
        graph.add("format", pix_fmts=stream.codec_context.pix_fmt or "yuv420p"),
        graph.add("buffersink"),
    ).configure()
    for frame in _pull_all(graph, av.VideoFrame):
        if not intra_only:
            frame.pict_type = av.video.frame.PictureType.NONE
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)


def write_tone(
    out: av.container.OutputContainer,
    stream: av.audio.stream.AudioStream,
    duration_s: float,
    tone_hz: float = 440.0,
) -> None:
    """Encode a soft sine tone (−18 dBFS, ``sine``'s level) of ``duration_s`` seconds into
    ``stream``, in the sample format, layout and frame size its encoder takes."""
    codec = stream.codec_context
    rate = codec.sample_rate or 48000
    graph = Graph()
    graph.link_nodes(
        graph.add(
            "sine",
            frequency=str(tone_hz),
            sample_rate=str(rate),
            samples_per_frame=str(codec.frame_size or 1024),  # 0: PCM takes any size
        ),
        graph.add("atrim", end_sample=str(round(duration_s * rate))),
        graph.add("aformat", sample_fmts=codec.format.name, channel_layouts=codec.layout.name),
        graph.add("abuffersink"),
    ).configure()
    for frame in _pull_all(graph, av.AudioFrame):
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)


def _pull_all(graph: Graph, kind: type[_Frame]) -> Iterator[_Frame]:
    """Every frame a source-only graph makes, until its trim says the end."""
    while True:
        try:
            frame = graph.pull()
        except av.error.EOFError:
            return
        assert isinstance(frame, kind)
        yield frame
