"""Thumbnails: one small PNG per clip, cached by path + size + mtime, None when impossible."""

from __future__ import annotations

import os
from pathlib import Path

import av
import pytest

from kling_desktop.media.thumbs import thumbnail
from kling_desktop.paths import app_paths
from tests.fixtures.media import ClipFactory
from tests.media.helpers import truncate_to


def png_size(path: Path) -> tuple[int, int]:
    assert path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    with av.open(str(path)) as image:
        stream = image.streams.video[0]
        return stream.width, stream.height


@pytest.fixture
def cache_dir() -> Path:
    return app_paths().thumbnail_dir


def test_thumbnail_is_a_small_png_keeping_the_aspect(
    clip_factory: ClipFactory, cache_dir: Path
) -> None:
    made = thumbnail(clip_factory("wide.mp4", 4.0, width=640, height=360), cache_dir)
    assert made is not None and made.parent == cache_dir and made.suffix == ".png"
    assert png_size(made) == (160, 90)


def test_portrait_thumbnail_fits_the_box(clip_factory: ClipFactory, cache_dir: Path) -> None:
    made = thumbnail(clip_factory("tall.mp4", 4.0, width=360, height=640), cache_dir)
    assert made is not None
    width, height = png_size(made)
    assert height == 90 and width in (50, 51)


def test_small_clip_is_not_blown_up(clip_factory: ClipFactory, cache_dir: Path) -> None:
    made = thumbnail(
        clip_factory("tiny.mp4", 4.0, width=96, height=64), cache_dir, max_size=(160, 90)
    )
    assert made is not None and png_size(made) == (96, 64)


def test_second_call_comes_from_the_cache(clip_factory: ClipFactory, cache_dir: Path) -> None:
    clip = clip_factory("clip.mp4", 4.0)
    first = thumbnail(clip, cache_dir)
    assert first is not None
    # Mark the cached file: a re-render would overwrite the marker.
    first.write_bytes(first.read_bytes() + b"marker")
    stamp = first.stat().st_mtime_ns
    second = thumbnail(clip, cache_dir)
    assert second == first
    assert first.read_bytes().endswith(b"marker") and first.stat().st_mtime_ns == stamp


def test_changed_clip_gets_a_new_thumbnail(clip_factory: ClipFactory, cache_dir: Path) -> None:
    clip = clip_factory("clip.mp4", 4.0)
    first = thumbnail(clip, cache_dir)
    info = clip.stat()
    os.utime(clip, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000_000))
    second = thumbnail(clip, cache_dir)
    assert first is not None and second is not None and second != first


def test_other_sizes_are_cached_apart(clip_factory: ClipFactory, cache_dir: Path) -> None:
    clip = clip_factory("clip.mp4", 4.0, width=640, height=360)
    small = thumbnail(clip, cache_dir, max_size=(80, 45))
    large = thumbnail(clip, cache_dir)
    assert small is not None and large is not None and small != large
    assert png_size(small) == (80, 45)


@pytest.mark.parametrize("kind", ["garbage", "empty", "missing", "audio", "directory"])
def test_broken_inputs_give_none(
    tmp_path: Path, clip_factory: ClipFactory, cache_dir: Path, kind: str
) -> None:
    path = tmp_path / "bad.mp4"
    if kind == "garbage":
        path.write_bytes(b"not a video at all" * 100)
    elif kind == "empty":
        path.touch()
    elif kind == "audio":
        path = clip_factory("song.m4a", 4.0, video=False)
    elif kind == "directory":
        path = tmp_path
    assert thumbnail(path, cache_dir) is None
    assert not list(cache_dir.glob("*.png")) if cache_dir.exists() else True


def test_truncated_clip_still_gets_a_thumbnail_or_none(
    clip_factory: ClipFactory, cache_dir: Path
) -> None:
    clip = truncate_to(clip_factory("cut.mp4", 4.0, faststart=True), 0.5)
    made = thumbnail(clip, cache_dir)
    assert made is None or png_size(made)[0] > 0


@pytest.mark.skipif(
    not hasattr(av.VideoCodecContext, "coded_side_data"),
    reason="PyAV 18 (the newest for Python 3.11) cannot read a stream's display matrix",
)
def test_rotated_clip_gets_an_upright_thumbnail(tmp_path: Path, cache_dir: Path) -> None:
    from fractions import Fraction

    path = tmp_path / "phone.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        stream.set_display_rotation(90)
        for index in range(20):
            frame = av.VideoFrame(320, 180, "yuv420p")
            frame.pts, frame.time_base = index, Fraction(1, 10)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    made = thumbnail(path, cache_dir)
    assert made is not None
    width, height = png_size(made)
    assert height == 90 and width < height
