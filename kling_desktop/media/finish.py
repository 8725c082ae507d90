"""Finishing a result on this computer (issue #12): join the parts' sound, put it on the picture.

Kling answers each part of a clip with an MP4 whose audio track is the generated sound (its
picture is Kling's copy of the part and is not used). :func:`join_sound` lays those sounds on
the original clip's timeline as one working WAV; :func:`remux` puts a sound under the ORIGINAL
clip's own video stream, copied packet for packet.

The shipped Linux app's FFmpeg encodes only MPEG-4 Part 2, AAC, FLAC and PCM, so nothing here
re-encodes the picture (except a GIF, which has no stream a video container can carry) and the
sound is always encoded as AAC.
"""

from __future__ import annotations

import functools
import io
import logging
import math
from array import array
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol

import av

from kling_desktop.cancel import CancelToken
from kling_desktop.files import atomic_path
from kling_desktop.media.probe import HEAD_BYTES, ProbeResult, sniff
from kling_desktop.media.sound import (
    WORK_RATE,
    WavWriter,
    channels_of,
    decode_chunks,
    frames_of,
    layout_for,
    read_samples,
    start_of,
)

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    Packet = av.Packet[Any]

#: A seam with no audio beyond the earlier piece's end gets this short dip instead of a
#: crossfade: long enough that the cut makes no click, short enough not to be heard as a gap.
_DECLICK_S: Final = 0.005
#: Less audio than this beyond a piece's end is not worth a crossfade: the seam is de-clicked.
_MIN_TAIL_S: Final = 0.010

#: Codecs that play from MP4 nearly everywhere (phones, browsers, editors).
_MP4_CODECS: Final = frozenset({"h264", "hevc", "mpeg4", "av1"})
#: Codecs at home in QuickTime (editing and intermediate codecs).
_QUICKTIME_CODECS: Final = frozenset({"prores", "dnxhd", "qtrle", "hap", "cinepak", "rawvideo"})
#: Pictures no container of ours carries well: re-encoded to MP4.
_ENCODED_CODECS: Final = frozenset({"gif", "apng", "webp"})
_FORMATS: Final = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska"}
#: MP4 and MOV with their index first, so a web page or a player streaming the result can
#: start before the whole file has arrived (the muxer moves it at the end of writing).
_MUX_OPTIONS: Final[dict[str, dict[str, str]]] = {
    ".mp4": {"movflags": "faststart"},
    ".mov": {"movflags": "faststart"},
    ".mkv": {},
}
#: Container metadata the muxer writes for itself.
_OWN_TAGS: Final = frozenset({"major_brand", "minor_version", "compatible_brands", "encoder"})

_AAC_BIT_RATE: Final = {1: 128_000, 2: 192_000}


class PartLike(Protocol):
    """One part of a clip, in the original clip's timeline (``media/prepare.py``'s ``Part``)."""

    @property
    def index(self) -> int: ...

    @property
    def start_s(self) -> float: ...

    @property
    def end_s(self) -> float: ...


# -- joining the parts' sound -------------------------------------------------------------------


