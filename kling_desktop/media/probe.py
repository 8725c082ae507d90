"""Read what a clip is from its headers: container, streams, duration, size, wholeness.

Nothing here decodes the clip. PyAV reads the container headers (``av.open`` parses the MP4
``moov`` index); the top-level ISO-BMFF boxes are walked against the file size because a file cut
short after a leading ``moov`` opens "fine" in both PyAV and Qt with its full nominal duration
(``../shared/docs/environment-probe.md`` §2-§3). Only when that walk cannot decide (fragmented MP4,
odd trailing data) are packets demuxed - still without decoding - and checked against the file.

:func:`probe` either returns a :class:`ProbeResult` (the file opened; a damaged one carries
``damage``) or raises :class:`ProbeError` with a stable ``code`` and a sentence for the user.
"""

from __future__ import annotations

import math
import os
import stat
import struct
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO, Final

import av

# ProbeError codes (the rules module gives each its severity and place in the rule table).
MISSING: Final = "missing"
DIRECTORY: Final = "directory"
NOT_A_FILE: Final = "not_a_file"
NO_PERMISSION: Final = "no_permission"
EMPTY: Final = "empty"
NOT_VIDEO: Final = "not_video"
TRUNCATED: Final = "truncated"
UNREADABLE: Final = "unreadable"

HEAD_BYTES: Final = 4096
# Guards that keep a hostile or enormous file from turning a header probe into a long job.
_MAX_TOP_LEVEL_BOXES: Final = 50_000
_OPEN_TIMEOUT_S: Final = 10.0
_DEMUX_BUDGET_S: Final = 5.0
_DEMUX_MAX_PACKETS: Final = 500_000
# A demuxed stream that stops this much short of its nominal duration is missing its tail.
_DEMUX_SHORTFALL_S: Final = 0.5

# Types that may open an ISO-BMFF (MP4/QuickTime) file; old QuickTime files have no ftyp.
_ISO_FIRST_BOXES: Final = frozenset(
    {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"styp", b"uuid", b"sidx"}
)
# Major brands of still-image HEIF/AVIF files: ISO-BMFF too, but pictures, not clips.
_IMAGE_BRANDS: Final = frozenset({"heic", "heix", "heim", "heis", "mif1", "msf1", "avif", "avis"})


#: How far a container's length may run past its streams' before the streams are believed.
_DURATION_SLACK_S = 5.0


class ProbeError(Exception):
    """The file could not be probed; ``str()`` is a sentence for the user."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Sniffed:
    """What the first bytes of a file say it is."""

    kind: str  # "isobmff", "ebml", "png", "text", ... or "unknown"
    label: str  # "a PNG image": reads after "This is"
    is_media: bool  # worth handing to PyAV (a video container, or unknown)
    brand: str | None = None  # ISO-BMFF major brand, e.g. "isom", "qt  "
    doctype: str | None = None  # EBML DocType: "webm" or "matroska"


@dataclass(frozen=True)
class ProbeResult:
    """What a clip's headers say. Durations are seconds; None when the file does not say."""

    path: Path
    size_bytes: int
    container: str  # "mp4", "mov", "webm", "mkv", or FFmpeg's demuxer name ("avi", "mpegts", …)
    format_name: str  # FFmpeg's demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2"
    brand: str | None  # ISO-BMFF major brand ("isom", "qt  ", "M4A ", …)
    duration_s: float | None  # the container's duration
    video_duration_s: float | None
    audio_duration_s: float | None
    has_video: bool
    video_codec: str | None
    width: int | None  # coded size; see display_width/display_height for rotation
    height: int | None
    rotation: int  # display rotation, degrees counter-clockwise (as FFmpeg/PyAV report it)
    fps: float | None
    has_audio: bool
    audio_codec: str | None
    damage: str | None  # why the file is incomplete or corrupt, or None when it looks whole
    integrity: str  # how wholeness was judged: "boxes", "demux" or "not checked"
    pix_fmt: str | None = None  # the picture's pixel format ("yuv420p", "yuv420p10le", …)

    @property
    def duration(self) -> float | None:
        """The clip's length: the container's, else the longest stream's — and the streams'
        when the container's is far beyond them (an MPEG-TS whose timestamps wrap around
        2^33 ticks reads as 26.5 hours long)."""
        known = [d for d in (self.video_duration_s, self.audio_duration_s) if d is not None]
        longest = max(known) if known else None
        if self.duration_s is not None:
            if longest is not None and self.duration_s > longest + _DURATION_SLACK_S:
                return longest
            return self.duration_s
        return longest

    @property
    def display_width(self) -> int | None:
        return self.height if self.rotation in (90, 270) else self.width

    @property
    def display_height(self) -> int | None:
        return self.width if self.rotation in (90, 270) else self.height


