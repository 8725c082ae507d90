"""Make any clip Kling-ready: convert, split, extend or shrink it into MP4 upload files.

Kling's add-sound takes H.264 MP4/MOV clips of 3-20 s, at most 100 MB, 720p/1080p
(``rules.py``). :func:`make_plan` decides, from a clip's probe alone, what must happen to it
(:class:`Plan`); :func:`plan_clip` adds the clip's keyframe times when it must be split, so that
cuts can fall on keyframes and the parts be stream-copied (no re-encode, no quality lost, fast).
:func:`prepare_part` then writes one upload file per :class:`Part`, in-process with PyAV (never
an ffmpeg binary), atomically.

Re-encoding uses H.264 where an encoder exists (x264, or the platform's own) and MPEG-4 Part 2
otherwise: the Linux bundle's FFmpeg encodes only ``mpeg4``, ``aac``, ``flac`` and PCM
(:func:`upload_video_encoder`). The sound is always AAC.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import av
import av.error
from av.filter import Graph

from kling_desktop.cancel import CancelToken
from kling_desktop.files import atomic_path
from kling_desktop.media.probe import ProbeResult, rotation_of
from kling_desktop.media.rules import (
    DURATION_TOLERANCE_S,
    INCOMPLETE_MESSAGE,
    MAX_DURATION_S,
    MAX_SHORT_SIDE,
    MAX_UPLOAD_BYTES,
    MIN_DURATION_S,
)

log = logging.getLogger(__name__)

#: Settings → "Longest clip": longer clips are refused rather than split into many paid jobs.
DEFAULT_MAX_LENGTH_S: Final = 300.0

STEPS: Final = ("convert", "split", "extend", "shrink")
# A part is cut a little inside Kling's limits: a cut lands on a frame or a keyframe and a
# container rounds its duration, so 20.0 s could read 20.01 s and 3.0 s read 2.99 s.
PART_MAX_S: Final = MAX_DURATION_S - 0.1
PART_MIN_S: Final = MIN_DURATION_S + 0.1
#: How long an extended clip's upload is (its last frame held, silence after its sound).
EXTEND_TO_S: Final = MIN_DURATION_S + 0.1
# Upload files aim at this share of the size limit (bit rates are estimates, not promises).
_SIZE_MARGIN: Final = 0.9
# A part whose estimated size is over this share of the limit is re-encoded smaller.
_ESTIMATE_MARGIN: Final = 0.95
_AUDIO_BIT_RATE: Final = 128_000
# The bit rate a re-encode aims at when size does not force less, per pixel and frame.
_BITS_PER_PIXEL: Final = {"h264": 0.1, "mpeg4": 0.25}
_COPY_VIDEO_CODECS: Final = frozenset({"h264"})
#: The H.264 that every decoder plays: 8 bits, 4:2:0. High 10 or 4:4:4 H.264 plays in few
#: places, so it goes to Kling converted rather than risk a paid job it cannot read.
_COPY_PIX_FMTS: Final = frozenset({"yuv420p", "yuvj420p"})
_COPY_AUDIO_CODECS: Final = frozenset({"aac"})
_UPLOAD_CONTAINERS: Final = frozenset({"mp4", "mov"})
_STANDARD_RATES: Final = tuple(
    Fraction(n, d)
    for n, d in (
        (24000, 1001), (24, 1), (25, 1), (30000, 1001), (30, 1),
        (48, 1), (50, 1), (60000, 1001), (60, 1),
    )
)  # fmt: skip
_MAX_RATE: Final = Fraction(60)
_GIF_MAX_RATE: Final = Fraction(30)
# Platform H.264 encoders, tried after x264 (the bundle on macOS / Windows may have these).
_PLATFORM_H264: Final[dict[str, tuple[str, ...]]] = {
    "darwin": ("h264_videotoolbox",),
    "win32": ("h264_mf",),
}
# Two timestamps closer than this are the same instant (well under a frame at 240 fps).
_EPS: Final = 0.002
_PROGRESS_EVERY_S: Final = 0.1


class PrepareError(Exception):
    """A clip could not be made into an upload file; ``str()`` is a sentence for the user."""

    for_the_user = True  # jobs/policy.py shows it as it is

    def __str__(self) -> str:
        reason = self.args[0] if self.args else "reading or writing it failed"
        return f"The clip could not be prepared for the upload: {reason}."


@dataclass(frozen=True)
class Part:
    """One upload, as a stretch of the original clip's timeline (seconds)."""

    index: int
    start_s: float
    end_s: float  # an extended clip's part ends at the clip's own end (its sound is cut back)

    @property
    def length_s(self) -> float:
        return self.end_s - self.start_s


