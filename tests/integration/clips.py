"""Helpers of the end-to-end tests of clips of parts and of the result's sound (issues #12, #13).

Clips are made at test time (``kling_desktop.media.synth``), sent through the real CLI in a
subprocess to the simulator on 127.0.0.1, and the results are measured with PyAV: the video
stream's codec, packet count and length, and the sound's RMS in short windows and its known
tones (Goertzel). No numpy, no ffmpeg binary.
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
from array import array
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
from av.filter import Graph

from kling_desktop.media.synth import _pull_all, write_tone
from kling_desktop.simulator import Simulator
from tests.cli.conftest import RunCli
from tests.simulator.tones import RATE, SINE_LEVEL, audio_samples, goertzel

__all__ = ["GAP_RMS", "POLL", "RATE", "SINE_RMS"]

#: The RMS of a full-level sine (what each generated tone reads in a short window).
SINE_RMS = SINE_LEVEL / math.sqrt(2.0)
#: A window of the result's sound below this RMS is a gap (half the level of one tone, −6 dB).
GAP_RMS = SINE_RMS / 2.0
POLL = ("--poll-interval", "0.2")


def db(ratio: float) -> float:
    return 20.0 * math.log10(max(ratio, 1e-12))


# -- the command line ----------------------------------------------------------------------


def cli_json(run_cli: RunCli, *args: str, timeout: float = 120) -> Any:
    """Run a command that prints JSON; fail with its stderr unless it exits 0."""
    done = run_cli(*args, timeout=timeout)
    assert done.returncode == 0, f"{args[0]} exited {done.returncode}:\n{done.stderr[-4000:]}"
    return json.loads(done.stdout)


def check(run_cli: RunCli, clip: Path, *options: str) -> dict[str, Any]:
    """``check --json`` of one clip: its one item."""
    done = run_cli("check", "--json", *options, str(clip))
    assert done.returncode in (0, 1), done.stderr
    (item,) = json.loads(done.stdout)
    assert isinstance(item, dict)
    return item


def add_sound(run_cli: RunCli, clip: Path, *options: str, timeout: float = 150) -> dict[str, Any]:
    """``add-sound --wait --json`` of one clip: its job row, which must end done."""
    out = cli_json(
        run_cli, "add-sound", "--wait", "--json", *POLL, *options, str(clip), timeout=timeout
    )
    (job,) = out["jobs"]
    assert job["state"] == "done", job
    assert isinstance(job, dict)
    return job


def jobs(run_cli: RunCli) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = cli_json(run_cli, "jobs", "--json")["jobs"]
    return rows


def requests_of(job: dict[str, Any]) -> list[dict[str, Any]]:
    """The clip's paid requests (a plain job is its own one request)."""
    own: list[dict[str, Any]] = job.get("requests") or [{**job, "part": 1, "take": 1}]
    return own


def tone_of_task(simulator: Simulator) -> dict[int, float]:
    return {int(t["id"]): float(t["generated_tone_hz"]) for t in simulator.tasks()}


def assert_paid_once(job: dict[str, Any], simulator: Simulator, parts: int, takes: int = 1) -> None:
    """Tasks created == parts × takes; every request sent once, as confirmed, with a task."""
    requests = requests_of(job)
    assert len(simulator.tasks()) == parts * takes == simulator.submit_count
    assert len(requests) == parts * takes
    assert sorted((r["part"], r["take"]) for r in requests) == [
        (p, t) for p in range(1, parts + 1) for t in range(1, takes + 1)
    ]
    for request in requests:
        assert request["paid_submits"] == request["confirmed_requests"] == 1, request
    assert len({r["task_id"] for r in requests}) == parts * takes
    assert {r["task_id"] for r in requests} == set(tone_of_task(simulator))


# -- reading media back --------------------------------------------------------------------


@dataclass(frozen=True)
class Picture:
    codec: str
    frames: int  # packets of the first video stream
    length_s: float  # from the first packet's start to the last one's end
    width: int
    height: int