@dataclass(frozen=True)
class BoxWalk:
    """The result of walking the top-level ISO-BMFF boxes."""

    boxes: tuple[tuple[str, int, int], ...]  # (type, offset, size)
    damage: str | None
    decided: bool  # False when the walk could not tell (fragmented, junk, too many boxes)


def probe(path: Path) -> ProbeResult:
    """Probe ``path`` from its headers.

    Raises:
        ProbeError: the file is missing, not readable, empty, not a video at all, or so damaged
            that it cannot be opened.
    """
    size = _stat_regular_file(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEAD_BYTES)
            sniffed = sniff(head)
            if not sniffed.is_media:
                raise ProbeError(NOT_VIDEO, f"This is {sniffed.label}, not a video.")
            walk = walk_boxes(handle, size) if sniffed.kind == "isobmff" else None
    except PermissionError as exc:
        raise ProbeError(NO_PERMISSION, _no_permission(path)) from exc
    except IsADirectoryError as exc:
        raise ProbeError(DIRECTORY, "This is a folder, not a video file.") from exc
    except OSError as exc:
        raise ProbeError(UNREADABLE, f"The file could not be read: {_os_reason(exc)}.") from exc
    try:
        options = {}
        if walk is not None and any(box[0] == "moov" for box in walk.boxes):
            # The moov box already describes every stream (codec, size, rate, duration):
            # skip FFmpeg's probing, which decodes a frame of each stream (3x faster).
            options["probesize"] = "32"
        container = av.open(str(path), options=options, timeout=(_OPEN_TIMEOUT_S, _OPEN_TIMEOUT_S))
    except av.FFmpegError as exc:
        if walk is not None and walk.damage is not None:
            raise ProbeError(TRUNCATED, incomplete_message(walk.damage)) from exc
        if isinstance(exc, av.PermissionError):
            raise ProbeError(NO_PERMISSION, _no_permission(path)) from exc
        raise ProbeError(UNREADABLE, _unreadable(sniffed)) from exc
    try:
        return _describe(path, size, container, sniffed, walk)
    finally:
        container.close()


def sniff(head: bytes) -> Sniffed:
    """Tell the broad kind of a file from its first bytes (magic numbers)."""
    if not head:
        return Sniffed("empty", "an empty file", is_media=False)
    for magic, kind, label in _MAGIC:
        if head.startswith(magic):
            return Sniffed(kind, label, is_media=False)
    if head[:4] == b"RIFF" and len(head) >= 12:
        sub = head[8:12]
        if sub == b"WEBP":
            return Sniffed("webp", "a WebP image", is_media=False)
        if sub == b"WAVE":
            return Sniffed("wav", "a WAV sound file", is_media=False)
        return Sniffed("riff", "a RIFF file", is_media=True)  # AVI and friends: let PyAV say
    if len(head) >= 8 and head[4:8] in _ISO_FIRST_BOXES:
        brand = head[8:12].decode("latin-1") if head[4:8] == b"ftyp" and len(head) >= 12 else None
        if brand is not None and brand.strip().lower() in _IMAGE_BRANDS:
            return Sniffed("heif", "a HEIF/AVIF image", is_media=False, brand=brand)
        return Sniffed("isobmff", "an MP4/QuickTime file", is_media=True, brand=brand)
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        doctype = "webm" if b"webm" in head[:64] else "matroska"
        return Sniffed("ebml", f"a {_EBML_LABEL[doctype]} file", is_media=True, doctype=doctype)
    if _looks_like_text(head):
        return Sniffed("text", "a text file", is_media=False)
    return Sniffed("unknown", "an unrecognised file", is_media=True)


