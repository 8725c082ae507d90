"""What "Kling" puts in a result: a known tone per task, the clip's own sound mixed in when kept
(read either way the cropVideoOriginalSound flag may mean), one audio track; and the limits it
holds uploads and add-sound to, answered in the service's shape.

Measured in the result files themselves (Goertzel over decoded samples, :mod:`.tones`).
"""

from __future__ import annotations

import argparse
import socket
import struct
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from kling_desktop.simulator import DEMO_TOKEN, GENERATED_TONES_HZ, Simulator
from kling_desktop.simulator.cli import add_arguments
from kling_desktop.simulator.media import VideoInfo
from kling_desktop.simulator.scenario import keeps_original, scenario_setting
from kling_desktop.simulator.state import length_ok
from tests.fixtures.media import ClipFactory
from tests.fixtures.sim import DEMO_EMAIL, wait_until
from tests.simulator.tones import (
    ABSENT,
    SINE_LEVEL,
    audio_seconds,
    audio_stream_count,
    tone_level,
    tone_levels,
)

AUTH = {"Authorization": f"Bearer {DEMO_TOKEN}"}
CLIP_TONE = 440.0  # make_clip's own sound
LEVEL = pytest.approx(SINE_LEVEL, rel=0.1)
BOTH_ENDS = pytest.approx((SINE_LEVEL, SINE_LEVEL), rel=0.1)  # near the start and the end


class Api:
    """Plain HTTP on one simulator, the way the docs' curl examples call it."""

    def __init__(self, sim: Simulator, tmp: Path) -> None:
        self.sim = sim
        self.tmp = tmp

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {**AUTH, **kwargs.pop("headers", {})}
        return requests.request(method, self.sim.url + path, headers=headers, timeout=30, **kwargs)

    def upload(self, clip: Path, ctype: str = "video/mp4") -> str:
        with clip.open("rb") as fh:
            answer = self.call(
                "POST", f"/assets/?email={DEMO_EMAIL}", headers={"Content-Type": ctype}, data=fh
            )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["resourceUrl"])

    def submit(self, video: str, **fields: Any) -> requests.Response:
        return self.call(
            "POST", "/videos/add-sound", json={"email": DEMO_EMAIL, "video": video, **fields}
        )

    def start(self, video: str, **fields: Any) -> int:
        answer = self.submit(video, **fields)
        assert answer.status_code == 200, answer.text
        return int(answer.json()["task"]["id"])

    def result(self, task_id: int) -> Path:
        """Wait for the task to succeed; download its work's MP4."""
        final: dict[str, Any] = {}

        def done() -> bool:
            answer = self.call("GET", f"/tasks/{task_id}?email={DEMO_EMAIL}")
            final.update(answer.json())
            return bool(final["status_final"])

        assert wait_until(done, 20), final
        assert final["status_name"] == "succeed", final
        url = final["works"][0]["resource"]["resource"]
        dest = self.tmp / f"{task_id}.mp4"
        dest.write_bytes(requests.get(url, timeout=30).content)
        return dest

    def row(self, task_id: int) -> dict[str, Any]:
        [row] = [t for t in self.sim.tasks() if t["id"] == task_id]
        return row


@pytest.fixture
def api(simulator: Simulator, tmp_path: Path) -> Api:
    simulator.scenario.task_seconds = 0
    return Api(simulator, tmp_path)


@pytest.fixture
def noisy(clip_factory: ClipFactory) -> Path:
    """A 3 s MP4 whose own sound is a 440 Hz tone at sine's level."""
    return clip_factory("noisy.mp4", 3.0, width=64, height=64, fps=5, audio=True)


# -- the generated sound ----------------------------------------------------------------------


def test_table_of_tones_is_told_apart() -> None:
    tones = sorted(GENERATED_TONES_HZ)
    assert len(set(tones)) == len(tones) >= 4 and tones[0] >= 600
    for i, low in enumerate(tones):
        assert all(abs(low - CLIP_TONE * k) >= 60 for k in range(1, 8))
        for high in tones[i + 1 :]:
            assert high - low >= 250
            assert all(abs(high - low * k) >= 50 for k in range(2, 6))


