"""The one atomic write (``kling_desktop.files``)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from kling_desktop.files import atomic_file, atomic_write_bytes, atomic_write_text, new_file_mode


def test_a_finished_write_replaces_the_file_whole(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    dest = folder / "result.mp4"
    dest.write_bytes(b"old")
    with atomic_file(dest) as handle:
        handle.write(b"new ")
        # Until the block ends the old file stands, and the new one is the named temp file.
        assert dest.read_bytes() == b"old"
        [temp] = folder.glob(".result.mp4.*.part")
        assert len(temp.name) == len(".result.mp4.") + 8 + len(".part")
        handle.write(b"bytes")
    assert dest.read_bytes() == b"new bytes"
    assert sorted(p.name for p in folder.iterdir()) == ["result.mp4"]
    if sys.platform != "win32":
        assert dest.stat().st_mode & 0o777 == new_file_mode()  # not mkstemp's 0600


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    folder = tmp_path / "config"
    folder.mkdir()
    dest = folder / "settings.json"
    dest.write_text("{}")
    with pytest.raises(KeyboardInterrupt), atomic_file(dest) as handle:
        handle.write(b"half")
        raise KeyboardInterrupt
    assert dest.read_text() == "{}"
    assert sorted(p.name for p in folder.iterdir()) == ["settings.json"]


def test_bytes_and_text(tmp_path: Path) -> None:
    atomic_write_bytes(tmp_path / "a.png", b"\x89PNG")
    atomic_write_text(tmp_path / "b.json", "é\n")
    assert (tmp_path / "a.png").read_bytes() == b"\x89PNG"
    assert (tmp_path / "b.json").read_bytes() == "é\n".encode()