def walk_boxes(handle: BinaryIO, size: int) -> BoxWalk:
    """Walk the top-level boxes of an ISO-BMFF file and check they fit the file.

    A box header is a 32-bit big-endian size and a 4-character type; size 1 means a 64-bit
    "largesize" follows, size 0 means the box runs to the end of the file. The last box must end
    exactly at the end of the file; one that runs past it means the file was cut short.
    """
    boxes: list[tuple[str, int, int]] = []
    offset = 0
    decided = True
    damage: str | None = None
    while offset < size:
        if len(boxes) >= _MAX_TOP_LEVEL_BOXES:
            decided = False
            break
        handle.seek(offset)
        header = handle.read(16)
        if len(header) < 8:
            damage = f"it ends {size - offset} bytes into a box header at byte {offset:,}"
            break
        box_size, raw_type = struct.unpack(">I4s", header[:8])
        box_type = raw_type.decode("latin-1")
        header_len = 8
        if box_size == 1:
            if len(header) < 16:
                damage = f"it ends inside the header of its '{box_type}' box"
                break
            (box_size,) = struct.unpack(">Q", header[8:16])
            header_len = 16
        elif box_size == 0:
            box_size = size - offset
        if not _plausible_type(raw_type) or box_size < header_len:
            # Junk after the real boxes (some tools pad the tail) or a corrupt header: this walk
            # cannot say which, so the caller demuxes instead.
            decided = False
            break
        boxes.append((box_type, offset, box_size))
        if offset + box_size > size:
            damage = (
                f"its '{box_type}' box runs to byte {offset + box_size:,} "
                f"but the file ends at byte {size:,}"
            )
            break
        offset += box_size
    types = {box[0] for box in boxes}
    if damage is None and decided:
        if "moof" in types:
            decided = False  # fragmented MP4: the index is spread over the file
        elif "moov" not in types:
            damage = "it has no 'moov' box (the index written when a recording or export ends)"
    return BoxWalk(tuple(boxes), damage, decided)


# --- internals -------------------------------------------------------------------------------

_MAGIC: Final[tuple[tuple[bytes, str, str], ...]] = (
    (b"\x89PNG\r\n\x1a\n", "png", "a PNG image"),
    (b"\xff\xd8\xff", "jpeg", "a JPEG image"),
    (b"GIF87a", "gif", "a GIF image"),
    (b"GIF89a", "gif", "a GIF image"),
    (b"%PDF", "pdf", "a PDF document"),
    (b"PK\x03\x04", "zip", "a ZIP archive (or an office document)"),
    (b"ID3", "mp3", "an MP3 sound file"),
    (b"fLaC", "flac", "a FLAC sound file"),
    (b"II*\x00", "tiff", "a TIFF image"),
    (b"MM\x00*", "tiff", "a TIFF image"),
)
_EBML_LABEL: Final = {"webm": "WebM", "matroska": "Matroska (MKV)"}


def _stat_regular_file(path: Path) -> int:
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError) as exc:
        raise ProbeError(MISSING, "The file does not exist (moved or deleted?).") from exc
    except PermissionError as exc:
        raise ProbeError(NO_PERMISSION, _no_permission(path)) from exc
    except (OSError, ValueError) as exc:  # ValueError: an embedded NUL in the name
        raise ProbeError(UNREADABLE, f"The file could not be read: {_os_reason(exc)}.") from exc
    if stat.S_ISDIR(info.st_mode):
        raise ProbeError(DIRECTORY, "This is a folder, not a video file.")
    if not stat.S_ISREG(info.st_mode):
        # Opening a FIFO would block forever; devices and sockets are not clips either.
        raise ProbeError(NOT_A_FILE, "This is not a regular file (a pipe, device or socket).")
    if info.st_size == 0:
        raise ProbeError(EMPTY, "The file is empty (0 bytes).")
    return info.st_size


