"""The result's sound (issue #13): levels, ducking, loudness, export, and contains()."""

from __future__ import annotations

import math
import time
from pathlib import Path

import av
import pytest

from kling_desktop.cancel import Cancelled, CancelToken
from kling_desktop.media import sound
from kling_desktop.media.sound import MixSettings, contains, export_audio, measure_loudness, mix
from kling_desktop.media.synth import make_clip
from tests.media.tones import ebur128, read_mono, tone, tone_db, window, write_sound

ORIGINAL_HZ = 440.0
GENERATED_HZ = 1000.0


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 6 s clip with its own 440 Hz tone, Kling's 1000 Hz result, and the own sound as WAV."""
    folder = tmp_path_factory.mktemp("sound")
    original = make_clip(folder / "clip.mp4", 6.0, audio=True, tone_hz=ORIGINAL_HZ)
    generated = make_clip(folder / "kling.mp4", 6.0, audio=True, tone_hz=GENERATED_HZ)
    own = sound.extract_audio(original, folder / "own.wav")
    assert own is not None
    return {"original": original, "generated": generated, "own": own}


def levels(path: Path, start_s: float = 1.0, end_s: float = 5.0) -> tuple[float, float]:
    """(original tone, generated tone) in dBFS over whole seconds of ``path``."""
    samples = window(read_mono(path), start_s, end_s)
    return tone_db(samples, ORIGINAL_HZ), tone_db(samples, GENERATED_HZ)


def test_settings_plain_and_range() -> None:
    assert MixSettings().is_plain
    assert not MixSettings(original_volume=0.5).is_plain
    assert not MixSettings(duck=True).is_plain
    assert not MixSettings(loudness_lufs=-14).is_plain
    with pytest.raises(ValueError, match="between 0 and 2"):
        MixSettings(sound_volume=2.5)


def test_extract_audio(clips: dict[str, Path], tmp_path: Path) -> None:
    assert sound.duration_of(clips["own"]) == pytest.approx(6.0, abs=0.03)
    silent = make_clip(tmp_path / "silent.mp4", 2.0, audio=False)
    assert sound.extract_audio(silent, tmp_path / "none.wav") is None
    assert not (tmp_path / "none.wav").exists()


def test_plain_mix_is_klings_sound_alone(clips: dict[str, Path], tmp_path: Path) -> None:
    result = mix(clips["generated"], clips["own"], tmp_path / "plain.wav", MixSettings())
    own_original, _ = levels(clips["own"])
    _, own_generated = levels(clips["generated"])
    original_db, generated_db = levels(result)
    assert generated_db == pytest.approx(own_generated, abs=0.2)
    assert original_db < own_original - 40


def test_original_at_half_is_6_db_down_and_klings_at_its_level(
    clips: dict[str, Path], tmp_path: Path
) -> None:
    settings = MixSettings(original_volume=0.5)
    result = mix(clips["generated"], clips["own"], tmp_path / "half.wav", settings, length_s=6.0)
    own_original, _ = levels(clips["own"])
    _, own_generated = levels(clips["generated"])
    original_db, generated_db = levels(result)
    assert original_db - own_original == pytest.approx(-6.02, abs=0.5)
    assert generated_db == pytest.approx(own_generated, abs=0.5)
    assert sound.duration_of(result) == pytest.approx(6.0, abs=0.001)


def test_sound_volume_scales_klings_sound(clips: dict[str, Path], tmp_path: Path) -> None:
    result = mix(clips["generated"], None, tmp_path / "loud.wav", MixSettings(sound_volume=2.0))
    _, own_generated = levels(clips["generated"])
    assert levels(result)[1] - own_generated == pytest.approx(6.02, abs=0.5)


def test_duck_lowers_the_original_while_klings_sound_plays(tmp_path: Path) -> None:
    own = write_sound(tmp_path / "own.wav", 12.0, tone(ORIGINAL_HZ))
    generated = write_sound(tmp_path / "gen.wav", 12.0, tone(GENERATED_HZ, 0.125, 4.0, 7.0))
    settings = MixSettings(original_volume=1.0, duck=True)
    result = read_mono(mix(generated, own, tmp_path / "duck.wav", settings))
    before = tone_db(window(result, 1.0, 3.0), ORIGINAL_HZ)
    during = tone_db(window(result, 5.0, 7.0), ORIGINAL_HZ)
    after = tone_db(window(result, 9.0, 11.0), ORIGINAL_HZ)
    assert before == pytest.approx(20 * math.log10(0.125), abs=0.5)
    assert during < before - 4.0  # ducked while Kling's sound plays
    assert after == pytest.approx(before, abs=1.0)  # and back after it
    plain = read_mono(mix(generated, own, tmp_path / "flat.wav", MixSettings(original_volume=1.0)))
    assert tone_db(window(plain, 5.0, 7.0), ORIGINAL_HZ) == pytest.approx(before, abs=0.3)


