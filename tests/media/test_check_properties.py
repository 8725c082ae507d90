"""Whatever bytes a file holds, the check answers: it never raises and never hangs."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kling_desktop.media.check import ClipVerdict, check_clip
from kling_desktop.media.synth import make_clip

_SETTINGS = settings(
    max_examples=150,
    deadline=timedelta(seconds=3),  # one check is milliseconds; this catches a hang
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,  # the same inputs every run: a failure here must reproduce
)


@pytest.fixture(scope="module")
def real_clips() -> Iterator[tuple[bytes, bytes]]:
    """A moov-at-end and a faststart clip, as bytes."""
    with tempfile.TemporaryDirectory() as folder:
        end = make_clip(Path(folder) / "end.mp4", 3.0, audio=True)
        fast = make_clip(Path(folder) / "fast.mp4", 3.0, audio=True, faststart=True)
        yield end.read_bytes(), fast.read_bytes()


@pytest.fixture(scope="module")
def scratch() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        yield Path(folder)


def _answered(verdict: ClipVerdict, path: Path) -> None:
    assert isinstance(verdict, ClipVerdict)
    assert verdict.path == path
    # Either acceptable, or at least one blocking problem says why; every problem has words.
    assert verdict.ok or verdict.blocking
    assert all(p.code and p.message for p in verdict.problems)


@_SETTINGS
@given(data=st.binary(max_size=4096))
def test_random_bytes_named_mp4(scratch: Path, data: bytes) -> None:
    path = scratch / "random.mp4"
    path.write_bytes(data)
    verdict = check_clip(path)
    _answered(verdict, path)


@_SETTINGS
@given(data=st.binary(min_size=8, max_size=512))
def test_random_bytes_behind_an_mp4_header(scratch: Path, data: bytes) -> None:
    """Garbage that starts like an MP4 gets past the sniffing and into the box walk and PyAV."""
    path = scratch / "header.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + data)
    _answered(check_clip(path), path)


@_SETTINGS
@given(which=st.integers(0, 1), cut=st.floats(0.0, 1.0))
def test_random_prefixes_of_a_real_clip(
    scratch: Path, real_clips: tuple[bytes, bytes], which: int, cut: float
) -> None:
    data = real_clips[which]
    length = int(len(data) * cut)
    path = scratch / "prefix.mp4"
    path.write_bytes(data[:length])
    verdict = check_clip(path)
    _answered(verdict, path)
    if length < len(data):
        assert not verdict.ok  # any cut-short clip is refused


@_SETTINGS
@given(which=st.integers(0, 1), edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255))))
def test_random_corruption_of_a_real_clip(
    scratch: Path, real_clips: tuple[bytes, bytes], which: int, edits: list[tuple[float, int]]
) -> None:
    data = bytearray(real_clips[which])
    for where, value in edits:
        data[min(int(where * len(data)), len(data) - 1)] = value
    path = scratch / "corrupt.mp4"
    path.write_bytes(bytes(data))
    _answered(check_clip(path), path)