def _no_permission(path: Path) -> str:
    return f"You do not have permission to read this file ({path.name})."


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


def incomplete_message(damage: str) -> str:
    return (
        f"The file is incomplete or damaged: {damage}. "
        "It was probably cut short while copying or downloading."
    )


def _unreadable(sniffed: Sniffed) -> str:
    if sniffed.kind == "isobmff":
        return "This MP4/QuickTime file is damaged and cannot be opened."
    return "This file cannot be read as a video; it may be damaged or not a video at all."


def _plausible_type(raw: bytes) -> bool:
    return all(32 <= byte < 127 for byte in raw)


def _looks_like_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut off by the head limit is still text.
        if exc.start < len(head) - 3:
            return False
        text = head[: exc.start].decode("utf-8")
    printable = sum(ch.isprintable() or ch in "\r\n\t\f" for ch in text)
    return bool(text) and printable >= 0.95 * len(text)


def _describe(
    path: Path, size: int, container: Any, sniffed: Sniffed, walk: BoxWalk | None
) -> ProbeResult:
    format_name = str(container.format.name)
    video = next(
        (
            s
            for s in container.streams.video
            if not s.disposition & av.stream.Disposition.attached_pic
        ),
        None,
    )
    audio = next(iter(container.streams.audio), None)
    duration_s = container.duration / 1_000_000 if container.duration else None
    result = ProbeResult(
        path=path,
        size_bytes=size,
        container=_container_name(format_name, sniffed),
        format_name=format_name,
        brand=sniffed.brand,
        duration_s=_finite(duration_s),
        video_duration_s=_stream_duration(video),
        audio_duration_s=_stream_duration(audio),
        has_video=video is not None,
        video_codec=str(video.codec_context.name) if video is not None else None,
        width=(int(video.width) or None) if video is not None else None,
        height=(int(video.height) or None) if video is not None else None,
        rotation=rotation_of(video) if video is not None else 0,
        fps=_fps(video) if video is not None else None,
        has_audio=audio is not None,
        audio_codec=str(audio.codec_context.name) if audio is not None else None,
        damage=None,
        integrity="not checked",
        pix_fmt=_pix_fmt(video),
    )
    damage, integrity = _integrity(container, size, walk, result)
    return replace(result, damage=damage, integrity=integrity)


#: H.264's profile (the second byte of an MP4's avcC record) and the pixel format it implies
#: at the least: Baseline, Main, Extended and High are 8-bit 4:2:0; High 10, High 4:2:2 and
#: the 4:4:4 profiles are made for more.
_H264_PROFILE_PIX_FMTS: Final = {
    66: "yuv420p",
    77: "yuv420p",
    88: "yuv420p",
    100: "yuv420p",
    110: "yuv420p10le",
    122: "yuv422p",
    244: "yuv444p",
    44: "yuv444p",
}


def _pix_fmt(video: Any) -> str | None:
    """The picture's pixel format. The quick open (see :func:`probe`) may leave FFmpeg's
    unset; an H.264 track's own header then says which profile, and so which format, it is."""
    if video is None:
        return None
    name = video.codec_context.pix_fmt
    if name:
        return str(name)
    extradata = video.codec_context.extradata or b""
    if video.codec_context.name == "h264" and len(extradata) > 1 and extradata[0] == 1:
        return _H264_PROFILE_PIX_FMTS.get(extradata[1])
    return None


def _container_name(format_name: str, sniffed: Sniffed) -> str:
    if sniffed.kind == "isobmff":
        # QuickTime files carry the major brand "qt  " (old ones have no ftyp at all).
        return "mov" if sniffed.brand in (None, "qt  ") else "mp4"
    if sniffed.kind == "ebml":
        return "webm" if sniffed.doctype == "webm" else "mkv"
    return format_name.split(",")[0]


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) and value >= 0 else None


