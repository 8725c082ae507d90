"""``media.synth``: test clips from libavfilter's sources, as long, large and loud as asked."""

from __future__ import annotations

import array
import itertools
from pathlib import Path

import av
import pytest

from kling_desktop.media.probe import probe
from kling_desktop.media.synth import Container, make_clip, write_tone


def _tone_hz(path: Path) -> tuple[float, float]:
    """The main frequency of the first audio stream (from zero crossings), and its seconds."""
    samples: list[int] = []
    resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
    with av.open(str(path)) as container:
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                samples.extend(array.array("h", bytes(out.planes[0])[: out.samples * 2]))
    crossings = sum(1 for a, b in itertools.pairwise(samples) if (a < 0) != (b < 0))
    seconds = len(samples) / 48000
    return crossings / 2 / seconds, seconds


def _frame_count(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


@pytest.mark.parametrize(
    ("duration_s", "width", "height", "fps"), [(4.0, 320, 180, 10), (3.2, 96, 64, 5)]
)
def test_clip_has_the_asked_length_size_and_rate(
    tmp_path: Path, duration_s: float, width: int, height: int, fps: int
) -> None:
    clip = make_clip(tmp_path / "c.mp4", duration_s, width=width, height=height, fps=fps)
    found = probe(clip)
    assert found.damage is None and found.has_video and not found.has_audio
    assert (found.width, found.height) == (width, height)
    assert found.fps == pytest.approx(fps)
    assert found.duration_s == pytest.approx(duration_s, abs=0.05)
    assert _frame_count(clip) == round(duration_s * fps)
    assert clip.stat().st_size < 40_000 * duration_s  # small: uploads in tests are timed


def test_the_picture_moves(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "c.mp4", 2.0)
    with av.open(str(clip)) as container:
        frames = [bytes(f.planes[0]) for f in container.decode(video=0)]
    assert len(set(frames)) == len(frames)


@pytest.mark.parametrize("tone_hz", [440.0, 660.0])
def test_audio_is_a_tone_of_the_asked_pitch_and_length(tmp_path: Path, tone_hz: float) -> None:
    clip = make_clip(tmp_path / "c.mp4", 3.0, audio=True, tone_hz=tone_hz)
    found = probe(clip)
    assert found.has_video and found.has_audio and found.audio_codec == "aac"
    assert found.audio_duration_s == pytest.approx(3.0, abs=0.05)
    pitch, seconds = _tone_hz(clip)
    assert pitch == pytest.approx(tone_hz, rel=0.02)
    assert seconds == pytest.approx(3.0, abs=0.05)


@pytest.mark.parametrize(
    ("name", "container", "codecs"),
    [
        ("c.mov", "mov", ("h264", "aac")),
        ("c.mkv", "mkv", ("h264", "aac")),
        ("c.webm", "webm", ("vp8", "opus")),
    ],
)
def test_other_containers(
    tmp_path: Path, name: str, container: Container, codecs: tuple[str, str]
) -> None:
    clip = make_clip(tmp_path / name, 3.0, audio=True, container=container)
    found = probe(clip)
    assert found.container == container
    assert (found.video_codec, found.audio_codec) == codecs
    assert found.duration_s == pytest.approx(3.0, abs=0.1)
    assert _tone_hz(clip)[0] == pytest.approx(440.0, rel=0.02)


def test_sound_only(tmp_path: Path) -> None:
    song = make_clip(tmp_path / "song.m4a", 2.0, video=False, container="m4a")
    with av.open(str(song)) as container:
        assert not container.streams.video and len(container.streams.audio) == 1
    assert _tone_hz(song)[1] == pytest.approx(2.0, abs=0.05)


def test_without_x264_it_falls_back_to_mpeg4(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The Linux bundle's FFmpeg (Qt's) has no x264 (DESIGN §8).
    monkeypatch.setattr(av, "codecs_available", av.codecs_available - {"libx264"})
    clip = make_clip(tmp_path / "c.mp4", 3.0, audio=True, faststart=True)
    found = probe(clip)
    assert (found.video_codec, found.audio_codec) == ("mpeg4", "aac")
    assert found.damage is None and found.duration_s == pytest.approx(3.0, abs=0.05)


def test_write_tone_into_pcm_wav(tmp_path: Path) -> None:
    """The simulator's WAV: PCM takes frames of any size (its encoder has no frame size)."""
    wav = tmp_path / "sound.wav"
    with av.open(str(wav), mode="w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=48000)
        stream.layout = "mono"
        write_tone(out, stream, 1.5, 660.0)
    pitch, seconds = _tone_hz(wav)
    assert pitch == pytest.approx(660.0, rel=0.02)
    assert seconds == pytest.approx(1.5, abs=0.001)