def test_four_takes_of_one_clip_carry_four_tones_each_the_whole_length(
    api: Api, simulator: Simulator, clip_factory: ClipFactory
) -> None:
    clip = clip_factory("silent.mp4", 4.0, width=64, height=64, fps=5)
    video = api.upload(clip)
    ids = [api.start(video) for _ in range(4)]
    tones = [simulator.generated_tone_hz(i) for i in ids]
    assert tones == list(GENERATED_TONES_HZ[:4])  # deterministic: the n-th task, the n-th tone
    assert [api.row(i)["generated_tone_hz"] for i in ids] == tones
    for task_id, tone in zip(ids, tones, strict=True):
        result = api.result(task_id)
        assert audio_stream_count(result) == 1
        assert audio_seconds(result) == pytest.approx(4.0, abs=0.05)
        levels = tone_levels(result, GENERATED_TONES_HZ)
        assert levels[tone] == BOTH_ENDS  # at the start and at the end
        others = [max(v) for hz, v in levels.items() if hz != tone]
        assert max(others) < ABSENT, (tone, levels)


def test_tones_go_round_the_table(api: Api, simulator: Simulator, clip: Path) -> None:
    video = api.upload(clip)
    count = len(GENERATED_TONES_HZ) + 2
    tones = [simulator.generated_tone_hz(api.start(video)) for _ in range(count)]
    assert tones == [GENERATED_TONES_HZ[i % len(GENERATED_TONES_HZ)] for i in range(count)]
    with pytest.raises(KeyError):
        simulator.generated_tone_hz(12345)


def test_wav_download_is_the_generated_tone_alone(
    api: Api, simulator: Simulator, noisy: Path, tmp_path: Path
) -> None:
    task_id = api.start(api.upload(noisy), cropVideoOriginalSound=True)
    api.result(task_id)
    work_id = api.row(task_id)["work_id"]
    answer = api.call("GET", f"/assets/download?email={DEMO_EMAIL}&workIds={work_id}&fileTypes=WAV")
    wav = tmp_path / "sound.wav"
    wav.write_bytes(requests.get(answer.json()["cdnUrl"], timeout=10).content)
    assert tone_level(wav, simulator.generated_tone_hz(task_id)) == LEVEL
    assert tone_level(wav, CLIP_TONE) < ABSENT


# -- the clip's own sound: which way the flag is read -----------------------------------------


@pytest.mark.parametrize(
    ("reading", "flag", "kept"),
    [
        ("keeps", True, True),
        ("keeps", False, False),
        ("keeps", None, False),  # absent = false, the documented default
        ("removes", True, False),
        ("removes", False, True),
        ("removes", None, True),
    ],
)
def test_original_sound_kept_or_removed_per_reading_and_flag(
    api: Api, simulator: Simulator, noisy: Path, reading: str, flag: bool | None, kept: bool
) -> None:
    simulator.scenario.crop_original_sound = reading
    fields = {} if flag is None else {"cropVideoOriginalSound": flag}
    task_id = api.start(api.upload(noisy), **fields)
    row = api.row(task_id)
    assert row["crop_video_original_sound_sent"] is flag
    assert row["crop_video_original_sound"] is bool(flag)
    assert row["crop_original_sound"] == reading
    assert row["keeps_original_sound"] is kept
    assert row["original_sound_in_result"] is None  # not made yet

    result = api.result(task_id)
    assert api.row(task_id)["original_sound_in_result"] is kept
    assert audio_stream_count(result) == 1  # mixed into the one track, never a second stream
    levels = tone_levels(result, (CLIP_TONE, row["generated_tone_hz"]))
    assert levels[row["generated_tone_hz"]] == BOTH_ENDS  # its own level, not halved
    if kept:
        assert levels[CLIP_TONE] == BOTH_ENDS  # the original at its own level too
    else:
        assert max(levels[CLIP_TONE]) < ABSENT


def test_reading_is_taken_at_submit(api: Api, simulator: Simulator, noisy: Path) -> None:
    video = api.upload(noisy)
    before = api.start(video, cropVideoOriginalSound=True)
    simulator.scenario.crop_original_sound = "removes"
    after = api.start(video, cropVideoOriginalSound=True)
    assert tone_level(api.result(before), CLIP_TONE) == LEVEL
    assert tone_level(api.result(after), CLIP_TONE) < ABSENT