def _stream_duration(stream: Any) -> float | None:
    if stream is None or not stream.duration or stream.time_base is None:
        return None
    return _finite(float(stream.duration * stream.time_base))


def _fps(stream: Any) -> float | None:
    rate = stream.average_rate or stream.guessed_rate
    return _finite(float(rate)) if rate else None


def rotation_of(stream: Any) -> int:
    """Display rotation in degrees counter-clockwise, normalised to 0-359."""
    # PyAV 19+ reads the display matrix; PyAV 18 (the newest for Python 3.11) cannot.
    side_data = getattr(stream.codec_context, "coded_side_data", None)
    matrix = side_data.get("display_matrix") if side_data else None
    if isinstance(matrix, bytes) and len(matrix) >= 36:
        m = struct.unpack("=9i", matrix[:36])
        # av_display_rotation_get(): the matrix is 16.16 fixed point.
        scale0 = math.hypot(m[0] / 65536, m[3] / 65536)
        scale1 = math.hypot(m[1] / 65536, m[4] / 65536)
        if scale0 and scale1:
            degrees = -math.degrees(math.atan2(m[1] / 65536 / scale1, m[0] / 65536 / scale0))
            return round(degrees) % 360
    rotate = stream.metadata.get("rotate")  # FFmpeg < 6 exposed it as a tag, clockwise
    try:
        return (-round(float(rotate))) % 360 if rotate is not None else 0
    except ValueError:
        return 0


def _integrity(
    container: Any, size: int, walk: BoxWalk | None, result: ProbeResult
) -> tuple[str | None, str]:
    if walk is None:
        # Only ISO-BMFF is ever uploaded; other containers are refused before wholeness matters.
        return None, "not checked"
    if walk.damage is not None:
        return walk.damage, "boxes"
    if walk.decided:
        # The boxes fit; now check the index does not point past the end (cheap: no I/O).
        beyond = _index_end(container)
        if beyond > size:
            return (
                f"its index points to data up to byte {beyond:,} "
                f"but the file ends at byte {size:,}",
                "boxes",
            )
        return None, "boxes"
    return _demux_check(container, size, result), "demux"


def _index_end(container: Any) -> int:
    end = 0
    for stream in container.streams:
        try:
            entries = stream.index_entries
            for entry in entries:
                if entry.pos >= 0:
                    end = max(end, entry.pos + entry.size)
        except (AttributeError, av.FFmpegError):
            continue
    return end


def _demux_check(container: Any, size: int, result: ProbeResult) -> str | None:
    """Read every packet (no decoding): each must lie inside the file, the video must run full."""
    deadline = time.monotonic() + _DEMUX_BUDGET_S
    ends: dict[int, float] = {}
    try:
        for count, packet in enumerate(container.demux()):
            if packet.pos is not None and packet.pos >= 0 and packet.pos + packet.size > size:
                end_byte = packet.pos + packet.size
                return f"a packet runs to byte {end_byte:,} but the file ends at byte {size:,}"
            if packet.pts is not None and packet.time_base is not None:
                end = float((packet.pts + (packet.duration or 0)) * packet.time_base)
                index = packet.stream.index
                ends[index] = max(ends.get(index, 0.0), end)
            if count >= _DEMUX_MAX_PACKETS or time.monotonic() > deadline:
                return None  # too big to read through here; nothing found so far
    except av.FFmpegError:
        return "its data cannot be read to the end"
    video = next((s for s in container.streams.video if s.index in ends), None)
    if video is not None and result.video_duration_s is not None:
        start = float(video.start_time * video.time_base) if video.start_time else 0.0
        got = ends[video.index] - start
        if got < result.video_duration_s - _DEMUX_SHORTFALL_S:
            return (
                f"its video stops at {got:.1f} s of the {result.video_duration_s:.1f} s it claims"
            )
    return None
