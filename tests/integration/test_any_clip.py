"""Any clip to a result, end to end (issue #12): the real CLI in a subprocess, the simulator
on 127.0.0.1, clips made at test time and results measured with PyAV.

Each clip goes through ``check --json`` (``paid_jobs``, ``prepare``) and ``add-sound --wait``
to a result whose picture is the original's (same codec and frame count, copied: not for a
GIF, which is encoded), whose length is the clip's within 0.1 s and whose sound covers the
whole length, each part holding its own task's generated tone, with no quiet window at the
seams. Money: one simulator task per part × take, each request paid exactly once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kling_desktop.media.synth import make_clip
from kling_desktop.simulator import Simulator
from tests.cli.conftest import RunCli, cli_command, cli_env
from tests.fixtures.sim import ABSENT, CLIP_TONE_HZ, SINE_LEVEL, wait_until
from tests.integration import clips
from tests.integration.clips import GAP_RMS, POLL


@dataclass(frozen=True)
class Case:
    name: str  # file name (its suffix is the container)
    duration_s: float
    parts: int  # paid jobs of one take
    prepare: tuple[str, ...]  # the check's "prepare", in order
    options: dict[str, Any] = field(default_factory=dict)  # make_clip's
    copied: bool = True  # the result's picture is the original's stream
    result_suffix: str = ".mp4"


CASES = [
    Case("long.mp4", 45.0, 3, ("split",)),
    Case("twenty.mp4", 20.0, 1, ()),
    Case("twenty-one.mp4", 20.1, 2, ("split",)),
    Case("minute.mp4", 60.5, 4, ("split",)),
    Case("short.mp4", 1.5, 1, ("extend",)),
    Case(
        "vp9.webm",
        25.0,
        2,
        ("convert", "split"),
        {"video_codec": "libvpx-vp9"},
        result_suffix=".mkv",
    ),
    Case("h264.mkv", 6.0, 1, ("convert",)),
    Case("mpeg4.avi", 6.0, 1, ("convert",)),
    Case("anim.gif", 4.0, 1, ("convert",), {"audio": False}, copied=False),
    Case("uhd.mp4", 2.0, 1, ("extend", "shrink"), {"width": 3840, "height": 2160, "fps": 5}),
]


def _make(folder: Path, case: Case) -> Path:
    options: dict[str, Any] = {"audio": True, "tone_hz": CLIP_TONE_HZ}
    options.update(case.options)
    container = Path(case.name).suffix.lstrip(".")
    return make_clip(folder / case.name, case.duration_s, container=container, **options)  # type: ignore[arg-type]


def _seams(item: dict[str, Any]) -> list[float]:
    return [float(end) for _, end in item["parts"][:-1]]


def assert_result(
    clip: Path,
    job: dict[str, Any],
    simulator: Simulator,
    *,
    duration_s: float,
    parts: list[list[float]],
    copied: bool = True,
    take: int = 1,
    output: Path | None = None,
) -> None:
    """The result of ``clip``: its picture, its length, its sound part by part and seam by
    seam (the part's generated tone, no gap), and not the clip's own tone."""
    result = output or Path(job["output"])
    assert result.is_file(), result
    before, after = clips.picture(clip), clips.picture(result)
    if copied:
        assert after.codec == before.codec, (before, after)
        assert after.frames == before.frames, (before, after)
        assert (after.width, after.height) == (before.width, before.height)
    assert after.length_s == pytest.approx(duration_s, abs=0.1), after
    assert clips.audio_codecs(result) == ["aac"]
    samples = clips.sound_of(result)
    assert len(samples) / clips.RATE == pytest.approx(duration_s, abs=0.1)
    # The sound covers the whole length (20 ms windows, the first and last 30 ms aside).
    gaps = clips.quiet_windows(samples, 0.03, len(samples) / clips.RATE - 0.03)
    assert not gaps, f"quiet windows (start s, RMS) under {GAP_RMS:.3f}: {gaps[:10]}"
    tones = clips.tone_of_task(simulator)
    own = sorted(
        (r for r in clips.requests_of(job) if r["take"] == take), key=lambda r: int(r["part"])
    )
    assert len(own) == len(parts)
    for request, (start, end) in zip(own, parts, strict=True):
        hz = tones[int(request["task_id"])]
        middle = (start + min(end, duration_s)) / 2
        span = min(0.5, (min(end, duration_s) - start) / 2)
        level = clips.level_at(samples, hz, middle, span)
        assert level == pytest.approx(SINE_LEVEL, rel=0.12), (request["part"], hz, level)
        for other in set(tones.values()) - {hz}:
            assert clips.level_at(samples, other, middle, span) < ABSENT
        assert clips.level_at(samples, CLIP_TONE_HZ, middle, span) < ABSENT
    for seam in [end for _, end in parts[:-1]]:
        near = clips.quiet_windows(samples, seam - 0.5, seam + 0.5, span_s=0.01)
        assert not near, f"a gap at the seam {seam} s: {near}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_any_clip_becomes_a_whole_result(
    case: Case, run_cli: RunCli, simulator: Simulator, tmp_path: Path
) -> None:
    clip = _make(tmp_path / "clips", case)
    item = clips.check(run_cli, clip)
    assert item["ok"] is True, item
    assert item["paid_jobs"] == case.parts
    assert tuple(item["prepare"]) == case.prepare
    assert len(item["parts"]) == case.parts
    assert item["parts"][0][0] == 0.0
    # The clip's length as read (an AVI's MPEG-4 picture reads 0.1 s longer than made).
    length = float(item["duration_s"])
    assert length == pytest.approx(case.duration_s, abs=0.1)
    assert item["parts"][-1][1] == pytest.approx(length, abs=0.05)
    assert all(3.0 <= end - start <= 20.0 for start, end in item["parts"][:-1])

    job = clips.add_sound(run_cli, clip)

    output = Path(job["output"])
    assert output.name == clip.stem + ".sound" + case.result_suffix
    assert output.parent == clip.parent
    clips.assert_paid_once(job, simulator, case.parts)
    assert_result(
        clip,
        job,
        simulator,
        duration_s=length,
        parts=item["parts"],
        copied=case.copied,
    )


def test_a_120_mb_1080p_clip_is_made_smaller_to_send_and_kept_whole_in_the_result(
    run_cli: RunCli, simulator: Simulator, tmp_path: Path
) -> None:
    """Over the service's 100 MB: ``--strict`` is refused with nothing paid; by default the
    upload is made smaller and the result keeps the original 1080p picture, copied."""
    clip = clips.heavy_clip(tmp_path / "clips" / "heavy.mp4", 4.0)
    size = clip.stat().st_size
    assert size > 100_000_000, size

    strict = clips.check(run_cli, clip, "--strict")
    assert strict["ok"] is False and strict["paid_jobs"] == 0, strict
    assert "too_large" in {p["code"] for p in strict["problems"]}
    refused = run_cli("add-sound", "--wait", "--json", "--strict", *POLL, str(clip))
    assert refused.returncode != 0
    assert simulator.submit_count == 0 and simulator.tasks() == []
    (row,) = clips.jobs(run_cli)
    assert row["paid_submits"] == 0 and row["state"] != "done"
    assert "100 MB" in (row["error"] or ""), row

    item = clips.check(run_cli, clip)
    assert item["ok"] is True and item["paid_jobs"] == 1
    assert item["prepare"] == ["shrink"]
    job = clips.add_sound(run_cli, clip)
    clips.assert_paid_once(job, simulator, 1)
    assert_result(clip, job, simulator, duration_s=4.0, parts=item["parts"])
    assert Path(job["output"]).stat().st_size > 100_000_000


def test_killed_between_parts_then_resumed_pays_each_part_once(
    run_cli: RunCli, simulator: Simulator, app_home: Path, tmp_path: Path
) -> None:
    """``add-sound --wait`` killed with SIGKILL once the first part's task exists; ``resume
    --wait`` finishes the clip: one task per part, each request paid once, the result whole."""
    simulator.scenario.task_seconds = 1.0  # the kill lands while Kling works on the parts
    clip = make_clip(tmp_path / "clips" / "killed.mp4", 45.0, audio=True)
    item = clips.check(run_cli, clip)
    assert item["paid_jobs"] == 3
    proc = subprocess.Popen(
        cli_command("add-sound", "--wait", "--json", *POLL, str(clip)),
        env=cli_env(app_home, simulator),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        # Killed between steps, not in the instant a part's paid request is on its way (a
        # kill there leaves that part "Needs your decision", as the pay-once rule wants; the
        # upload-kill test below covers a kill before any task).
        assert wait_until(
            lambda: (
                len(simulator.tasks()) >= 1 and "submitting" not in clips.request_states(app_home)
            ),
            timeout=60,
        )
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    at_kill = len(simulator.tasks())
    assert proc.returncode == -signal.SIGKILL
    assert 1 <= at_kill <= 3
    mid_send = "submitting" in clips.request_states(app_home)  # it moved on before the kill
    time.sleep(0.2)  # let an answer in flight to the dead process land at the simulator

    resumed = run_cli("resume", "--wait", "--json", *POLL, timeout=120)
    if mid_send and resumed.returncode != 0:
        # Killed in the instant a paid request was on its way and it never reached Kling:
        # that part rightly waits for the user's decision. Nothing was paid twice.
        (job,) = clips.jobs(run_cli)
        assert len(simulator.tasks()) <= 3
        assert all(r["paid_submits"] <= r["confirmed_requests"] == 1 for r in job["requests"])
        return
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    (job,) = clips.jobs(run_cli)
    assert job["state"] == "done", job
    clips.assert_paid_once(job, simulator, 3)
    assert_result(clip, job, simulator, duration_s=45.0, parts=item["parts"])


def test_parts_times_takes_with_an_output_folder_and_audio_export(
    run_cli: RunCli, simulator: Simulator, tmp_path: Path
) -> None:
    """A QuickTime clip with PCM sound (converted, split into 2 parts) in 2 takes, saved in
    another folder with its sound exported: 4 paid jobs, each take joined from its own parts'
    tones, the picture copied into a MOV, every file in the output folder."""
    clip = make_clip(
        tmp_path / "clips" / "pcm.mov", 25.0, container="mov", audio=True, audio_codec="pcm_s16le"
    )
    item = clips.check(run_cli, clip)
    assert item["paid_jobs"] == 2 and item["prepare"] == ["convert", "split"]
    out = tmp_path / "out"
    job = clips.add_sound(
        run_cli, clip, "--takes", "2", "--output", str(out), "--export-audio", "wav"
    )
    clips.assert_paid_once(job, simulator, 2, takes=2)
    result = Path(job["output"])
    assert result == out / "pcm.sound.mov"
    take2 = Path(job["files"]["takes"][1])
    assert take2 == out / "pcm.sound.take2.mov"
    assert Path(job["files"]["audio"][0]).parent == out
    assert not list(clip.parent.glob("pcm.sound*"))
    assert_result(clip, job, simulator, duration_s=25.0, parts=item["parts"])
    assert_result(clip, job, simulator, duration_s=25.0, parts=item["parts"], take=2, output=take2)


def test_a_silent_long_clip_with_its_own_sound_asked_for(
    run_cli: RunCli, simulator: Simulator, tmp_path: Path
) -> None:
    """A 45 s clip with no sound at all, sparse keyframes (split where they are), and
    --original-volume 0.5 and --duck: there is nothing of its own to mix; the result is the
    parts' generated sound, whole."""
    clip = make_clip(tmp_path / "clips" / "silent.mp4", 45.0, keyframe_every_s=8)
    item = clips.check(run_cli, clip)
    assert item["parts"] == [[0.0, 16.0], [16.0, 32.0], [32.0, 45.0]]
    job = clips.add_sound(run_cli, clip, "--original-volume", "0.5", "--duck")
    clips.assert_paid_once(job, simulator, 3)
    assert_result(clip, job, simulator, duration_s=45.0, parts=item["parts"])


def test_a_12_s_mpeg_ts_clip(run_cli: RunCli, simulator: Simulator, tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "clips" / "cam.ts", 12.0, container="ts", audio=True)
    item = clips.check(run_cli, clip)
    assert item["ok"] is True, item
    assert item["duration_s"] == pytest.approx(12.0, abs=0.1)
    job = clips.add_sound(run_cli, clip)
    clips.assert_paid_once(job, simulator, 1)
    assert_result(clip, job, simulator, duration_s=12.0, parts=item["parts"])


def test_killed_while_uploading_then_resumed_pays_each_part_once(
    run_cli: RunCli, simulator: Simulator, app_home: Path, tmp_path: Path
) -> None:
    """Killed while a part's upload is on its way (nothing paid yet): resume uploads again
    for free and sends each part once."""
    simulator.scenario.transfer_bytes_per_s = 60_000  # an upload takes seconds
    clip = make_clip(tmp_path / "clips" / "early.webm", 25.0, container="webm", audio=True)
    proc = subprocess.Popen(
        cli_command("add-sound", "--wait", "--json", *POLL, str(clip)),
        env=cli_env(app_home, simulator),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_until(lambda: "uploading" in clips.request_states(app_home), timeout=60)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    assert simulator.tasks() == []
    simulator.scenario.transfer_bytes_per_s = 0.0
    resumed = run_cli("resume", "--wait", "--json", *POLL, timeout=120)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    (job,) = clips.jobs(run_cli)
    assert job["state"] == "done", job
    clips.assert_paid_once(job, simulator, 2)
    assert_result(clip, job, simulator, duration_s=25.0, parts=[[0.0, 12.5], [12.5, 25.0]])
