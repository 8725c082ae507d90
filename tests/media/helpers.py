"""Builders for the awkward files the clip check must judge (all made at test time)."""

from __future__ import annotations

import os
import struct
from fractions import Fraction
from pathlib import Path

import av

MB = 1024 * 1024


def png_bytes(width: int = 64, height: int = 36) -> bytes:
    """A real PNG image, encoded with PyAV's png encoder (Pillow is not a dependency)."""
    codec = av.CodecContext.create("png", "w")
    codec.width, codec.height = width, height
    codec.pix_fmt = "rgb24"
    codec.time_base = Fraction(1, 1)
    frame = av.VideoFrame(width, height, "rgb24")
    frame.pts = 0
    packets = [*codec.encode(frame), *codec.encode(None)]
    return b"".join(bytes(packet) for packet in packets)


def truncate_to(path: Path, fraction: float) -> Path:
    """Cut ``path`` short, as an interrupted copy or download would."""
    os.truncate(path, int(path.stat().st_size * fraction))
    return path


def pad_with_free_box(path: Path, total_bytes: int) -> Path:
    """Grow a valid clip to ``total_bytes`` with a trailing ``free`` box (sparse, so it is cheap).

    The clip stays a well-formed MP4, so only the size rule can object to it.
    """
    size = path.stat().st_size
    pad = total_bytes - size
    assert 8 <= pad < 2**32
    with open(path, "ab") as handle:
        handle.write(struct.pack(">I4s", pad, b"free"))
    os.truncate(path, total_bytes)
    return path
