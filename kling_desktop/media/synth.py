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

Container = Literal["mp4", "mov", "webm", "mkv", "m4a"]

_FORMATS: dict[str, tuple[str, str, str]] = {
    # container -> (format name, video codec, audio codec)
    "mp4": ("mp4", "libx264", "aac"),
    "mov": ("mov", "libx264", "aac"),
    "mkv": ("matroska", "libx264", "aac"),
    "webm": ("webm", "libvpx", "libopus"),
    "m4a": ("ipod", "", "aac"),
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
) -> Path:
    """Write a clip of exactly ``duration_s`` seconds (a test picture, optional sine tone)."""
    fmt, vcodec, acodec = _FORMATS[container]
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
            vstream.pix_fmt = "yuv420p"
            vstream.codec_context.time_base = Fraction(1, fps)
            vstream.codec_context.bit_rate = max(
                _MIN_BIT_RATE, round(width * height * fps * _BITS_PER_PIXEL)
            )
            if vcodec == "libx264":
                vstream.codec_context.options = {"preset": "ultrafast", "tune": "zerolatency"}
        astream: av.audio.stream.AudioStream | None = None
        if audio or not video:
            astream = out.add_stream(acodec, rate=48000)  # type: ignore[assignment]
            assert astream is not None
            astream.layout = "stereo" if acodec == "libopus" else "mono"
        if vstream is not None:
            _write_video(out, vstream, duration_s, fps, width, height)
        if astream is not None:
            write_tone(out, astream, duration_s, tone_hz)
    return path


def _write_video(
    out: av.container.OutputContainer,
    stream: av.video.stream.VideoStream,
    duration_s: float,
    fps: int,
    width: int,
    height: int,
) -> None:
    graph = Graph()
    graph.link_nodes(
        graph.add("testsrc2", size=f"{width}x{height}", rate=str(fps)),
        graph.add("trim", end_frame=str(max(1, round(duration_s * fps)))),
        graph.add("format", pix_fmts=stream.codec_context.pix_fmt or "yuv420p"),
        graph.add("buffersink"),
    ).configure()
    for frame in _pull_all(graph, av.VideoFrame):
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
