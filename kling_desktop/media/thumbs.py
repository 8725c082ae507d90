"""Small PNG thumbnails for the job list, cached by file identity.

One frame is decoded: the keyframe at or before 10 % of the clip (seek, then decode until the
first picture), so a fade-in from black does not give a black thumbnail. It is scaled with
PyAV's ``reformat`` keeping the aspect ratio, turned upright when the clip carries a display
rotation, and encoded with FFmpeg's own PNG encoder (Pillow is not a dependency).
"""

from __future__ import annotations

import hashlib
import logging
import os
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import av

from kling_desktop.files import atomic_write_bytes
from kling_desktop.media.probe import rotation_of

log = logging.getLogger(__name__)

_SEEK_FRACTION: Final = 0.10
_OPEN_TIMEOUT_S: Final = 10.0
# A healthy clip yields a picture within a few packets of a keyframe; a broken one is not
# worth decoding further for a thumbnail.
_MAX_PACKETS: Final = 300


def thumbnail(path: Path, cache_dir: Path, *, max_size: tuple[int, int] = (160, 90)) -> Path | None:
    """A PNG of ``path`` no larger than ``max_size``, from ``cache_dir`` when already made.

    The cache key is the resolved path, size and modification time (and ``max_size``), so an
    edited or replaced clip gets a fresh thumbnail. Returns None when no frame can be had; never
    raises.
    """
    try:
        target = cache_dir / f"{_cache_key(Path(path), max_size)}.png"
        if target.is_file():
            return target
        png = render_png(Path(path), max_size)
        cache_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(target, png)
        return target
    except Exception as exc:  # a thumbnail is a nicety: log it, show none
        log.info("No thumbnail for %s: %s", path, exc)
        return None


def render_png(path: Path, max_size: tuple[int, int]) -> bytes:
    """Decode one frame of ``path`` and return it as PNG bytes (raises on failure)."""
    max_w, max_h = max_size
    if max_w < 1 or max_h < 1:
        raise ValueError(f"thumbnail size must be positive, not {max_w}×{max_h}")
    with av.open(str(path), timeout=(_OPEN_TIMEOUT_S, _OPEN_TIMEOUT_S)) as container:
        stream = next(
            s
            for s in container.streams.video
            if not s.disposition & av.stream.Disposition.attached_pic
        )
        frame = _frame_near(container, stream, _SEEK_FRACTION)
        rotation = rotation_of(stream)
    turned = rotation in (90, 270)
    display_w, display_h = (frame.height, frame.width) if turned else (frame.width, frame.height)
    scale = min(max_w / display_w, max_h / display_h, 1.0)
    out_w = max(1, round(display_w * scale))
    out_h = max(1, round(display_h * scale))
    coded_w, coded_h = (out_h, out_w) if turned else (out_w, out_h)
    small = frame.reformat(width=coded_w, height=coded_h, format="rgb24")
    if rotation in (90, 180, 270):
        small = _upright(small, rotation)
    return _encode_png(small)


def _cache_key(path: Path, max_size: tuple[int, int]) -> str:
    info = os.stat(path)
    resolved = os.path.normcase(str(path.resolve()))
    raw = f"{resolved}\0{info.st_size}\0{info.st_mtime_ns}\0{max_size[0]}x{max_size[1]}"
    return hashlib.sha1(raw.encode("utf-8", "surrogateescape")).hexdigest()


def _frame_near(container: Any, stream: Any, fraction: float) -> Any:
    duration = stream.duration if stream.duration else None
    if duration is None and container.duration:
        duration = int(container.duration / 1_000_000 / stream.time_base)
    if duration:
        start = stream.start_time or 0
        try:
            # backward=True lands on the keyframe at or before the target.
            container.seek(start + int(duration * fraction), stream=stream, backward=True)
        except av.FFmpegError:
            container.seek(0)
    for count, packet in enumerate(container.demux(stream)):
        for frame in packet.decode():
            return frame
        if count >= _MAX_PACKETS:
            break
    raise ValueError("no picture could be decoded")


def _upright(frame: Any, rotation: int) -> Any:
    """Rotate by the display rotation (degrees counter-clockwise) with FFmpeg's own filters."""
    chain = {90: [("transpose", "cclock")], 270: [("transpose", "clock")]}.get(
        rotation, [("hflip", ""), ("vflip", "")]
    )
    graph = av.filter.Graph()
    node = graph.add_buffer(
        width=frame.width, height=frame.height, format="rgb24", time_base=Fraction(1, 1)
    )
    source = node
    for name, arguments in chain:
        step = graph.add(name, arguments) if arguments else graph.add(name)
        node.link_to(step)
        node = step
    sink = graph.add("buffersink")
    node.link_to(sink)
    graph.configure()
    frame.pts = 0
    frame.time_base = Fraction(1, 1)
    source.push(frame)
    return sink.pull()


def _encode_png(frame: Any) -> bytes:
    codec = av.CodecContext.create("png", "w")
    codec.width = frame.width
    codec.height = frame.height
    codec.pix_fmt = "rgb24"
    codec.time_base = Fraction(1, 1)
    frame.pts = 0
    packets = [*codec.encode(frame), *codec.encode(None)]
    data = b"".join(bytes(packet) for packet in packets)
    if not data.startswith(b"\x89PNG"):
        raise ValueError("the PNG encoder produced no image")
    return data
