"""What the fake "Kling" does to media: probe an upload, make the result, a cover, a WAV."""

from __future__ import annotations

import itertools
import logging
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import av.error
from av.filter import Graph
from av.filter.context import FilterContext

from kling_desktop.files import atomic_file
from kling_desktop.media.synth import write_tone

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class VideoInfo:
    duration_s: float
    width: int
    height: int
    has_audio: bool
    container: str = ""  # FFmpeg's demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"

    @property
    def is_mp4_or_mov(self) -> bool:
        """Whether the bytes are an MP4/QuickTime file (one demuxer reads both)."""
        return "mp4" in self.container.split(",") or "mov" in self.container.split(",")


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
                container=container.format.name,
            )
    except av.FFmpegError as exc:
        raise ValueError(f"the file is not a readable video ({exc})") from None


def make_result(
    source: Path, dest: Path, *, duration_s: float, tone_hz: float, keep_original: bool
) -> bool:
    """Remux ``source``'s video (no re-encode) with ONE sound track into ``dest``; return whether
    the clip's own sound is in it.

    The track is the generated tone (``tone_hz``, ``duration_s`` long, at ``sine``'s −18 dBFS)
    and, with ``keep_original``, the clip's own sound mixed into it at its own level (a plain
    sum, no normalisation), as AAC. [I] The contract shows no finished add-sound result;
    Kling's video-to-audio hands back "a video with the new sound" (contract §3, §8), so a
    kept original is part of that one track, not a second stream.
    """
    if keep_original:
        try:
            with atomic_file(dest) as out:
                _mux_result(source, out, duration_s, tone_hz, mix_original=True)
            return True
        except (av.FFmpegError, ValueError) as exc:
            # The clip's own sound cannot be decoded: the result has the generated sound only.
            log.warning("Simulator could not mix the sound of %s: %s", source.name, exc)
    with atomic_file(dest) as out:
        _mux_result(source, out, duration_s, tone_hz, mix_original=False)
    return False


def _mux_result(
    source: Path, dest: BinaryIO, duration_s: float, tone_hz: float, *, mix_original: bool
) -> None:
    with av.open(str(source)) as src, av.open(dest, mode="w", format="mp4") as out:
        video_in = src.streams.video[0]
        video_out = out.add_stream_from_template(video_in)
        sound = out.add_stream("aac", rate=48000)
        sound.layout = "mono"
        for packet in src.demux(video_in):
            if packet.dts is None:
                continue
            packet.stream = video_out
            out.mux(packet)
        if mix_original and src.streams.audio:
            with av.open(str(source)) as again:
                _write_mix(out, sound, duration_s, tone_hz, again)
        else:
            write_tone(out, sound, duration_s, tone_hz)


def _write_mix(
    out: av.container.OutputContainer,
    stream: av.audio.stream.AudioStream,
    duration_s: float,
    tone_hz: float,
    original: av.container.InputContainer,
) -> None:
    """Encode the generated tone + the first audio stream of ``original`` (summed, no
    normalisation), ``duration_s`` long, into ``stream``."""
    codec = stream.codec_context
    rate = codec.sample_rate or 48000
    frame_size = codec.frame_size or 1024
    end = str(round(duration_s * rate))
    audio_in = original.streams.audio[0]
    graph = Graph()
    common = {"sample_fmts": "fltp", "sample_rates": str(rate), "channel_layouts": "mono"}
    generated = _chain(
        graph.add("sine", frequency=str(tone_hz), sample_rate=str(rate)),
        graph.add("atrim", end_sample=end),
        graph.add("aformat", **common),
    )
    own = _chain(
        graph.add_abuffer(template=audio_in),
        graph.add("aformat", **common),  # a stereo clip is downmixed to the result's mono
        graph.add("atrim", end_sample=end),
    )
    mix = graph.add("amix", inputs="2", duration="first", normalize="0")
    generated.link_to(mix, 0, 0)
    own.link_to(mix, 0, 1)
    _chain(
        mix,
        graph.add("aformat", sample_fmts=codec.format.name, channel_layouts=codec.layout.name),
        graph.add("asetnsamples", nb_out_samples=str(frame_size), pad="0"),
        graph.add("abuffersink"),
    )
    graph.configure()

    def encode_ready(*, final: bool) -> None:
        while True:
            try:
                frame = graph.pull()
            except av.error.BlockingIOError:
                if final:
                    raise
                return
            except av.error.EOFError:
                return
            assert isinstance(frame, av.AudioFrame)
            for packet in stream.encode(frame):
                out.mux(packet)

    pushing = True
    for frame in original.decode(audio_in):
        try:
            graph.push(frame)
        except av.error.EOFError:  # the mix has ended (the clip's sound runs longer)
            pushing = False
            break
        encode_ready(final=False)
    if pushing:
        graph.push(None)
    encode_ready(final=True)
    for packet in stream.encode(None):
        out.mux(packet)


def _chain(*nodes: FilterContext) -> FilterContext:
    """Link ``nodes`` one after the other; return the last."""
    for left, right in itertools.pairwise(nodes):
        left.link_to(right)
    return nodes[-1]


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


def make_wav(dest: Path, duration_s: float, tone_hz: float) -> None:
    """The generated sound track alone, as 16-bit PCM WAV."""
    with atomic_file(dest) as handle, av.open(handle, mode="w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=48000)
        stream.layout = "mono"
        write_tone(out, stream, duration_s, tone_hz)


def make_zip(dest: Path, files: Iterable[tuple[str, Path]]) -> None:
    with atomic_file(dest) as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED) as archive:
        for name, path in files:
            archive.write(path, name)
