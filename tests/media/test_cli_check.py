"""``kling-desktop check``: one line per clip or JSON, exit 0/1/2, folders expanded one level."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kling_desktop.cli.check import run
from kling_desktop.media.check import expand_inputs
from tests.fixtures.media import ClipFactory


def check(
    capsys: pytest.CaptureFixture[str],
    *files: Path | str,
    as_json: bool = False,
    strict: bool = False,
    max_length: float | None = None,
) -> tuple[int, str, str]:
    namespace = argparse.Namespace(
        files=[str(f) for f in files], json=as_json, strict=strict, max_length=max_length
    )
    code = run(namespace)
    out, err = capsys.readouterr()
    return code, out, err


def test_good_clips_exit_zero_with_a_tick(
    capsys: pytest.CaptureFixture[str], clip_factory: ClipFactory
) -> None:
    hd = clip_factory("hd.mp4", 4.0, width=1280, height=720, fps=5)
    code, out, _ = check(capsys, hd)
    assert code == 0
    assert out == f"✓ {hd} — 4.0 s, 1280×720, MP4\n"


def test_warnings_keep_exit_zero_and_show_a_bang(
    capsys: pytest.CaptureFixture[str], clip_factory: ClipFactory
) -> None:
    small = clip_factory("small.mov", 4.0, audio=True)
    code, out, _ = check(capsys, small)
    assert code == 0
    assert out.startswith(f"! {small} — 4.0 s, 320×180, QuickTime, with sound: 320×180 is smaller")


def test_any_bad_clip_exits_one(
    capsys: pytest.CaptureFixture[str], clip_factory: ClipFactory, tmp_path: Path
) -> None:
    good = clip_factory("good.mp4", 4.0)
    short = clip_factory("short.mp4", 2.9)
    code, out, _ = check(capsys, good, short, tmp_path / "missing.mp4", strict=True)
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("! ")
    assert lines[1].startswith(f"✗ {short}: Too short: 2.9 s.")
    assert lines[2] == f"✗ {tmp_path / 'missing.mp4'}: The file does not exist (moved or deleted?)."


def test_json_output(capsys: pytest.CaptureFixture[str], clip_factory: ClipFactory) -> None:
    good = clip_factory("good.mp4", 3.0)
    webm = clip_factory("clip.webm", 4.0)
    code, out, _ = check(capsys, good, webm, as_json=True, strict=True)
    assert code == 1
    rows = json.loads(out)
    keys = {"path", "ok", "duration_s", "problems", "paid_jobs", "prepare", "parts"}
    assert [set(row) for row in rows] == [keys] * 2
    assert rows[0]["paid_jobs"] == 1 and rows[0]["prepare"] == []
    assert rows[0]["parts"] == [[0.0, 3.0]]
    assert (rows[1]["paid_jobs"], rows[1]["prepare"], rows[1]["parts"]) == (0, [], [])
    assert rows[0]["path"] == str(good) and rows[0]["ok"] is True and rows[0]["duration_s"] == 3.0
    assert rows[0]["problems"] == [
        {
            "code": "unusual_resolution",
            "message": rows[0]["problems"][0]["message"],
            "severity": "warning",
        }
    ]
    assert rows[1]["ok"] is False
    blocking = [p for p in rows[1]["problems"] if p["severity"] == "blocking"]
    assert [p["code"] for p in blocking] == ["unsupported_container"]
    assert "MP4" in blocking[0]["message"]


def test_no_files_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = check(capsys)
    assert code == 2 and out == "" and "give one or more clips" in err


def test_folders_without_videos_are_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    code, out, err = check(capsys, tmp_path)
    assert code == 2 and out == ""
    assert "No video files in the folder" in err


def test_folder_is_expanded_one_level_with_a_note(
    capsys: pytest.CaptureFixture[str], clip_factory: ClipFactory, tmp_path: Path
) -> None:
    a = clip_factory("shoot/b clip.mp4", 4.0)
    clip_factory("shoot/A.MOV", 4.0, container="mov")
    clip_factory("shoot/deeper/inner.mp4", 4.0)
    folder = a.parent
    (folder / ".hidden.mp4").write_bytes(b"junk")
    (folder / "readme.txt").write_text("not a clip")
    code, out, err = check(capsys, folder)
    assert code == 0
    assert [line.split(" — ")[0][2:] for line in out.splitlines()] == [
        str(folder / "A.MOV"),
        str(folder / "b clip.mp4"),
    ]
    assert "Subfolders of" in err and "deeper" in err and "not searched" in err


def test_expand_inputs_passes_files_through_and_dedupes(tmp_path: Path) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "x.mp4").write_bytes(b"")
    (folder / "clip.WEBM").write_bytes(b"")
    files, notes = expand_inputs([folder / "x.mp4", folder, folder / "nope.mov"])
    assert files == [folder / "x.mp4", folder / "clip.WEBM", folder / "nope.mov"]
    assert notes == []


@pytest.mark.subprocess
def test_as_a_real_command(clip_factory: ClipFactory, tmp_path: Path) -> None:
    good = clip_factory("ok clip.mp4", 4.0, width=1280, height=720, fps=5)
    bad = tmp_path / "image.mp4"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    command = [sys.executable, "-m", "kling_desktop", "check"]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(
        [*command, str(good)], capture_output=True, text=True, env=env, timeout=60
    )
    assert (done.returncode, done.stdout) == (0, f"✓ {good} — 4.0 s, 1280×720, MP4\n")
    done = subprocess.run(
        [*command, "--json", str(good), str(bad)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 1
    rows = json.loads(done.stdout)
    assert [row["ok"] for row in rows] == [True, False]
    assert rows[1]["problems"][0]["message"] == "This is a PNG image, not a video."
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2


def test_the_line_says_the_plan_and_the_paid_jobs(
    capsys: pytest.CaptureFixture[str], clip_factory: ClipFactory
) -> None:
    long = clip_factory("long.webm", 45.0, width=1280, height=720, fps=2)
    code, out, _ = check(capsys, long)
    assert code == 0
    assert out.startswith(
        f"! {long} — 45.0 s, 1280×720, WebM: will be converted and split into 3 parts "
        "(3 paid jobs). Each of its 3 parts is up to 15.0 s long, more than the 10 s the "
        "upload page mentions."
    )
    code, out, _ = check(capsys, long, strict=True)
    assert code == 1 and out.startswith(f"✗ {long}: WebM files are not accepted")


def test_json_says_the_plan(capsys: pytest.CaptureFixture[str], clip_factory: ClipFactory) -> None:
    long = clip_factory("long.mkv", 45.0, fps=2)
    code, out, _ = check(capsys, long, as_json=True)
    assert code == 0
    (row,) = json.loads(out)
    assert row["ok"] is True and row["paid_jobs"] == 3
    assert row["prepare"] == ["convert", "split"]
    assert row["parts"] == [[0.0, 15.0], [15.0, 30.0], [30.0, 45.0]]
    code, out, _ = check(capsys, long, as_json=True, max_length=40.0)
    (row,) = json.loads(out)
    assert code == 1 and row["paid_jobs"] == 0 and row["parts"] == []
    assert row["problems"][0]["code"] == "over_max_length"


def test_the_total_of_paid_jobs_is_said_once(clip_factory: ClipFactory) -> None:
    """A newcomer sees, before anything is paid, how many paid jobs add-sound would start."""
    long = clip_factory("long.mp4", 45.0)
    short = clip_factory("short.mp4", 1.5)
    result = subprocess.run(
        [sys.executable, "-m", "kling_desktop", "check", str(long), str(short)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 2  # one line per clip, for scripts
    assert "2 clips accepted: add-sound starts 4 paid Kling jobs" in result.stderr