def join_sound(
    pieces: Sequence[tuple[Path, PartLike]],
    dest: Path,
    *,
    total_s: float,
    crossfade_s: float = 0.2,
    progress: Callable[[float], None] | None = None,
    cancel: CancelToken | None = None,
) -> Path:
    """Lay each part's generated sound at its place in the clip and write one working WAV.

    ``pieces`` pairs each downloaded Kling result with its part. A piece starts at its part's
    ``start_s`` and rules until the next part starts (the last until its ``end_s``: a short
    clip extended to 3 s for Kling is cut back to the clip's length). At a seam the earlier
    piece's audio *beyond its own end*, when it has some, crossfades with the start of the next
    one over up to ``crossfade_s`` (equal power: the pieces are independent sounds, so their
    powers add). A piece with no audio beyond its end meets the next with a 5 ms fade out and in
    (no click, no audible gap). The result is padded with silence or cut to ``total_s``.

    Writes 32-bit float WAV, 48 kHz, mono when every piece is mono, else stereo.

    Raises:
        ValueError: no pieces, or none of them has any sound.
        Cancelled: ``cancel`` was set; ``dest`` is left as it was.
    """
    if not pieces:
        raise ValueError("There is no sound to join: no part has a result.")
    ordered = sorted(pieces, key=lambda piece: (piece[1].start_s, piece[1].index))
    channels = max(channels_of(path) for path, _ in ordered)
    if channels == 0:
        raise ValueError("Kling's results for this clip have no sound track.")
    layout = layout_for(channels)
    width = 1 if layout == "mono" else 2
    total = round(total_s * WORK_RATE)
    fade = max(0, round(crossfade_s * WORK_RATE))
    declick = round(_DECLICK_S * WORK_RATE)
    min_tail = round(_MIN_TAIL_S * WORK_RATE)
    starts = [round(part.start_s * WORK_RATE) for _, part in ordered]
    seams = [*starts[1:], round(ordered[-1][1].end_s * WORK_RATE)]

    with WavWriter(dest, layout) as writer:
        carry: array[float] = array("f")  # the earlier piece's faded-out tail
        fade_in = 0  # samples at the start of the next piece to fade in (onto ``carry``)
        for k, (path, part) in enumerate(ordered):
            if cancel is not None:
                cancel.raise_if_cancelled()
            start, seam = starts[k], seams[k]
            if start > writer.samples_written:  # parts that leave a gap: silence
                writer.write_bytes(bytes((start - writer.samples_written) * width * 4))
            audio = read_samples(path, layout, cancel=cancel) if channels_of(path) else array("f")
            have = len(audio) // width
            main = max(0, seam - start)
            skip = min(main, max(0, writer.samples_written - start))
            body = audio[: main * width]
            if len(body) < main * width:  # the sound runs out before the part ends
                body.extend([0.0] * (main * width - len(body)))
            if fade_in:
                _fade(body, width, 0, min(fade_in, len(body) // width), rising=True)
                for i in range(min(len(carry), len(body))):
                    body[i] += carry[i]
            if have < main:
                log.warning(
                    "Part %d's sound is %.2f s long but the part lasts %.2f s: silence fills in",
                    part.index, have / WORK_RATE, main / WORK_RATE,
                )  # fmt: skip
            carry, fade_in = array("f"), 0
            last = k == len(ordered) - 1
            tail = have - main
            if not last and tail >= min_tail:
                window = min(fade, tail, seams[k + 1] - starts[k + 1])
                carry = audio[main * width : (main + window) * width]
                _fade(carry, width, 0, window, rising=False)
                fade_in = window
            elif have > 0 and (not last or tail > 0 or have < main):
                # A hard cut (next piece, the clip's end, or the sound running out): de-click.
                end = min(have, main)
                _fade(body, width, max(0, end - declick), end, rising=False)
                fade_in = declick if not last else 0
            room = max(0, total - writer.samples_written)
            writer.write_bytes(body[skip * width : (skip + room) * width].tobytes())
            if progress is not None:
                progress((k + 1) / len(ordered))
        if writer.samples_written < total:
            writer.write_bytes(bytes((total - writer.samples_written) * width * 4))
    return Path(dest)


def _fade(samples: array[float], width: int, begin: int, end: int, *, rising: bool) -> None:
    """Equal-power fade (quarter sine) of the interleaved samples ``begin`` … ``end`` in place."""
    length = end - begin
    for j in range(max(0, length)):
        angle = math.pi / 2 * (j + 0.5) / length
        gain = math.sin(angle) if rising else math.cos(angle)
        base = (begin + j) * width
        for c in range(width):
            samples[base + c] *= gain


# -- the result's container ---------------------------------------------------------------------


@functools.cache
def _muxable(fmt: str) -> frozenset[str]:
    with av.open(io.BytesIO(), mode="w", format=fmt) as out:
        return frozenset(out.supported_codecs)


def _describe(original: ProbeResult | Path) -> tuple[str, str | None]:
    """(container, video codec) of a probe result or a file (read from its headers)."""
    if isinstance(original, ProbeResult):
        return original.container, original.video_codec
    path = Path(original)
    with open(path, "rb") as handle:
        sniffed = sniff(handle.read(HEAD_BYTES))
    container = "mov" if sniffed.kind == "isobmff" and sniffed.brand in (None, "qt  ") else ""
    with av.open(str(path)) as opened:
        stream = _video_stream(opened)
        return container, stream.codec_context.name if stream is not None else None


def _video_stream(container: av.container.InputContainer) -> av.video.stream.VideoStream | None:
    for stream in container.streams.video:
        if not stream.disposition & av.stream.Disposition.attached_pic:
            return stream
    return None


def result_extension(original: ProbeResult | Path) -> str:
    """The extension :func:`remux` gives the result of ``original``: ".mp4", ".mov" or ".mkv".

    The picture is copied as it is, so the container must hold its codec next to AAC:
    a QuickTime original stays QuickTime; H.264, HEVC, MPEG-4 and AV1 go to MP4; editing codecs
    (ProRes, DNxHD…) to MOV; anything else Matroska takes (VP8, VP9, Theora…) to MKV — WebM
    cannot hold AAC, and MKV is its superset. A GIF (or a codec none of them takes) is encoded
    to MP4.

    Raises:
        ValueError: ``original`` has no picture.
    """
    container, codec = _describe(original)
    if codec is None:
        raise ValueError("The original clip has no picture to put the sound on.")
    if codec in _ENCODED_CODECS:
        return ".mp4"
    if container == "mov" and codec in _muxable("mov"):
        return ".mov"
    if codec in _MP4_CODECS:
        return ".mp4"
    if codec in _QUICKTIME_CODECS and codec in _muxable("mov"):
        return ".mov"
    if codec in _muxable("matroska"):
        return ".mkv"
    return ".mp4"


def remux(
    original: Path,
    sound: Path,
    dest_base: Path,
    *,
    progress: Callable[[float], None] | None = None,
    cancel: CancelToken | None = None,
) -> Path:
    """Write the result: ``original``'s video stream copied packet for packet, ``sound`` as AAC.

    ``dest_base`` is the name without its extension (``clip.sound`` → ``clip.sound.mp4``); the
    extension is :func:`result_extension`'s. The picture keeps its codec, frame count, timing
    and rotation; the container's tags (title, date…) are kept; the original's own sound,
    subtitles and other streams are left out. The sound is cut or padded with silence to the
    original's length. A picture that cannot be copied (a GIF) is encoded to MP4 with H.264
    where this build has it, else MPEG-4 Part 2.

    Raises:
        ValueError: ``original`` has no picture.
        Cancelled: ``cancel`` was set; nothing is left at the destination.
    """
    extension = result_extension(original)
    dest = dest_base.with_name(dest_base.name + extension)
    with av.open(str(original)) as source:
        video = _video_stream(source)
        if video is None:
            raise ValueError("The original clip has no picture to put the sound on.")
        length_s = _length_of(source, video)
        codec = video.codec_context.name
        encode = codec in _ENCODED_CODECS or codec not in _muxable(_FORMATS[extension])
        channels = channels_of(sound) or 2
        layout = layout_for(channels)
        with (
            atomic_path(dest) as temp,
            av.open(
                str(temp), mode="w", format=_FORMATS[extension], options=_MUX_OPTIONS[extension]
            ) as out,
        ):
            for key, value in source.metadata.items():
                if key.lower() not in _OWN_TAGS:
                    out.metadata[key] = value
            picture: av.stream.Stream
            if encode:
                picture = _encoder_for(out, video)
            else:
                picture = out.add_stream_from_template(video, opaque=True)
            audio = out.add_stream("aac", rate=WORK_RATE)
            assert isinstance(audio, av.audio.stream.AudioStream)
            audio.layout = layout
            audio.bit_rate = _AAC_BIT_RATE[channels if channels in (1, 2) else 2]
            # The sound is small next to the picture: encode it first, then lay its packets
            # between the picture's in time order so players never wait for either.
            offset = round(start_of(source) * WORK_RATE)
            sound_packets = list(_encode_sound(sound, audio, layout, length_s, offset, cancel))
            waiting = iter(sound_packets)
            pending = next(waiting, None)
            pictures = (
                _encode_pictures(source, video, picture, cancel)
                if encode
                else _copy_packets(source, video, picture, cancel)
            )
            for packet in pictures:
                at = _time_of(packet)
                while pending is not None and _time_of(pending) <= at:
                    out.mux(pending)
                    pending = next(waiting, None)
                out.mux(packet)
                if progress is not None and length_s > 0:
                    progress(min(1.0, max(0.0, at / length_s)))
            while pending is not None:
                out.mux(pending)
                pending = next(waiting, None)
    if progress is not None:
        progress(1.0)
    return dest


def _length_of(source: av.container.InputContainer, video: av.video.stream.VideoStream) -> float:
    """The original's length as players show it: the container's, else its picture's."""
    if source.duration:
        return source.duration / av.time_base
    if video.duration and video.time_base:
        return float(video.duration * video.time_base)
    return 0.0


def _time_of(packet: Packet) -> float:
    stamp = packet.dts if packet.dts is not None else packet.pts
    if stamp is None or packet.time_base is None:
        return 0.0
    return float(stamp * packet.time_base)


def _copy_packets(
    source: av.container.InputContainer,
    video: av.video.stream.VideoStream,
    target: av.stream.Stream,
    cancel: CancelToken | None,
) -> Iterator[Packet]:
    for packet in source.demux(video):
        if cancel is not None:
            cancel.raise_if_cancelled()
        if packet.size == 0:  # the demuxer's end-of-stream marker
            continue
        packet.stream = target  # type: ignore[assignment]  # the stubs pin it to the input's
        yield packet


def _encode_sound(
    sound: Path,
    stream: av.audio.stream.AudioStream,
    layout: str,
    length_s: float,
    offset: int,
    cancel: CancelToken | None,
) -> Iterator[Packet]:
    """``sound`` cut or padded with silence to ``length_s``, encoded by ``stream`` from
    ``offset`` (samples: where the original's timeline starts)."""
    width = (1 if layout == "mono" else 2) * 4
    wanted = round(length_s * WORK_RATE) * width

    def exact() -> Iterator[bytes]:
        left = wanted
        if channels_of(sound):
            for chunk in decode_chunks(sound, layout, cancel=cancel):
                if left <= 0:
                    break
                yield chunk[:left]
                left -= min(left, len(chunk))
        while left > 0:
            step = min(left, WORK_RATE * width)
            yield bytes(step)
            left -= step

    for frame in frames_of(exact(), layout):
        frame.pts = (frame.pts or 0) + offset
        yield from stream.encode(frame)
    yield from stream.encode(None)


def _encoder_for(
    out: av.container.OutputContainer, video: av.video.stream.VideoStream
) -> av.video.stream.VideoStream:
    """A picture encoder this build has: H.264, else MPEG-4 Part 2 (in every build)."""
    name = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    rate = video.average_rate or video.guessed_rate or Fraction(25)
    stream = out.add_stream(name, rate=rate)
    assert isinstance(stream, av.video.stream.VideoStream)
    context = video.codec_context
    stream.width = context.width + context.width % 2  # 4:2:0 needs even sizes
    stream.height = context.height + context.height % 2
    stream.pix_fmt = "yuv420p"
    stream.codec_context.time_base = _encoder_time_base(video)
    if name == "libx264":
        stream.codec_context.options = {"crf": "18", "preset": "medium"}
    else:
        stream.codec_context.bit_rate = max(
            1_000_000, round(stream.width * stream.height * float(rate) * 0.2)
        )
    return stream


def _encoder_time_base(video: av.video.stream.VideoStream) -> Fraction:
    given = video.time_base
    base = Fraction(given.numerator, given.denominator) if given else Fraction(1, 1000)
    # MPEG-4 Part 2 stores the time base in 16 bits.
    return base if base.denominator < 65536 else Fraction(1, 1000)


def _encode_pictures(
    source: av.container.InputContainer,
    video: av.video.stream.VideoStream,
    target: av.stream.Stream,
    cancel: CancelToken | None,
) -> Iterator[Packet]:
    assert isinstance(target, av.video.stream.VideoStream)
    base = target.codec_context.time_base or Fraction(1, 1000)
    previous = -1
    for frame in source.decode(video):
        if cancel is not None:
            cancel.raise_if_cancelled()
        picture = frame.reformat(width=target.width, height=target.height, format="yuv420p")
        seconds = frame.time if frame.time is not None else (previous + 1) * float(base)
        pts = max(previous + 1, round(seconds / base))  # strictly rising
        picture.pts, picture.time_base, previous = pts, base, pts
        yield from target.encode(picture)
    yield from target.encode(None)
