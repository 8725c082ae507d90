"""What the fake "Kling" does to media: probe an upload, make the result, a cover, a WAV."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, BinaryIO

import av

from kling_desktop.files import atomic_file
from kling_desktop.media.synth import write_tone


@dataclass(frozen=True)
class VideoInfo:
    duration_s: float
    width: int
    height: int
    has_audio: bool


def probe(path: Path) -> VideoInfo:
    """Duration, size and audio presence of a video; ValueError when it is not one."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise ValueError("the file has no video stream")
            stream = container.streams.video[0]
            duration = 0.0
            if container.duration:
                duration = container.duration / av.time_base
            elif stream.duration and stream.time_base:
                duration = float(stream.duration * stream.time_base)
            return VideoInfo(
                duration_s=duration,
                width=stream.codec_context.width,
                height=stream.codec_context.height,
                has_audio=bool(container.streams.audio),
            )
    except av.FFmpegError as exc:
        raise ValueError(f"the file is not a readable video ({exc})") from None


def make_result(
    source: Path, dest: Path, *, duration_s: float, keep_original: bool, tone_hz: float = 660.0
) -> None:
    """Remux ``source``'s video (no re-encode) with a generated sound track into ``dest``.

    The generated track comes first (players pick it); with ``keep_original`` the clip's own
    audio follows as a second audio stream.
    """
    try:
        with atomic_file(dest) as out:
            _mux_result(source, out, duration_s, keep_original, tone_hz)
    except (av.FFmpegError, ValueError):
        if not keep_original:
            raise
        # The original audio codec may not fit in MP4 (e.g. PCM from a .mov): drop it.
        with atomic_file(dest) as out:
            _mux_result(source, out, duration_s, False, tone_hz)


def _mux_result(
    source: Path, dest: BinaryIO, duration_s: float, keep_original: bool, tone_hz: float
) -> None:
    with av.open(str(source)) as src, av.open(dest, mode="w", format="mp4") as out:
        video_in = src.streams.video[0]
        mapping: dict[int, Any] = {video_in.index: out.add_stream_from_template(video_in)}
        generated = out.add_stream("aac", rate=48000)
        generated.layout = "mono"
        if keep_original and src.streams.audio:
            audio_in = src.streams.audio[0]
            mapping[audio_in.index] = out.add_stream_from_template(audio_in)
        inputs = [s for s in src.streams if s.index in mapping]
        for packet in src.demux(inputs):
            if packet.dts is None:
                continue
            packet.stream = mapping[packet.stream.index]
            out.mux(packet)
        write_tone(out, generated, duration_s, tone_hz)


def make_cover(source: Path, dest: Path) -> None:
    """A JPEG of the first frame."""
    with av.open(str(source)) as src:
        frame = next(src.decode(video=0))
    with atomic_file(dest) as handle, av.open(handle, mode="w", format="mjpeg") as out:
        stream = out.add_stream("mjpeg", rate=1)
        stream.width = frame.width
        stream.height = frame.height
        stream.pix_fmt = "yuvj420p"
        stream.codec_context.time_base = Fraction(1, 1)
        image = frame.reformat(format="yuvj420p")
        image.pts = 0
        for packet in stream.encode(image):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)


def make_wav(dest: Path, duration_s: float, tone_hz: float = 660.0) -> None:
    """The generated sound track alone, as 16-bit PCM WAV."""
    with atomic_file(dest) as handle, av.open(handle, mode="w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=48000)
        stream.layout = "mono"
        write_tone(out, stream, duration_s, tone_hz)


def make_zip(dest: Path, files: Iterable[tuple[str, Path]]) -> None:
    with atomic_file(dest) as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED) as archive:
        for name, path in files:
            archive.write(path, name)
