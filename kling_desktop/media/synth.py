"""Make real little video clips with PyAV.

Used by the simulator (to mux a generated sound track into a result), the demo, the frozen
self-test and the tests, so no binary media ever needs to live in git.
"""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av

Container = Literal["mp4", "mov", "webm", "mkv", "m4a"]

_FORMATS: dict[str, tuple[str, str, str]] = {
    # container -> (format name, video codec, audio codec)
    "mp4": ("mp4", "libx264", "aac"),
    "mov": ("mov", "libx264", "aac"),
    "mkv": ("matroska", "libx264", "aac"),
    "webm": ("webm", "libvpx", "libopus"),
    "m4a": ("ipod", "", "aac"),
}


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
    """Write a clip of exactly ``duration_s`` seconds (a moving colour ramp, optional tone)."""
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
    frames = max(1, round(duration_s * fps))
    row = bytes(range(256)) * (width // 256 + 2)
    for index in range(frames):
        shift = (index * 7) % 256
        luma = b"".join(row[(shift + y) % 256 : (shift + y) % 256 + width] for y in range(height))
        frame = av.VideoFrame(width, height, "yuv420p")
        frame.planes[0].update(_fit(luma, frame.planes[0]))
        chroma = bytes([(index * 3) % 256]) * (frame.planes[1].buffer_size)
        frame.planes[1].update(chroma)
        frame.planes[2].update(bytes([128]) * frame.planes[2].buffer_size)
        frame.pts = index
        frame.time_base = Fraction(1, fps)
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)


def _fit(data: bytes, plane: av.video.plane.VideoPlane) -> bytes:
    """Pad each row to the plane's line size (PyAV planes may be wider than the image)."""
    width = plane.width
    if plane.line_size == width:
        return data
    pad = bytes(plane.line_size - width)
    return b"".join(data[i : i + width] + pad for i in range(0, len(data), width))


def write_tone(
    out: av.container.OutputContainer,
    stream: av.audio.stream.AudioStream,
    duration_s: float,
    tone_hz: float = 440.0,
) -> None:
    """Encode a soft sine tone of ``duration_s`` seconds into ``stream``."""
    rate = stream.codec_context.sample_rate or 48000
    channels = stream.codec_context.layout.nb_channels
    frame_size = stream.codec_context.frame_size or 1024
    total = round(duration_s * rate)
    written = 0
    while written < total:
        count = min(frame_size, total - written)
        samples = [
            0.2 * math.sin(2 * math.pi * tone_hz * (written + i) / rate) for i in range(count)
        ]
        frame = _audio_frame(samples, channels, rate, stream.codec_context.format.name)
        frame.pts = written
        frame.time_base = Fraction(1, rate)
        for packet in stream.encode(frame):
            out.mux(packet)
        written += count
    for packet in stream.encode(None):
        out.mux(packet)


def _audio_frame(samples: list[float], channels: int, rate: int, fmt: str) -> av.AudioFrame:
    import array

    layout = "stereo" if channels == 2 else "mono"
    if fmt in ("fltp", "flt"):
        frame = av.AudioFrame(format="fltp", layout=layout, samples=len(samples))
        data = array.array("f", samples).tobytes()
        for plane in frame.planes:
            plane.update(data + bytes(plane.buffer_size - len(data)))
    else:
        frame = av.AudioFrame(format="s16p", layout=layout, samples=len(samples))
        data = array.array("h", (int(s * 32767) for s in samples)).tobytes()
        for plane in frame.planes:
            plane.update(data + bytes(plane.buffer_size - len(data)))
    frame.sample_rate = rate
    return frame