def picture(path: Path) -> Picture:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        base = stream.time_base or Fraction(1, 1000)
        first: int | None = None
        last = 0
        frames = 0
        for packet in container.demux(stream):
            if packet.size == 0 or packet.pts is None:
                continue
            frames += 1
            first = packet.pts if first is None else min(first, packet.pts)
            last = max(last, packet.pts + (packet.duration or 0))
        return Picture(
            codec=stream.codec_context.name,
            frames=frames,
            length_s=float((last - (first or 0)) * base),
            width=stream.codec_context.width,
            height=stream.codec_context.height,
        )


def audio_codecs(path: Path) -> list[str]:
    with av.open(str(path)) as container:
        return [s.codec_context.name for s in container.streams.audio]


def rms(samples: array[float], start_s: float, span_s: float) -> float:
    first = max(0, round(start_s * RATE))
    window = samples[first : first + round(span_s * RATE)]
    if not window:
        return 0.0
    return math.sqrt(sum(v * v for v in window) / len(window))


def quiet_windows(
    samples: array[float], start_s: float, end_s: float, *, span_s: float = 0.02
) -> list[tuple[float, float]]:
    """The windows of ``span_s`` between ``start_s`` and ``end_s`` whose RMS is a gap."""
    out = []
    at = start_s
    while at + span_s <= end_s + 1e-9:
        level = rms(samples, at, span_s)
        if level < GAP_RMS:
            out.append((round(at, 3), round(level, 4)))
        at += span_s
    return out


def level_at(samples: array[float], hz: float, at_s: float, span_s: float = 0.5) -> float:
    """Amplitude of ``hz`` over ``span_s`` centred on ``at_s``."""
    start = max(0, round((at_s - span_s / 2) * RATE))
    return goertzel(samples, hz, start, round(span_s * RATE))


def sound_of(path: Path) -> array[float]:
    return audio_samples(path)


# -- clips the synthesiser does not make ---------------------------------------------------


def heavy_clip(
    path: Path,
    duration_s: float,
    *,
    width: int = 1920,
    height: int = 1080,
    fps: int = 30,
    bit_rate: int = 240_000_000,
) -> Path:
    """A high-bit-rate H.264/AAC MP4 made fast: the test picture with strong noise (which
    x264 cannot compress, so the bit rate asked is the bit rate made), a keyframe a second,
    and the usual 440 Hz tone. About ``bit_rate / 8`` bytes a second."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.time_base = Fraction(1, fps)
        video.codec_context.bit_rate = bit_rate
        video.codec_context.options = {"preset": "ultrafast", "tune": "zerolatency", "g": str(fps)}
        sound = out.add_stream("aac", rate=48000)
        sound.layout = "mono"
        graph = Graph()
        graph.link_nodes(
            graph.add("testsrc2", size=f"{width}x{height}", rate=str(fps)),
            graph.add("noise", alls="60", allf="t+u"),
            graph.add("trim", end_frame=str(round(duration_s * fps))),
            graph.add("format", pix_fmts="yuv420p"),
            graph.add("buffersink"),
        ).configure()
        for frame in _pull_all(graph, av.VideoFrame):
            frame.pict_type = av.video.frame.PictureType.NONE
            for packet in video.encode(frame):
                out.mux(packet)
        for packet in video.encode(None):
            out.mux(packet)
        write_tone(out, sound, duration_s)
    return path


def request_states(app_home: Path) -> list[str]:
    """The states of the clips' requests, read straight from the job list (read-only, while
    another process runs the jobs)."""
    found = list(app_home.rglob("jobs.sqlite3"))
    if not found:
        return []
    try:
        with contextlib.closing(sqlite3.connect(f"file:{found[0]}?mode=ro", uri=True)) as db:
            rows = db.execute("SELECT state FROM jobs WHERE parent_id IS NOT NULL").fetchall()
    except sqlite3.Error:
        return []
    return [str(state) for (state,) in rows]
