"""The result's sound, end to end (issue #13): the real CLI in a subprocess against the
simulator, a clip with a 440 Hz tone of its own, and each task's known generated tone measured
in the results (Goertzel, EBU R128 through libavfilter). Remixes pay nothing; the app learns
which way the service reads ``cropVideoOriginalSound`` from a result and sends it the other
way afterwards.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kling_desktop.media.sound import measure_loudness
from kling_desktop.media.synth import make_clip
from kling_desktop.simulator import Simulator
from tests.cli.conftest import RunCli
from tests.fixtures.sim import ABSENT, CLIP_TONE_HZ, SINE_LEVEL, tone_level
from tests.integration import clips

LENGTH_S = 5.0


@pytest.fixture
def toned(tmp_path: Path) -> Path:
    """A 5 s 320×180 H.264/AAC MP4 whose own sound is a 440 Hz tone."""
    return make_clip(tmp_path / "clips" / "toned.mp4", LENGTH_S, audio=True, tone_hz=CLIP_TONE_HZ)


def _tone(simulator: Simulator, request: dict[str, Any]) -> float:
    return clips.tone_of_task(simulator)[int(request["task_id"])]


def _within_db(measured: float, expected: float, tolerance_db: float = 1.0) -> bool:
    return abs(clips.db(measured / expected)) <= tolerance_db


def test_the_default_result_holds_the_generated_sound_and_not_the_clips(
    run_cli: RunCli, simulator: Simulator, toned: Path
) -> None:
    job = clips.add_sound(run_cli, toned)
    clips.assert_paid_once(job, simulator, 1)
    (task,) = simulator.tasks()
    result = Path(job["output"])
    assert result.name == "toned.sound.mp4"
    assert tone_level(result, task["generated_tone_hz"]) == pytest.approx(SINE_LEVEL, rel=0.12)
    assert tone_level(result, CLIP_TONE_HZ) < ABSENT
    assert task["original_sound_in_result"] is False


def test_original_volume_half_keeps_the_clips_tone_6_db_down(
    run_cli: RunCli, simulator: Simulator, toned: Path
) -> None:
    own = tone_level(toned, CLIP_TONE_HZ)
    job = clips.add_sound(run_cli, toned, "--original-volume", "0.5")
    clips.assert_paid_once(job, simulator, 1)
    result = Path(job["output"])
    samples = clips.sound_of(result)
    middle = LENGTH_S / 2
    original = clips.level_at(samples, CLIP_TONE_HZ, middle)
    generated = clips.level_at(samples, _tone(simulator, clips.requests_of(job)[0]), middle)
    assert _within_db(original, own * 0.5), f"{clips.db(original / own):.2f} dB"
    assert _within_db(generated, SINE_LEVEL), f"{clips.db(generated / SINE_LEVEL):.2f} dB"
    # …along the whole clip, not only in its middle.
    for at in (0.5, LENGTH_S - 0.5):
        assert _within_db(clips.level_at(samples, CLIP_TONE_HZ, at), own * 0.5)
    assert not clips.quiet_windows(samples, 0.03, LENGTH_S - 0.03)


def test_loudness_minus_14_measures_minus_14_lufs(
    run_cli: RunCli, simulator: Simulator, toned: Path
) -> None:
    job = clips.add_sound(run_cli, toned, "--loudness", "-14")
    clips.assert_paid_once(job, simulator, 1)
    result = Path(job["output"])
    assert measure_loudness(result) == pytest.approx(-14.0, abs=1.0)
    assert clips.picture(result).frames == clips.picture(toned).frames


def test_three_takes_are_three_paid_jobs_and_three_different_results(
    run_cli: RunCli, simulator: Simulator, toned: Path
) -> None:
    job = clips.add_sound(run_cli, toned, "--takes", "3")
    clips.assert_paid_once(job, simulator, 1, takes=3)
    takes = job["files"]["takes"]
    assert len(takes) == 3 and takes[0] in ("", job["output"]), job["files"]
    files = [Path(job["output"]), Path(takes[1]), Path(takes[2])]
    assert [f.name for f in files] == [
        "toned.sound.mp4",
        "toned.sound.take2.mp4",
        "toned.sound.take3.mp4",
    ]
    by_take = {int(r["take"]): _tone(simulator, r) for r in clips.requests_of(job)}
    assert len(set(by_take.values())) == 3
    for take, path in enumerate(files, start=1):
        assert path.is_file()
        levels = {hz: tone_level(path, hz) for hz in by_take.values()}
        assert levels[by_take[take]] == pytest.approx(SINE_LEVEL, rel=0.12), (take, levels)
        assert all(v < ABSENT for hz, v in levels.items() if hz != by_take[take]), levels
        assert tone_level(path, CLIP_TONE_HZ) < ABSENT
        assert clips.picture(path).frames == clips.picture(toned).frames


@pytest.mark.parametrize("first", [(), ("--original-volume", "0.5")], ids=["plain", "mixed"])
def test_remix_pays_nothing_and_changes_the_level(
    first: tuple[str, ...], run_cli: RunCli, simulator: Simulator, toned: Path
) -> None:
    """A done job (plain: Kling's result as it came; mixed: put together on the computer)
    remixed with the clip's own sound at full level: no new task, the 440 Hz tone now at the
    clip's own level, the generated tone unchanged."""
    own = tone_level(toned, CLIP_TONE_HZ)
    job = clips.add_sound(run_cli, toned, *first)
    generated_hz = _tone(simulator, clips.requests_of(job)[0])
    tasks_before, submits_before = len(simulator.tasks()), simulator.submit_count

    remixed = clips.cli_json(
        run_cli,
        "remix",
        "--json",
        "--original-volume",
        "1",
        "--export-audio",
        "wav",
        str(job["id"]),
    )
    (after,) = remixed["jobs"]
    assert len(simulator.tasks()) == tasks_before and simulator.submit_count == submits_before
    assert after["state"] == "done"
    result = Path(after["output"])
    assert result == Path(job["output"])
    assert _within_db(tone_level(result, CLIP_TONE_HZ), own), tone_level(result, CLIP_TONE_HZ)
    assert _within_db(tone_level(result, generated_hz), SINE_LEVEL)
    wav = toned.with_name("toned.sound.wav")
    assert wav.is_file()
    assert _within_db(tone_level(wav, generated_hz), SINE_LEVEL)
    for request in clips.requests_of(after):
        assert request["paid_submits"] == request["confirmed_requests"] == 1


def test_export_audio_wav_writes_the_sound_beside_the_result(
    run_cli: RunCli, simulator: Simulator, toned: Path
) -> None:
    job = clips.add_sound(run_cli, toned, "--export-audio", "wav")
    clips.assert_paid_once(job, simulator, 1)
    wav = toned.with_name("toned.sound.wav")
    assert wav.is_file()
    assert job["files"]["audio"] == [str(wav)]
    assert clips.audio_codecs(wav) == ["pcm_s16le"] or clips.audio_codecs(wav)[0].startswith("pcm")
    samples = clips.sound_of(wav)
    assert len(samples) / clips.RATE == pytest.approx(LENGTH_S, abs=0.1)
    hz = _tone(simulator, clips.requests_of(job)[0])
    assert _within_db(clips.level_at(samples, hz, LENGTH_S / 2), SINE_LEVEL)
    assert clips.level_at(samples, CLIP_TONE_HZ, LENGTH_S / 2) < ABSENT
    # The result itself is there too, with the same sound.
    assert _within_db(tone_level(Path(job["output"]), hz), SINE_LEVEL)


def test_the_app_learns_a_service_that_reads_the_flag_the_other_way(
    run_cli: RunCli, simulator: Simulator, toned: Path, app_home: Path, tmp_path: Path
) -> None:
    """The service reads ``cropVideoOriginalSound`` the other way ("removes"): the first
    default job's result holds the clip's own sound; the app sees it, says so, and sends the
    next job's flag the other way, whose result then holds only the generated sound."""
    simulator.scenario.crop_original_sound = "removes"
    first = clips.add_sound(run_cli, toned)
    (task,) = simulator.tasks()
    assert task["crop_video_original_sound_sent"] is False
    assert task["original_sound_in_result"] is True
    assert tone_level(Path(first["output"]), CLIP_TONE_HZ) > SINE_LEVEL / 2
    logs = "".join(p.read_text(errors="replace") for p in app_home.rglob("*.log"))
    assert "from now on the flag is sent the other way" in logs, logs[-2000:]

    second_clip = make_clip(tmp_path / "clips" / "second.mp4", LENGTH_S, audio=True)
    second = clips.add_sound(run_cli, second_clip)
    row = simulator.tasks()[-1]
    assert len(simulator.tasks()) == 2
    assert row["crop_video_original_sound_sent"] is True
    assert row["original_sound_in_result"] is False
    result = Path(second["output"])
    assert tone_level(result, CLIP_TONE_HZ) < ABSENT
    assert tone_level(result, row["generated_tone_hz"]) == pytest.approx(SINE_LEVEL, rel=0.12)


def test_duck_lowers_the_clips_own_sound_under_the_generated_one(
    run_cli: RunCli, simulator: Simulator, toned: Path
) -> None:
    own = tone_level(toned, CLIP_TONE_HZ)
    job = clips.add_sound(run_cli, toned, "--original-volume", "1", "--duck")
    result = Path(job["output"])
    samples = clips.sound_of(result)
    original = clips.level_at(samples, CLIP_TONE_HZ, LENGTH_S / 2)
    generated = clips.level_at(samples, _tone(simulator, clips.requests_of(job)[0]), LENGTH_S / 2)
    assert clips.db(original / own) < -3.0, f"{clips.db(original / own):.2f} dB"
    assert original > ABSENT
    assert _within_db(generated, SINE_LEVEL)


def test_the_reading_learned_from_a_clip_of_two_requests_sticks(
    run_cli: RunCli, simulator: Simulator, toned: Path, tmp_path: Path
) -> None:
    """The service reads the flag the other way; the first clip is two paid requests (two
    takes), both sent before anything was learned, so both results hold the clip's own sound.
    Each says the same thing about the service: the next job must be sent the other way."""
    simulator.scenario.crop_original_sound = "removes"
    first = clips.add_sound(run_cli, toned, "--takes", "2")
    assert [t["crop_video_original_sound_sent"] for t in simulator.tasks()] == [False, False]
    assert all(t["original_sound_in_result"] for t in simulator.tasks())

    second_clip = make_clip(tmp_path / "clips" / "second.mp4", LENGTH_S, audio=True)
    second = clips.add_sound(run_cli, second_clip)
    row = simulator.tasks()[-1]
    assert len(simulator.tasks()) == 3
    assert row["crop_video_original_sound_sent"] is True, "sent as if the service read the docs"
    assert row["original_sound_in_result"] is False
    assert tone_level(Path(second["output"]), CLIP_TONE_HZ) < ABSENT
    assert first["state"] == "done"


def test_remix_of_takes_remakes_every_take_for_free(
    run_cli: RunCli, simulator: Simulator, toned: Path
) -> None:
    own = tone_level(toned, CLIP_TONE_HZ)
    job = clips.add_sound(run_cli, toned, "--takes", "2")
    take2 = Path(job["files"]["takes"][1])
    assert tone_level(take2, CLIP_TONE_HZ) < ABSENT
    remixed = clips.cli_json(run_cli, "remix", "--json", "--original-volume", "1", str(job["id"]))
    (after,) = remixed["jobs"]
    assert len(simulator.tasks()) == simulator.submit_count == 2
    assert Path(after["files"]["takes"][1]) == take2
    for path in (Path(after["output"]), take2):
        assert _within_db(tone_level(path, CLIP_TONE_HZ), own), path


def test_duck_sound_lowers_klings_sound_under_the_clips_own(
    run_cli: RunCli, simulator: Simulator, toned: Path
) -> None:
    """The other way round (dialogue first): the clip's own sound at its level, Kling's lower."""
    own = tone_level(toned, CLIP_TONE_HZ)
    job = clips.add_sound(run_cli, toned, "--original-volume", "1", "--duck-sound")
    samples = clips.sound_of(Path(job["output"]))
    generated = clips.level_at(samples, _tone(simulator, clips.requests_of(job)[0]), LENGTH_S / 2)
    original = clips.level_at(samples, CLIP_TONE_HZ, LENGTH_S / 2)
    assert clips.db(generated / SINE_LEVEL) < -3.0, f"{clips.db(generated / SINE_LEVEL):.2f} dB"
    assert generated > ABSENT
    assert _within_db(original, own)


def test_a_mixed_export_also_saves_klings_sound_alone(
    run_cli: RunCli, simulator: Simulator, toned: Path
) -> None:
    job = clips.add_sound(run_cli, toned, "--export-audio", "wav", "--original-volume", "0.5")
    mix, alone = toned.with_name("toned.sound.wav"), toned.with_name("toned.kling.wav")
    assert job["files"]["audio"] == [str(mix), str(alone)]
    hz = _tone(simulator, clips.requests_of(job)[0])
    middle = LENGTH_S / 2
    assert clips.level_at(clips.sound_of(mix), CLIP_TONE_HZ, middle) > ABSENT  # the mix
    assert clips.level_at(clips.sound_of(alone), CLIP_TONE_HZ, middle) < ABSENT  # Kling's alone
    assert _within_db(clips.level_at(clips.sound_of(alone), hz, middle), SINE_LEVEL)


def test_choosing_a_take_and_discarding_the_others_pays_nothing(
    run_cli: RunCli, simulator: Simulator, toned: Path
) -> None:
    job = clips.add_sound(run_cli, toned, "--takes", "2")
    take2 = Path(job["files"]["takes"][1])
    second_tone = tone_level(take2, _tone(simulator, clips.requests_of(job)[1]))
    remixed = clips.cli_json(
        run_cli, "remix", "--json", "--take", "2", "--discard-other-takes", str(job["id"])
    )
    (after,) = remixed["jobs"]
    assert len(simulator.tasks()) == simulator.submit_count == 2  # nothing paid
    result = Path(after["output"])
    assert result == Path(job["output"])  # the result keeps its name …
    hz = _tone(simulator, clips.requests_of(job)[1])
    assert _within_db(tone_level(result, hz), second_tone)  # … and now holds take 2
    assert not take2.exists() and all(not p for p in after["files"]["takes"])


def test_using_another_take_leaves_no_file_that_no_job_lists(
    run_cli: RunCli, simulator: Simulator, toned: Path
) -> None:
    job = clips.add_sound(run_cli, toned, "--takes", "2")
    remixed = clips.cli_json(run_cli, "remix", "--json", "--take", "2", str(job["id"]))
    (after,) = remixed["jobs"]
    listed = {Path(after["output"]), *(Path(p) for p in after["files"]["takes"] if p)}
    on_disk = set(toned.parent.glob("toned.sound*.mp4"))
    assert on_disk == listed, (on_disk, listed)
    assert {p.name for p in on_disk} == {"toned.sound.mp4", "toned.sound.take1.mp4"}
    assert len(simulator.tasks()) == 2