def test_duck_the_other_way_lowers_klings_sound_while_the_clip_speaks(tmp_path: Path) -> None:
    """Dialogue first: Kling's sound gives way while the clip's own sound plays."""
    own = write_sound(tmp_path / "own.wav", 12.0, tone(ORIGINAL_HZ, 0.125, 4.0, 7.0))
    generated = write_sound(tmp_path / "gen.wav", 12.0, tone(GENERATED_HZ))
    settings = MixSettings(original_volume=1.0, duck_sound=True)
    result = read_mono(mix(generated, own, tmp_path / "duck.wav", settings))
    before = tone_db(window(result, 1.0, 3.0), GENERATED_HZ)
    during = tone_db(window(result, 5.0, 7.0), GENERATED_HZ)
    after = tone_db(window(result, 9.0, 11.0), GENERATED_HZ)
    assert during < before - 4.0  # Kling's sound ducked while the clip speaks
    assert after == pytest.approx(before, abs=1.0)
    assert tone_db(window(result, 5.0, 7.0), ORIGINAL_HZ) == pytest.approx(
        20 * math.log10(0.125), abs=0.5
    )  # the clip's own sound is untouched
    assert not settings.is_plain


@pytest.mark.parametrize("target", [-14.0, -23.0])
def test_loudness_reaches_the_target(clips: dict[str, Path], tmp_path: Path, target: float) -> None:
    settings = MixSettings(original_volume=0.5, loudness_lufs=target)
    result = mix(clips["generated"], clips["own"], tmp_path / "loud.wav", settings, length_s=6.0)
    assert measure_loudness(result) == pytest.approx(target, abs=1.0)
    integrated, true_peak = ebur128(result)  # read back independently
    assert integrated == pytest.approx(target, abs=1.0)
    assert true_peak <= -1.0 + 0.3


def test_loudness_limits_true_peaks_to_minus_1_dbtp(tmp_path: Path) -> None:
    # A quiet tone with loud clicks: bringing it to -14 LUFS would push the clicks far over 0 dB.
    clicks = "0.1*sin(2*PI*300*t)+0.8*sin(2*PI*2000*t)*lt(mod(t,1),0.01)"
    generated = write_sound(tmp_path / "clicks.wav", 10.0, clicks)
    result = mix(generated, None, tmp_path / "limited.wav", MixSettings(loudness_lufs=-14.0))
    integrated, true_peak = ebur128(result)
    assert true_peak <= -1.0 + 0.3
    assert integrated == pytest.approx(-14.0, abs=1.0)
    assert sound.duration_of(result) == pytest.approx(10.0, abs=0.001)  # the limiter adds no delay
    moved = read_mono(result)
    assert tone_db(window(moved, 2.5, 3.5), 300.0) > tone_db(
        window(read_mono(generated), 2.5, 3.5), 300.0
    )


def test_measure_loudness_of_silence_is_minus_infinity(tmp_path: Path) -> None:
    silence = write_sound(tmp_path / "silence.wav", 3.0, "0")
    assert measure_loudness(silence) == -math.inf
    result = mix(silence, None, tmp_path / "out.wav", MixSettings(loudness_lufs=-14))
    assert measure_loudness(result) == -math.inf  # nothing to bring up


def test_mix_of_a_20_s_clip_is_quick(tmp_path: Path) -> None:
    own = write_sound(tmp_path / "own.wav", 20.0, tone(ORIGINAL_HZ), channels=2)
    generated = make_clip(tmp_path / "kling.mp4", 20.0, audio=True, tone_hz=GENERATED_HZ)
    settings = MixSettings(original_volume=0.5, duck=True, loudness_lufs=-14)
    started = time.perf_counter()
    mix(generated, own, tmp_path / "out.wav", settings, length_s=20.0)
    elapsed = time.perf_counter() - started
    print(f"mix of 20 s with ducking and loudness: {elapsed:.2f} s")
    assert elapsed < 3.0  # ~0.3 s on an idle machine; the margin is for a shared CI runner