@dataclass(frozen=True)
class Plan:
    """What happens to one clip before its upload, decided from its probe (and keyframes)."""

    duration_s: float
    parts: tuple[Part, ...]
    steps: tuple[str, ...]  # an ordered subset of STEPS; () = uploaded as it is
    problem: str = ""  # why the app cannot make the clip acceptable, as one sentence
    copy_video: bool = False  # the picture's packets are copied (cuts sit on keyframes)
    copy_audio: bool = False  # the sound's packets are copied (it is AAC already)
    width: int = 0  # the re-encoded picture's stored size; 0 when the video is copied
    height: int = 0
    video_bit_rate: int = 0  # the most a re-encoded picture may take, bits per second
    extend_to_s: float = 0.0  # an extended upload's length; 0 when not extended
    _json_version: int = field(default=1, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return not self.problem

    @property
    def paid_jobs(self) -> int:
        """Paid add-sound requests per take: one per part."""
        return len(self.parts)

    def describe(self) -> str:
        """A short phrase for the window's row and the CLI; "" when nothing happens."""
        if not self.ok or not self.steps:
            return ""
        alone = len(self.steps) == 1
        words = {
            "convert": "converted to MP4 for the upload" if alone else "converted",
            "split": f"split into {len(self.parts)} parts",
            "extend": f"extended to {MIN_DURATION_S:g} s",
            "shrink": "made smaller for the upload" if alone else "made smaller",
        }
        phrases = [words[step] for step in self.steps]
        if len(phrases) > 1:
            phrases = [", ".join(phrases[:-1]) + " and " + phrases[-1]]
        return "will be " + phrases[0]

    def to_json(self) -> str:
        return json.dumps(
            {
                "version": self._json_version,
                "duration_s": self.duration_s,
                "parts": [[part.start_s, part.end_s] for part in self.parts],
                "steps": list(self.steps),
                "problem": self.problem,
                "copy_video": self.copy_video,
                "copy_audio": self.copy_audio,
                "width": self.width,
                "height": self.height,
                "video_bit_rate": self.video_bit_rate,
                "extend_to_s": self.extend_to_s,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> Plan:
        """The plan :meth:`to_json` wrote. Raises ValueError for anything else."""
        try:
            data = json.loads(text)
            steps = tuple(str(step) for step in data["steps"])
            if any(step not in STEPS for step in steps):
                raise ValueError(f"unknown step in {steps}")
            return cls(
                duration_s=float(data["duration_s"]),
                parts=tuple(
                    Part(index, float(start), float(end))
                    for index, (start, end) in enumerate(data["parts"])
                ),
                steps=steps,
                problem=str(data.get("problem", "")),
                copy_video=bool(data.get("copy_video", False)),
                copy_audio=bool(data.get("copy_audio", False)),
                width=int(data.get("width", 0)),
                height=int(data.get("height", 0)),
                video_bit_rate=int(data.get("video_bit_rate", 0)),
                extend_to_s=float(data.get("extend_to_s", 0.0)),
            )
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"not a stored plan: {exc}") from exc


# --- planning --------------------------------------------------------------------------------


def make_plan(
    probe: ProbeResult,
    *,
    keyframes: Sequence[float] = (),
    max_length_s: float = DEFAULT_MAX_LENGTH_S,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
) -> Plan:
    """Decide what must happen to the clip ``probe`` describes. Pure: no I/O.

    ``keyframes`` are the video's keyframe times (seconds from the clip's start); a split puts
    its cuts on them where it can, so the parts are copied rather than re-encoded.
    ``max_upload_bytes`` is Kling's size limit (lowered by tests to shrink small clips).
    """
    duration = probe.duration
    problem = _problem(probe, duration, max_length_s)
    if problem or duration is None:
        return Plan(duration or 0.0, (), (), problem or "The clip's length cannot be read.")
    video_fits = probe.video_codec in _COPY_VIDEO_CODECS and (
        probe.pix_fmt is None or probe.pix_fmt in _COPY_PIX_FMTS
    )
    audio_fits = not probe.has_audio or probe.audio_codec in _COPY_AUDIO_CODECS
    convert = not (video_fits and audio_fits and probe.container in _UPLOAD_CONTAINERS)
    split = duration > MAX_DURATION_S + DURATION_TOLERANCE_S
    extend = duration < MIN_DURATION_S - DURATION_TOLERANCE_S
    on_keyframes = True
    if split:
        count = math.ceil(duration / PART_MAX_S)
        cuts, on_keyframes = _cut_points(duration, count, keyframes, probe.fps)
        parts = tuple(
            Part(index, start, end)
            for index, (start, end) in enumerate(zip(cuts, [*cuts[1:], duration], strict=True))
        )
    else:
        parts = (Part(0, 0.0, duration),)
    upload_s = max(EXTEND_TO_S, max(part.length_s for part in parts))
    width, height = probe.width or 0, probe.height or 0
    too_big_picture = min(width, height) > MAX_SHORT_SIDE
    if split or convert:
        bytes_per_s = probe.size_bytes / duration if duration > 0 else 0.0
        heaviest = bytes_per_s * max(part.length_s for part in parts)
        too_heavy = heaviest > max_upload_bytes * _ESTIMATE_MARGIN
    else:
        too_heavy = probe.size_bytes > max_upload_bytes
    shrink = too_big_picture or too_heavy
    copy_video = video_fits and not shrink and not extend and on_keyframes
    steps = tuple(
        step for step, wanted in zip(STEPS, (convert, split, extend, shrink), strict=True) if wanted
    )
    out_width, out_height = (0, 0) if copy_video else _output_size(width, height)
    return Plan(
        duration_s=duration,
        parts=parts,
        steps=steps,
        copy_video=copy_video,
        copy_audio=probe.has_audio and probe.audio_codec in _COPY_AUDIO_CODECS and not extend,
        width=out_width,
        height=out_height,
        video_bit_rate=0 if copy_video else _bit_rate_cap(upload_s, max_upload_bytes),
        extend_to_s=EXTEND_TO_S if extend else 0.0,
    )


def plan_clip(
    path: Path,
    probe: ProbeResult,
    *,
    max_length_s: float = DEFAULT_MAX_LENGTH_S,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
) -> Plan:
    """:func:`make_plan` for the file at ``path``, reading its keyframe times only when the
    clip must be split (packets are demuxed, not decoded: milliseconds for a minute of video).
    """
    plan = make_plan(probe, max_length_s=max_length_s, max_upload_bytes=max_upload_bytes)
    if not plan.ok or "split" not in plan.steps:
        return plan
    try:
        keyframes = keyframe_times(path)
    except (av.FFmpegError, OSError) as exc:
        log.info("No keyframe times for %s (%s): its parts will be cut exactly", path, exc)
        return plan
    return make_plan(
        probe, keyframes=keyframes, max_length_s=max_length_s, max_upload_bytes=max_upload_bytes
    )


def keyframe_times(path: Path) -> tuple[float, ...]:
    """The video's keyframe times in seconds from the clip's start.

    An MP4/MOV index lists every sample, so where frames are not reordered (no B-frames: a
    sample's decode time is its presentation time) the keyframes are read from it without
    touching the data. Otherwise the packets are demuxed (read, never decoded).
    """
    with av.open(str(path)) as container:
        stream = _video_stream(container)
        if stream is None or stream.time_base is None:
            return ()
        origin = _origin(container)
        base = stream.time_base
        from_index = _keyframes_from_index(container, stream)
        if from_index is not None:
            return tuple(sorted(float(ts * base) - origin for ts in from_index))
        times = [
            float(packet.pts * base) - origin
            for packet in container.demux(stream)
            if packet.is_keyframe and packet.pts is not None
        ]
    return tuple(sorted(times))


def _keyframes_from_index(container: Any, stream: Any) -> list[int] | None:
    """Keyframe timestamps from the container's sample index, or None when it cannot tell."""
    if stream.codec_context.has_b_frames or "mp4" not in container.format.name.split(","):
        return None
    try:
        entries = stream.index_entries
        count = len(entries)
        if count < 2:
            return None
        keys = [entry.timestamp for entry in entries if entry.is_keyframe]
        first = next((p for p in container.demux(stream) if p.pts is not None and p.size), None)
    except (AttributeError, av.FFmpegError):
        return None
    if first is None or not keys:
        return None
    # The index holds decode times; without reordering they are the presentation times,
    # shifted by the edit list the first packet shows.
    return [first.pts - entries[0].timestamp + k for k in keys]


def _problem(probe: ProbeResult, duration: float | None, max_length_s: float) -> str:
    if not probe.has_video:
        return "There is no video in this file."
    if probe.damage is not None:
        return INCOMPLETE_MESSAGE
    if duration is None or duration <= 0:
        return "The clip's length cannot be read."
    if duration > max_length_s + DURATION_TOLERANCE_S:
        return (
            f"It is {format_length(duration)} long; the app splits clips up to "
            f"{format_length(max_length_s)} (Settings → Longest clip)."
        )
    return ""


def format_length(seconds: float) -> str:
    """A length as people say it: "45 s", "5 min", "6 min 30 s", "1 h 2 min"."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{seconds:.1f} s" if seconds < 10 else f"{whole} s"


def _cut_points(
    duration: float, count: int, keyframes: Sequence[float], fps: float | None
) -> tuple[list[float], bool]:
    """Where ``count`` parts start: near even splits, on a keyframe where one fits.

    Each cut keeps the part before it within PART_MIN_S..PART_MAX_S and leaves a rest the
    remaining parts can cover, so the result always fits. The bool says every cut is a keyframe.
    """
    keys = sorted(k for k in keyframes if _EPS < k < duration - _EPS)
    cuts = [0.0]
    on_keyframes = True
    for index in range(1, count):
        previous, after = cuts[-1], count - index
        low = max(previous + PART_MIN_S, duration - after * PART_MAX_S)
        high = min(previous + PART_MAX_S, duration - after * PART_MIN_S)
        target = previous + (duration - previous) / (after + 1)
        fitting = [k for k in keys if low <= k <= high]
        if fitting:
            cut = min(fitting, key=lambda k: abs(k - target))
        else:
            on_keyframes = False
            cut = target
            if fps:  # on a frame boundary, so a part is a whole number of frames long
                snapped = round(target * fps) / fps
                cut = snapped if low <= snapped <= high else target
        cuts.append(cut)
    return cuts, on_keyframes


def _output_size(width: int, height: int) -> tuple[int, int]:
    """The stored size of a re-encoded picture: at most 1080p, even sides, never larger."""
    if not width or not height:
        return 0, 0
    scale = min(1.0, MAX_SHORT_SIDE / min(width, height))
    return _even(width * scale), _even(height * scale)


def _even(value: float) -> int:
    return max(2, int(value) // 2 * 2)


def _bit_rate_cap(upload_s: float, max_upload_bytes: int) -> int:
    """The picture's bit rate ceiling so an upload of ``upload_s`` fits the size limit.

    An encoder may overshoot its ceiling by up to one buffer (one second of it), so the
    budget is spread over one second more than the upload lasts.
    """
    budget_bits = max_upload_bytes * _SIZE_MARGIN * 8 - _AUDIO_BIT_RATE * upload_s
    return max(100_000, int(budget_bits / (upload_s + 1.0)))


# --- the encoder -----------------------------------------------------------------------------


@functools.cache
def upload_video_encoder() -> str:
    """The encoder a re-encode uses: x264, a platform H.264 encoder, else MPEG-4 Part 2.

    An encoder is chosen only if it opens (a GPU or platform encoder may be listed but absent).
    """
    candidates: tuple[str, ...] = ("libx264", *_PLATFORM_H264.get(sys.platform, ()))
    for name in candidates:
        if name in av.codecs_available and _encoder_opens(name):
            return name
    return "mpeg4"


def _encoder_opens(name: str) -> bool:
    try:
        context = av.CodecContext.create(name, "w")
        assert isinstance(context, av.VideoCodecContext)
        context.width, context.height, context.pix_fmt = 64, 64, "yuv420p"
        context.time_base = Fraction(1, 25)
        context.open()
    except (av.FFmpegError, ValueError):
        log.info("The %s encoder is listed but does not open", name)
        return False
    return True


def _encoder_settings(
    encoder: str, width: int, height: int, rate: Fraction, cap: int
) -> tuple[int, dict[str, str]]:
    """(bit rate, codec options) for a re-encode: good quality, never over ``cap``."""
    kind = "mpeg4" if encoder == "mpeg4" else "h264"
    wanted = int(width * height * float(rate) * _BITS_PER_PIXEL[kind])
    ceiling = str(cap)
    if encoder == "libx264":
        # Constant quality, held under the size ceiling by the VBV buffer.
        return 0, {"preset": "veryfast", "crf": "20", "maxrate": ceiling, "bufsize": ceiling}
    return min(wanted, cap), {"maxrate": ceiling, "bufsize": ceiling}


# --- preparing -------------------------------------------------------------------------------


def prepare_part(
    source: Path,
    plan: Plan,
    part: Part,
    dest: Path,
    *,
    progress: Callable[[float], None] | None = None,
    cancel: CancelToken | None = None,
    encoder: str | None = None,
) -> Path:
    """Write ``part`` of ``source`` as one upload-ready MP4 at ``dest`` and return ``dest``.

    The file appears whole or not at all (``files.atomic_path``). ``progress`` gets fractions
    0..1 now and then (1.0 at the end); ``cancel`` is checked between packets and raises
    :class:`~kling_desktop.cancel.Cancelled`. ``encoder`` replaces
    :func:`upload_video_encoder`'s choice when the picture is re-encoded.

    Raises:
        PrepareError: the clip could not be read or the upload file not written.
        ValueError: the plan has a problem, or ``part`` is not one of its parts.
    """
    if not plan.ok:
        raise ValueError(f"this clip cannot be prepared: {plan.problem}")
    if part not in plan.parts:
        raise ValueError(f"part {part} is not in the plan")
    dest = Path(dest)
    try:
        with av.open(str(source)) as container, atomic_path(dest) as temp:
            job = _PartWriter(container, plan, part, encoder or upload_video_encoder())
            job.write(temp, progress, cancel)
    except av.FFmpegError as exc:
        log.warning("Preparing part %d of %s failed: %s", part.index, source, exc)
        raise PrepareError(_reason(exc)) from exc
    except OSError as exc:
        raise PrepareError(exc.strerror.lower() if exc.strerror else str(exc)) from exc
    if progress is not None:
        progress(1.0)
    return dest


def _reason(exc: av.FFmpegError) -> str:
    if isinstance(exc, av.error.InvalidDataError):
        return "its data is damaged"
    return "FFmpeg could not read or write it"


class _PartWriter:
    """One pass over the source from the part's start: packets copied or frames re-encoded."""

    def __init__(self, container: Any, plan: Plan, part: Part, encoder: str) -> None:
        self.container = container
        self.plan = plan
        self.part = part
        self.encoder = encoder
        self.origin = _origin(container)
        video = _video_stream(container)
        if video is None:
            raise PrepareError("it has no video")
        self.video_in = video
        self.audio_in = next(iter(container.streams.audio), None)
        first, last = part.index == 0, part.index == len(plan.parts) - 1
        # The first part takes anything before 0 (encoder delay), the last anything past the
        # nominal end, so together the parts take every packet exactly once.
        self.start = -math.inf if first else part.start_s
        self.end = math.inf if last else part.end_s

    def write(
        self, dest: Path, progress: Callable[[float], None] | None, cancel: CancelToken | None
    ) -> None:
        # FFmpeg writes the file itself: +faststart reopens it by name to move the index to
        # the front, as the service's upload page asks of an MP4.
        with av.open(str(dest), "w", format="mp4", options={"movflags": "+faststart"}) as out:
            handlers: list[_Handler] = []
            video: _Handler
            if self.plan.copy_video:
                video = _CopyHandler(out, self.video_in, self, keyframe_bound=True)
            else:
                video = _VideoEncoder(out, self.video_in, self)
            handlers.append(video)
            if self.audio_in is not None:
                if self.plan.copy_audio:
                    handlers.append(_CopyHandler(out, self.audio_in, self, keyframe_bound=False))
                else:
                    handlers.append(_AudioEncoder(out, self.audio_in, self))
            by_index = {handler.stream.index: handler for handler in handlers}
            self._seek()
            reported, last_report = 0.0, time.monotonic()
            for packet in self.container.demux(*(h.stream for h in handlers)):
                if cancel is not None:
                    cancel.raise_if_cancelled()
                handler = by_index.get(packet.stream.index)
                if handler is None or handler.done:
                    continue
                handler.feed(packet)
                if all(h.done for h in handlers):
                    break
                if progress is not None and time.monotonic() - last_report > _PROGRESS_EVERY_S:
                    fraction = min(0.99, max(reported, video.reached / self._span()))
                    if fraction > reported:
                        progress(fraction)
                        reported = fraction
                    last_report = time.monotonic()
            for handler in handlers:
                if cancel is not None:
                    cancel.raise_if_cancelled()
                handler.finish()

    def _span(self) -> float:
        return max(self.part.length_s, 1e-3)

    def _seek(self) -> None:
        if self.part.index == 0 or self.part.start_s <= 0:
            return
        stream = self.video_in
        target = self.part.start_s + self.origin
        if stream.time_base is None:
            return
        try:
            # The keyframe at or before the start; a copied part starts exactly on one.
            self.container.seek(
                int((target + _EPS) / stream.time_base), stream=stream, backward=True
            )
        except av.FFmpegError as exc:  # unseekable (some GIFs, raw streams): read from 0
            log.info("Seek failed (%s); reading from the start", exc)

    def relative(self, seconds: float) -> float:
        """A time of the source as seconds from the part's start."""
        return seconds - self.origin - max(self.part.start_s, 0.0)


class _Handler:
    stream: Any
    done: bool = False
    reached: float = 0.0  # seconds of the part handled so far

    def feed(self, packet: Any) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        raise NotImplementedError


class _CopyHandler(_Handler):
    """Copy the packets of one stream that fall in the part, rebased to start at 0.

    The video's part ends at the next part's first keyframe (in decode order every packet of
    the part comes before it); the sound's where its packets' times pass the part's end.
    """

    def __init__(self, out: Any, stream: Any, writer: _PartWriter, *, keyframe_bound: bool):
        self.stream = stream
        self.writer = writer
        self.keyframe_bound = keyframe_bound
        self.out = out
        self.out_stream = out.add_stream_from_template(stream)
        self.offset: int | None = None
        self.started = False

    def feed(self, packet: Any) -> None:
        if packet.dts is None or packet.pts is None or packet.size == 0:
            return
        writer = self.writer
        seconds = float(packet.pts * packet.time_base) - writer.origin
        if not self.started:
            if seconds < writer.start - _EPS:
                return
            if self.keyframe_bound and not packet.is_keyframe:
                return  # never start a copied picture on a frame that needs an earlier one
            self.started = True
            start = max(writer.part.start_s, 0.0) + writer.origin
            self.offset = (
                round(start / packet.time_base)
                if writer.part.index
                else round(writer.origin / packet.time_base)
            )
        if seconds >= writer.end - _EPS and (packet.is_keyframe or not self.keyframe_bound):
            self.done = True
            return
        assert self.offset is not None
        packet.pts -= self.offset
        packet.dts -= self.offset
        packet.stream = self.out_stream
        self.reached = writer.relative(seconds + writer.origin)
        self.out.mux(packet)

    def finish(self) -> None:
        self.done = True


def _output_rate(stream: Any) -> Fraction:
    """A constant frame rate for the upload: the source's, snapped to a standard rate."""
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    rate = Fraction(rate) if rate else Fraction(30)
    limit = _GIF_MAX_RATE if stream.codec_context.name == "gif" else _MAX_RATE
    if rate <= 0:
        return Fraction(30)
    if rate > limit:
        return limit
    for standard in _STANDARD_RATES:
        if abs(rate - standard) / standard < Fraction(1, 200):
            return standard
    return Fraction(max(1, round(rate)))


class _Decoding(_Handler):
    """A stream that is decoded and encoded again: each frame goes to ``_frame``."""

    def feed(self, packet: Any) -> None:
        if packet.size == 0:
            return  # the demuxer's end-of-stream packet: finish() flushes the decoder
        for frame in self.stream.decode(packet):
            self._frame(frame)
            if self.done:
                return

    def _frame(self, frame: Any) -> None:
        raise NotImplementedError


class _VideoEncoder(_Decoding):
    """Decode the part's frames and encode them as H.264 (or MPEG-4) at a constant rate,
    scaled to the plan's size, the last frame held when the plan extends the clip."""

    def __init__(self, out: Any, stream: Any, writer: _PartWriter) -> None:
        self.stream = stream
        self.writer = writer
        plan = writer.plan
        stream.codec_context.thread_type = "AUTO"
        self.rate = _output_rate(stream)
        width = plan.width or _even(stream.codec_context.width)
        height = plan.height or _even(stream.codec_context.height)
        self.size = (width, height)
        encoder = writer.encoder
        self.out_stream = out.add_stream(encoder, rate=self.rate)
        self.out_stream.width, self.out_stream.height = width, height
        self.out_stream.pix_fmt = "yuv420p"
        self.out_stream.codec_context.time_base = 1 / self.rate
        cap = plan.video_bit_rate or _bit_rate_cap(PART_MAX_S, MAX_UPLOAD_BYTES)
        bit_rate, options = _encoder_settings(encoder, width, height, self.rate, cap)
        if bit_rate:
            self.out_stream.codec_context.bit_rate = bit_rate
        self.out_stream.codec_context.options = options
        rotation = rotation_of(stream)
        if rotation:
            self.out_stream.set_display_rotation(rotation)  # kept as the source shows it
        aspect = stream.sample_aspect_ratio
        if aspect and aspect != 1:  # pixels that are not square (DV, HDV): the same shape
            self.out_stream.codec_context.sample_aspect_ratio = aspect
        self.time_base = stream.time_base or Fraction(1, 90_000)
        start = max(writer.part.start_s, 0.0) + writer.origin
        self.offset = round(start / self.time_base)
        self.graph: Graph | None = None
        self.last_pts: int | None = None

    def _build_graph(self, frame: av.VideoFrame) -> Graph:
        plan, writer = self.writer.plan, self.writer
        graph = Graph()
        nodes = [
            graph.add(
                "buffer",
                video_size=f"{frame.width}x{frame.height}",
                pix_fmt=frame.format.name,
                time_base=_ratio(self.time_base),
                pixel_aspect=_ratio(self.stream.sample_aspect_ratio or Fraction(1)),
            ),
            graph.add("fps", fps=f"{self.rate.numerator}/{self.rate.denominator}"),
        ]
        width, height = self.size
        if (frame.width, frame.height) != (width, height):
            nodes.append(graph.add("scale", width=str(width), height=str(height)))
        nodes.append(graph.add("format", pix_fmts="yuv420p"))
        if plan.extend_to_s:
            nodes.append(graph.add("tpad", stop="-1", stop_mode="clone"))
            nodes.append(graph.add("trim", end=f"{plan.extend_to_s:.6f}"))
        elif writer.end != math.inf:
            nodes.append(graph.add("trim", end=f"{writer.part.length_s:.6f}"))
        nodes.append(graph.add("buffersink"))
        graph.link_nodes(*nodes).configure()
        return graph

    def _frame(self, frame: av.VideoFrame) -> None:
        writer = self.writer
        pts = frame.pts
        if pts is None:  # some AVI and raw streams: count on from the last frame
            step = round(1 / (self.rate * self.time_base)) or 1
            pts = (self.last_pts + step) if self.last_pts is not None else self.offset
        self.last_pts = pts
        seconds = float(pts * self.time_base) - writer.origin
        if seconds < writer.start - _EPS:
            return
        if seconds >= writer.end - _EPS:
            self.done = True
            return
        frame.pts = pts - self.offset
        frame.time_base = self.time_base
        if self.graph is None:
            self.graph = self._build_graph(frame)
        self.graph.push(frame)
        self._drain()
        self.reached = writer.relative(seconds + writer.origin)

    def _drain(self) -> None:
        assert self.graph is not None
        while True:
            try:
                out = self.graph.pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                return
            assert isinstance(out, av.VideoFrame)
            out.pict_type = av.video.frame.PictureType.NONE
            for packet in self.out_stream.encode(out):
                self.out_stream.container.mux(packet)

    def finish(self) -> None:
        if not self.done:
            for frame in self.stream.decode(None):
                self._frame(frame)
        self.done = True
        if self.graph is None:
            raise PrepareError("no picture was found in the part")
        self.graph.push(None)
        self._drain()
        for packet in self.out_stream.encode(None):
            self.out_stream.container.mux(packet)


class _AudioEncoder(_Decoding):
    """Decode the part's sound and encode it as AAC, padded with silence when extended."""

    def __init__(self, out: Any, stream: Any, writer: _PartWriter) -> None:
        self.stream = stream
        self.writer = writer
        context = stream.codec_context
        rate = context.sample_rate or 48_000
        self.rate = rate if rate in (44_100, 48_000) else 48_000
        channels = context.channels or 2
        self.layout = "mono" if channels == 1 else "stereo"
        self.out_stream = out.add_stream("aac", rate=self.rate)
        self.out_stream.layout = self.layout
        self.out_stream.codec_context.bit_rate = _AUDIO_BIT_RATE
        self.time_base = stream.time_base or Fraction(1, self.rate)
        start = max(writer.part.start_s, 0.0) + writer.origin
        self.offset = round(start / self.time_base)
        self.graph: Graph | None = None
        self.next_pts: int | None = None

    def _build_graph(self, frame: av.AudioFrame) -> Graph:
        plan, writer = self.writer.plan, self.writer
        graph = Graph()
        nodes = [
            graph.add_abuffer(
                format=frame.format.name,
                sample_rate=frame.sample_rate,
                layout=frame.layout.name,
                time_base=Fraction(1, frame.sample_rate),
            ),
            graph.add("atrim", start="0")
            if writer.end == math.inf
            else graph.add("atrim", start="0", end=f"{writer.part.length_s:.6f}"),
        ]
        if plan.extend_to_s:
            nodes.append(graph.add("apad", whole_dur=f"{plan.extend_to_s:.6f}"))
        nodes.append(
            graph.add(
                "aformat",
                sample_fmts="fltp",
                sample_rates=str(self.rate),
                channel_layouts=self.layout,
            )
        )
        nodes.append(graph.add("abuffersink"))
        graph.link_nodes(*nodes).configure()
        graph.set_audio_frame_size(self.out_stream.codec_context.frame_size or 1024)
        return graph

    def _frame(self, frame: av.AudioFrame) -> None:
        writer, rate = self.writer, frame.sample_rate
        if self.next_pts is None:
            # Place the first frame by its timestamp, then count samples: coarse or repeated
            # timestamps (MP3 in AVI) must not make the sound jump back or stutter.
            pts = frame.pts if frame.pts is not None else self.offset
            seconds = float(pts * self.time_base) - writer.origin
            if seconds + frame.samples / rate < writer.start - _EPS:
                return
            begin = round(writer.relative(seconds + writer.origin) * rate)
        else:
            begin = self.next_pts
            seconds = max(writer.part.start_s, 0.0) + begin / rate
        if seconds >= writer.end - _EPS:
            self.done = True
            return
        self.next_pts = begin + frame.samples
        frame.pts = begin
        frame.time_base = Fraction(1, rate)
        if self.graph is None:
            self.graph = self._build_graph(frame)
        self.graph.push(frame)
        self._drain()

    def _drain(self) -> None:
        assert self.graph is not None
        while True:
            try:
                out = self.graph.pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                return
            assert isinstance(out, av.AudioFrame)
            for packet in self.out_stream.encode(out):
                self.out_stream.container.mux(packet)

    def finish(self) -> None:
        if not self.done:
            for frame in self.stream.decode(None):
                self._frame(frame)
        self.done = True
        if self.graph is None:
            return  # no sound inside this part: its track stays empty
        self.graph.push(None)
        self._drain()
        for packet in self.out_stream.encode(None):
            self.out_stream.container.mux(packet)


# --- shared ----------------------------------------------------------------------------------


def _video_stream(container: Any) -> Any:
    """The clip's picture: the first video stream that is not a cover image."""
    return next(
        (
            s
            for s in container.streams.video
            if not s.disposition & av.stream.Disposition.attached_pic
        ),
        None,
    )


def _ratio(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


def _origin(container: Any) -> float:
    """Where the clip's timeline starts, in seconds (MPEG-TS clocks rarely start at 0)."""
    start = container.start_time
    return start / 1_000_000 if start and start > 0 else 0.0