def test_the_flag_is_echoed_as_sent_whatever_the_reading(
    api: Api, simulator: Simulator, noisy: Path
) -> None:
    simulator.scenario.crop_original_sound = "removes"
    answer = api.submit(api.upload(noisy), cropVideoOriginalSound=True)
    [payload] = answer.json()["task"]["taskInfo"]["callbackPayloads"]
    assert payload["arguments"] == [{"name": "cropVideoOriginalSound", "value": "true"}]


def test_silent_clip_has_nothing_to_keep(api: Api, clip: Path) -> None:
    task_id = api.start(api.upload(clip), cropVideoOriginalSound=True)
    result = api.result(task_id)
    row = api.row(task_id)
    assert (row["keeps_original_sound"], row["clip_has_sound"]) == (True, False)
    assert row["original_sound_in_result"] is False
    assert audio_stream_count(result) == 1
    assert tone_level(result, row["generated_tone_hz"]) == LEVEL


def test_mov_with_pcm_sound_is_mixed_at_its_level(api: Api, clip_factory: ClipFactory) -> None:
    clip = clip_factory(
        "pcm.mov", 3.0, width=64, height=64, fps=5, audio=True, audio_codec="pcm_s16le"
    )
    task_id = api.start(api.upload(clip, "video/quicktime"), cropVideoOriginalSound=True)
    result = api.result(task_id)
    assert audio_stream_count(result) == 1
    assert tone_level(result, CLIP_TONE) == LEVEL


def test_reading_is_a_scenario_setting() -> None:
    assert scenario_setting("crop_original_sound=removes") == ("crop_original_sound", "removes")
    assert scenario_setting("crop-original-sound=KEEPS") == ("crop_original_sound", "keeps")
    with pytest.raises(ValueError, match="keeps, removes"):
        scenario_setting("crop_original_sound=maybe")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--scenario", "crop_original_sound=removes"])
    assert args.scenario == [("crop_original_sound", "removes")]
    assert keeps_original(True, "keeps") and not keeps_original(True, "removes")
    with pytest.raises(ValueError):
        keeps_original(True, "sideways")


# -- limits, in the service's answer shape ----------------------------------------------------


def test_length_is_judged_to_the_millisecond() -> None:
    def info(seconds: float) -> VideoInfo:
        return VideoInfo(seconds, 64, 64, False, "mov,mp4,m4a,3gp,3g2,mj2")

    assert [length_ok(info(s)) for s in (2.9996, 3.0, 20.0, 20.0004)] == [True] * 4
    assert [length_ok(info(s)) for s in (2.9994, 2.99, 20.0006, 20.1)] == [False] * 4


def test_add_sound_refuses_lengths_outside_3_to_20_s(
    api: Api, simulator: Simulator, clip_factory: ClipFactory
) -> None:
    short = api.upload(clip_factory("short.mp4", 2.99, width=32, height=32, fps=100))
    answer = api.submit(short)
    assert (answer.status_code, answer.json()) == (
        400,
        {
            "error": "Video can't be shorter than 3 seconds or longer than 20 seconds "
            "(this one is 2.99 s)"
        },
    )
    long = api.upload(clip_factory("long.mp4", 20.2, width=32, height=32, fps=5))
    answer = api.submit(long)
    assert answer.status_code == 400 and answer.json()["error"].endswith("(this one is 20.2 s)")
    assert simulator.submit_count == 0
    edge = api.upload(clip_factory("edge.mp4", 20.0, width=32, height=32, fps=5))
    assert api.submit(edge).status_code == 200


def test_add_sound_refuses_a_video_that_is_not_mp4_or_mov(
    api: Api, simulator: Simulator, clip_factory: ClipFactory
) -> None:
    # /assets checks the Content-Type header only (contract §1): a Matroska body labelled MP4
    # is stored, and refused when add-sound reads it.
    video = api.upload(clip_factory("c.mkv", 3.0, width=64, height=64, fps=5))
    answer = api.submit(video)
    assert (answer.status_code, answer.json()) == (
        400,
        {"error": "Unable to process video: only .mp4/.mov formats are supported"},
    )
    assert simulator.submit_count == 0
    mov = api.upload(clip_factory("c.mov", 3.0, width=64, height=64, fps=5), "video/quicktime")
    assert api.submit(mov).status_code == 200