def test_mix_reports_progress_and_stops_when_cancelled(
    clips: dict[str, Path], tmp_path: Path
) -> None:
    seen: list[float] = []
    settings = MixSettings(original_volume=0.5, loudness_lufs=-14)
    mix(clips["generated"], clips["own"], tmp_path / "a.wav", settings, progress=seen.append)
    assert seen[-1] == 1.0
    assert seen == sorted(seen)
    assert any(0.3 < value < 0.7 for value in seen)  # both passes report

    token = CancelToken()

    def cancel_midway(value: float) -> None:
        if value > 0.3:
            token.cancel()

    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(Cancelled):
        mix(
            clips["generated"], clips["own"], out / "b.wav", settings,
            progress=cancel_midway, cancel=token,
        )  # fmt: skip
    assert list(out.iterdir()) == []  # no result, no temporary file


def test_export_wav(clips: dict[str, Path], tmp_path: Path) -> None:
    out = export_audio(clips["own"], tmp_path / "clip.sound")
    assert out == tmp_path / "clip.sound.wav"
    with av.open(str(out)) as container:
        assert container.streams.audio[0].codec_context.name == "pcm_s16le"
    assert sound.duration_of(out) == pytest.approx(6.0, abs=0.03)
    assert tone_db(window(read_mono(out), 1, 5), ORIGINAL_HZ) == pytest.approx(
        levels(clips["own"])[0], abs=0.1
    )


@pytest.mark.skipif("libmp3lame" not in av.codecs_available, reason="no MP3 encoder here")
def test_export_mp3_where_there_is_an_encoder(clips: dict[str, Path], tmp_path: Path) -> None:
    assert sound.available_exports() == ("wav", "mp3")
    out = export_audio(clips["own"], tmp_path / "clip.sound", "mp3")
    assert out == tmp_path / "clip.sound.mp3"
    with av.open(str(out)) as container:
        assert container.streams.audio[0].codec_context.name.startswith("mp3")
    assert tone_db(window(read_mono(out), 1, 5), ORIGINAL_HZ) == pytest.approx(
        levels(clips["own"])[0], abs=0.5
    )


def test_without_an_mp3_encoder_mp3_export_says_so(
    clips: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The shipped Linux app's FFmpeg has no libmp3lame.
    monkeypatch.setattr(av, "codecs_available", av.codecs_available - {"libmp3lame"})
    assert sound.available_exports() == ("wav",)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ValueError, match=r"no MP3 encoder.*save it as WAV"):
        export_audio(clips["own"], out / "clip.sound", "mp3")
    assert list(out.iterdir()) == []
    with pytest.raises(ValueError, match="WAV or MP3"):
        export_audio(clips["own"], out / "clip.sound", "ogg")
    assert export_audio(clips["own"], out / "clip.sound", "wav").is_file()


# -- contains() ---------------------------------------------------------------------------------


def test_contains_the_original_under_another_sound(clips: dict[str, Path], tmp_path: Path) -> None:
    under = write_sound(
        tmp_path / "under.wav", 6.0, f"{tone(GENERATED_HZ, 0.125)}+{tone(ORIGINAL_HZ, 0.0395)}"
    )  # the clip's tone 10 dB under Kling's
    assert contains(under, clips["original"]) is True
    quieter = write_sound(tmp_path / "quiet.wav", 6.0, tone(ORIGINAL_HZ, 0.01))
    assert contains(quieter, clips["original"]) is True  # a level change is no change
    assert contains(clips["original"], clips["own"]) is True


def test_does_not_contain_a_different_sound(clips: dict[str, Path], tmp_path: Path) -> None:
    assert contains(clips["generated"], clips["original"]) is False
    near = write_sound(tmp_path / "near.wav", 6.0, tone(520.0))
    assert contains(near, clips["original"]) is False
    noise = tmp_path / "noise.wav"
    write_sound(noise, 6.0, "0.1*(random(0)*2-1)")
    assert contains(noise, clips["original"]) is False
    silent = make_clip(tmp_path / "mute.mp4", 3.0, audio=False)
    assert contains(silent, clips["original"]) is False


def test_contains_cannot_tell_without_a_reference(clips: dict[str, Path], tmp_path: Path) -> None:
    silence = write_sound(tmp_path / "silence.wav", 6.0, "0")
    assert contains(clips["generated"], silence) is None
    mute = make_clip(tmp_path / "mute.mp4", 3.0, audio=False)
    assert contains(clips["generated"], mute) is None