def _raw_upload_headers(sim: Simulator, ctype: str, length: int) -> bytes:
    """Send only the headers of a POST /assets whose body would be ``length`` bytes; return
    the answer the simulator gives before any body byte."""
    port = int(sim.origin.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.settimeout(5)
        s.sendall(
            f"POST /v1/kling/assets/?email={DEMO_EMAIL} HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {DEMO_TOKEN}\r\nContent-Type: {ctype}\r\n"
            f"Content-Length: {length}\r\n\r\n".encode()
        )
        answer = b""
        while not answer.endswith(b"}"):
            piece = s.recv(4096)
            assert piece, answer
            answer += piece
    return answer


@pytest.mark.parametrize(
    ("ctype", "limit", "text"),
    [("video/mp4", 100_000_000, "100MB"), ("video/quicktime", 100_000_000, "100MB"),
     ("image/jpeg", 10_000_000, "10MB"), ("audio/wav", 20_000_000, "20MB")],
)  # fmt: skip
def test_upload_over_the_limit_is_refused_before_its_body(
    simulator: Simulator, ctype: str, limit: int, text: str
) -> None:
    answer = _raw_upload_headers(simulator, ctype, limit + 1)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"application/json" in head
    assert body.decode() == (
        f'{{"error": "File is too large. Maximum size for {ctype} is {text}"}}'
    )
    assert list((simulator.data_dir / "uploads").iterdir()) == []


class _PaddedMp4:
    """``clip`` followed by one ``free`` box, ``size`` bytes in all (still a valid MP4), read
    as a file of known length (so it goes with a Content-Length) without being in memory."""

    def __init__(self, clip: Path, size: int) -> None:
        self.head = clip.read_bytes()
        self.head += struct.pack(">I4s", size - len(self.head), b"free")
        self.size = size
        self.pos = 0

    def __len__(self) -> int:
        return self.size

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.pos if n < 0 else min(n, self.size - self.pos)
        start, self.pos = self.pos, self.pos + n
        if start >= len(self.head):
            return bytes(n)
        piece = self.head[start : start + n]
        return piece + bytes(n - len(piece))


def test_upload_of_exactly_100_000_000_bytes_is_accepted_and_usable(
    api: Api, simulator: Simulator, clip_factory: ClipFactory
) -> None:
    clip = clip_factory("small.mp4", 3.0, width=64, height=64, fps=5)
    answer = api.call(
        "POST",
        f"/assets/?email={DEMO_EMAIL}",
        headers={"Content-Type": "video/mp4"},
        data=_PaddedMp4(clip, 100_000_000),
    )
    assert answer.status_code == 200, answer.text
    stored = simulator.data_dir / "uploads" / answer.json()["fileName"]
    assert stored.stat().st_size == 100_000_000
    assert api.submit(answer.json()["resourceUrl"]).status_code == 200
    stored.unlink()  # the test's disk, back at once


def test_chunked_upload_past_the_limit_is_answered_and_streamed_away(
    api: Api, simulator: Simulator
) -> None:
    piece = bytes(1_000_000)

    def body() -> Iterator[bytes]:
        for _ in range(100):
            yield piece
        yield b"x"  # byte 100,000,001

    tracemalloc.start()
    try:
        answer = api.call(
            "POST",
            f"/assets/?email={DEMO_EMAIL}",
            headers={"Content-Type": "video/mp4"},
            data=body(),
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (answer.status_code, answer.json()) == (
        400,
        {"error": "File is too large. Maximum size for video/mp4 is 100MB"},
    )
    assert peak < 16_000_000, f"peak {peak / 1e6:.1f} MB"  # never the body in memory
    assert list((simulator.data_dir / "uploads").iterdir()) == []
    assert api.call("GET", "/accounts").status_code == 200  # and the simulator serves on
