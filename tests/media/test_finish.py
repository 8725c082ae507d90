"""Finishing (issue #12): the parts' sound joined on the clip's timeline, then put under the
original picture, copied packet for packet."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import av
import pytest

from kling_desktop.cancel import Cancelled, CancelToken
from kling_desktop.media import finish, sound
from kling_desktop.media.finish import join_sound, remux, result_extension
from kling_desktop.media.probe import probe, rotation_of
from kling_desktop.media.synth import make_clip
from tests.media.tones import (
    frame_count,
    read_mono,
    rms_db,
    stream_seconds,
    tone,
    tone_db,
    video_codec,
    window,
    write_sound,
    write_video,
)

RATE = 8000
TONES = (800.0, 1000.0, 1200.0)


@dataclass(frozen=True)
class Part:
    index: int
    start_s: float
    end_s: float


def pieces_of(folder: Path, lengths: list[float], parts: list[Part]) -> list[tuple[Path, Part]]:
    """Kling-like results: an MP4 per part whose sound is that part's own tone."""
    out = []
    for part, length, hz in zip(parts, lengths, TONES, strict=True):
        path = make_clip(folder / f"part{part.index}.mp4", length, audio=True, tone_hz=hz)
        out.append((path, part))
    return out


THIRDS = [Part(0, 0.0, 15.0), Part(1, 15.0, 30.0), Part(2, 30.0, 45.0)]


def assert_seams_are_smooth(samples: list[float], seams: list[float]) -> None:
    """Around each seam the level stays at the steady level: no gap, no doubled sound."""
    steady = rms_db(window(samples, 5.0, 6.0))
    assert steady == pytest.approx(20 * math.log10(0.125 / math.sqrt(2)), abs=0.3)
    for seam in seams:
        for offset in (-0.1, -0.05, -0.025, 0.0, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25):
            centre = seam + offset
            level = rms_db(window(samples, centre - 0.025, centre + 0.025))
            assert level == pytest.approx(steady, abs=1.5), (seam, offset, level - steady)


@pytest.mark.parametrize(
    "length_s", [15.3, 15.0], ids=["audio beyond each part's end", "audio exactly the part"]
)
def test_three_parts_join_without_gap_or_doubling(tmp_path: Path, length_s: float) -> None:
    pieces = pieces_of(tmp_path, [length_s] * 3, THIRDS)
    joined = join_sound(pieces, tmp_path / "joined.wav", total_s=45.0)
    assert sound.duration_of(joined) == pytest.approx(45.0, abs=0.02)
    samples = read_mono(joined)
    assert_seams_are_smooth(samples, [15.0, 30.0])
    # Each part's sound sits in its own part, alone.
    for part, hz in zip(THIRDS, TONES, strict=True):
        middle = window(samples, part.start_s + 2, part.start_s + 12)
        assert tone_db(middle, hz) == pytest.approx(20 * math.log10(0.125), abs=0.3)
        for other in set(TONES) - {hz}:
            assert tone_db(middle, other) < -60
    # The crossfade lies after the seam: the earlier part's sound beyond its end fades out.
    if length_s > 15.0:
        just_before = window(samples, 14.9, 15.0)
        assert tone_db(just_before, TONES[1]) < -40
        crossing = window(samples, 15.05, 15.15)
        assert tone_db(crossing, TONES[0]) > -30 and tone_db(crossing, TONES[1]) > -30


def test_an_extended_short_clip_is_cut_back(tmp_path: Path) -> None:
    """A 1.5 s clip was sent as 3.1 s; its sound is cut back to the clip's 1.5 s."""
    piece = make_clip(tmp_path / "kling.mp4", 3.1, audio=True, tone_hz=1000.0)
    joined = join_sound([(piece, Part(0, 0.0, 1.5))], tmp_path / "short.wav", total_s=1.5)
    assert sound.duration_of(joined) == pytest.approx(1.5, abs=0.02)
    samples = read_mono(joined)
    assert tone_db(window(samples, 0.25, 1.25), 1000.0) == pytest.approx(-18.06, abs=0.3)
    assert abs(samples[-1]) < 0.01  # faded, not cut mid-wave


def test_total_length_pads_or_cuts(tmp_path: Path) -> None:
    piece = make_clip(tmp_path / "kling.mp4", 4.0, audio=True, tone_hz=1000.0)
    longer = join_sound([(piece, Part(0, 0.0, 4.0))], tmp_path / "long.wav", total_s=5.0)
    assert sound.duration_of(longer) == pytest.approx(5.0, abs=0.001)
    assert rms_db(window(read_mono(longer), 4.1, 5.0)) == -math.inf  # silence after
    shorter = join_sound([(piece, Part(0, 0.0, 4.0))], tmp_path / "cut.wav", total_s=3.25)
    assert sound.duration_of(shorter) == pytest.approx(3.25, abs=0.001)


def test_pieces_in_any_order_and_stereo(tmp_path: Path) -> None:
    first = write_sound(tmp_path / "a.wav", 2.2, tone(800.0), channels=2)
    second = write_sound(tmp_path / "b.wav", 2.0, tone(1200.0))
    joined = join_sound(
        [(second, Part(1, 2.0, 4.0)), (first, Part(0, 0.0, 2.0))], tmp_path / "j.wav", total_s=4.0
    )
    assert sound.channels_of(joined) == 2
    samples = read_mono(joined)
    assert tone_db(window(samples, 0.5, 1.5), 800.0) > -19
    assert tone_db(window(samples, 2.5, 3.5), 1200.0) > -19


def test_a_piece_shorter_than_its_part_leaves_silence_not_a_shift(tmp_path: Path) -> None:
    short = write_sound(tmp_path / "a.wav", 2.5, tone(800.0))
    after = write_sound(tmp_path / "b.wav", 3.0, tone(1200.0))
    joined = join_sound(
        [(short, Part(0, 0.0, 3.0)), (after, Part(1, 3.0, 6.0))], tmp_path / "j.wav", total_s=6.0
    )
    samples = read_mono(joined)
    assert rms_db(window(samples, 2.55, 2.95)) == -math.inf
    assert tone_db(window(samples, 4.0, 5.0), 1200.0) == pytest.approx(-18.06, abs=0.3)


def test_join_needs_some_sound(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no part"):
        join_sound([], tmp_path / "x.wav", total_s=3.0)
    mute = make_clip(tmp_path / "mute.mp4", 3.0)
    with pytest.raises(ValueError, match="no sound"):
        join_sound([(mute, Part(0, 0.0, 3.0))], tmp_path / "x.wav", total_s=3.0)


def test_join_reports_progress_and_stops_when_cancelled(tmp_path: Path) -> None:
    pieces = pieces_of(tmp_path, [3.0, 3.0, 3.0], [Part(i, 3.0 * i, 3.0 * i + 3) for i in range(3)])
    seen: list[float] = []
    join_sound(pieces, tmp_path / "a.wav", total_s=9.0, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == 3
    token = CancelToken()
    out = tmp_path / "out"
    out.mkdir()

    def cancel_after_first(value: float) -> None:
        token.cancel()

    with pytest.raises(Cancelled):
        join_sound(pieces, out / "b.wav", total_s=9.0, progress=cancel_after_first, cancel=token)
    assert list(out.iterdir()) == []


# -- remux --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kling_sound(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("remux")
    return write_sound(folder / "sound.wav", 6.0, tone(1000.0), channels=2)


def originals() -> list[tuple[str, dict[str, object], str]]:
    return [
        ("h264.mp4", {"synth": "mp4"}, ".mp4"),
        ("h264.mkv", {"synth": "mkv"}, ".mp4"),
        ("h264.mov", {"synth": "mov"}, ".mov"),
        ("vp8.webm", {"synth": "webm"}, ".mkv"),
        ("vp9.webm", {"codec": "libvpx-vp9", "fmt": "webm"}, ".mkv"),
        ("prores.mov", {"codec": "prores_ks", "fmt": "mov", "pix_fmt": "yuv422p10le"}, ".mov"),
        ("mpeg4.avi", {"codec": "mpeg4", "fmt": "avi"}, ".mp4"),
    ]


def make_original(folder: Path, name: str, how: dict[str, object], duration_s: float) -> Path:
    path = folder / name
    if "synth" in how:
        return make_clip(path, duration_s, audio=True, tone_hz=440.0, container=how["synth"])  # type: ignore[arg-type]
    audio = tone(440.0) if how["fmt"] != "webm" else None  # WebM takes no AAC
    return write_video(path, duration_s, audio_expr=audio, **how)  # type: ignore[arg-type]


@pytest.mark.parametrize(("name", "how", "extension"), originals(), ids=[o[0] for o in originals()])
def test_remux_copies_the_original_picture_and_adds_the_sound(
    tmp_path: Path, kling_sound: Path, name: str, how: dict[str, object], extension: str
) -> None:
    original = make_original(tmp_path, name, how, 6.0)
    assert result_extension(original) == extension
    assert result_extension(probe(original)) == extension
    result = remux(original, kling_sound, tmp_path / "clip.sound")
    assert result == tmp_path / f"clip.sound{extension}"
    assert video_codec(result) == video_codec(original)
    assert frame_count(result) == frame_count(original)
    with av.open(str(result)) as container:
        assert len(container.streams.audio) == 1 and len(container.streams.video) == 1
        assert container.streams.audio[0].codec_context.name == "aac"
        assert container.duration is not None
        assert container.duration / av.time_base == pytest.approx(6.0, abs=0.1)
    assert stream_seconds(result, "audio") == pytest.approx(6.0, abs=0.1)
    samples = read_mono(result)
    level = tone_db(window(read_mono(kling_sound), 0.5, 1.5), 1000.0)
    assert tone_db(window(samples, 0.5, 1.5), 1000.0) == pytest.approx(level, abs=0.5)
    assert tone_db(window(samples, 4.5, 5.5), 1000.0) == pytest.approx(level, abs=0.5)
    assert tone_db(window(samples, 0.5, 5.5), 440.0) < -50  # the clip's own sound is gone
    if extension in (".mp4", ".mov"):  # the index first: a page can play it while it loads
        head = result.read_bytes()
        assert -1 < head.find(b"moov") < head.find(b"mdat")


def test_remux_keeps_the_rotation(tmp_path: Path, kling_sound: Path) -> None:
    original = write_video(tmp_path / "phone.mp4", 3.0, codec="libx264", fmt="mp4", rotation=90)
    with av.open(str(original)) as container:
        assert rotation_of(container.streams.video[0]) == 90
    result = remux(original, kling_sound, tmp_path / "phone.sound")
    with av.open(str(result)) as container:
        assert rotation_of(container.streams.video[0]) == 90
    assert probe(result).display_width == 96


def test_a_recording_that_starts_late_keeps_picture_and_sound_together(
    tmp_path: Path, kling_sound: Path
) -> None:
    """An MPEG-TS recording whose timeline starts at 10 s: the sound goes under the picture."""
    original = write_video(
        tmp_path / "camera.ts", 4.0, codec="libx264", fmt="mpegts", audio_expr=tone(440.0),
        options={"output_ts_offset": "10"},
    )  # fmt: skip
    with av.open(str(original)) as container:
        assert container.start_time is not None and container.start_time / av.time_base > 9.9
    own = sound.extract_audio(original, tmp_path / "own.wav")
    assert own is not None and sound.duration_of(own) == pytest.approx(4.0, abs=0.05)
    result = remux(original, kling_sound, tmp_path / "camera.sound")
    with av.open(str(result)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert video.start_time is not None and audio.start_time is not None
        assert video.time_base is not None and audio.time_base is not None
        starts = (
            float(video.start_time * video.time_base),
            float(audio.start_time * audio.time_base),
        )
        assert starts[0] == pytest.approx(starts[1], abs=0.1)
    assert stream_seconds(result, "audio") == pytest.approx(4.0, abs=0.1)
    assert frame_count(result) == frame_count(original)


def test_remux_pads_a_short_sound_and_cuts_a_long_one(tmp_path: Path) -> None:
    original = make_clip(tmp_path / "clip.mp4", 5.0, audio=True)
    short = write_sound(tmp_path / "short.wav", 3.0, tone(1000.0))
    result = remux(original, short, tmp_path / "short.sound")
    assert stream_seconds(result, "audio") == pytest.approx(5.0, abs=0.1)
    long = write_sound(tmp_path / "long.wav", 9.0, tone(1000.0))
    result = remux(original, long, tmp_path / "long.sound")
    assert stream_seconds(result, "audio") == pytest.approx(5.0, abs=0.1)
    with av.open(str(result)) as container:
        assert container.duration is not None
        assert container.duration / av.time_base == pytest.approx(5.0, abs=0.1)


def test_a_gif_is_encoded_to_mp4_frame_for_frame(tmp_path: Path, kling_sound: Path) -> None:
    gif = write_video(tmp_path / "anim.gif", 3.0, codec="gif", fmt="gif", pix_fmt="rgb8")
    assert result_extension(gif) == ".mp4"
    result = remux(gif, kling_sound, tmp_path / "anim.sound")
    assert result.suffix == ".mp4"
    assert video_codec(result) in ("h264", "mpeg4")
    assert frame_count(result) == frame_count(gif)
    with av.open(str(result)) as container:
        assert container.duration is not None
        assert container.duration / av.time_base == pytest.approx(3.0, abs=0.15)


def test_a_gif_without_h264_uses_mpeg4(
    tmp_path: Path, kling_sound: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The shipped Linux app's FFmpeg encodes MPEG-4 Part 2 but not H.264.
    monkeypatch.setattr(av, "codecs_available", av.codecs_available - {"libx264"})
    gif = write_video(tmp_path / "anim.gif", 2.0, codec="gif", fmt="gif", pix_fmt="rgb8")
    result = remux(gif, kling_sound, tmp_path / "anim.sound")
    assert video_codec(result) == "mpeg4"
    assert frame_count(result) == frame_count(gif)


def test_no_picture_is_said(tmp_path: Path, kling_sound: Path) -> None:
    song = make_clip(tmp_path / "song.m4a", 3.0, video=False, container="m4a")
    with pytest.raises(ValueError, match="no picture"):
        remux(song, kling_sound, tmp_path / "song.sound")


def test_remux_reports_progress_and_stops_when_cancelled(tmp_path: Path, kling_sound: Path) -> None:
    original = make_clip(tmp_path / "clip.mp4", 6.0, audio=True)
    seen: list[float] = []
    remux(original, kling_sound, tmp_path / "a.sound", progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) > 10
    token = CancelToken()
    out = tmp_path / "out"
    out.mkdir()

    def cancel_midway(value: float) -> None:
        if value > 0.5:
            token.cancel()

    with pytest.raises(Cancelled):
        remux(original, kling_sound, out / "b.sound", progress=cancel_midway, cancel=token)
    assert list(out.iterdir()) == []


def test_the_whole_finish_of_a_long_clip(tmp_path: Path) -> None:
    """45 s clip in three parts: join, mix with the clip's own sound at half, remux."""
    original = make_clip(tmp_path / "long.mp4", 45.0, audio=True, tone_hz=440.0, fps=5)
    pieces = pieces_of(tmp_path, [15.2] * 3, THIRDS)
    joined = join_sound(pieces, tmp_path / "joined.wav", total_s=45.0)
    own = sound.extract_audio(original, tmp_path / "own.wav")
    settings = sound.MixSettings(original_volume=0.5)
    mixed = sound.mix(joined, own, tmp_path / "mixed.wav", settings, length_s=45.0)
    result = remux(original, mixed, tmp_path / "long.sound")
    assert frame_count(result) == frame_count(original)
    samples = read_mono(result)
    assert tone_db(window(samples, 20, 25), 1000.0) == pytest.approx(-18.06, abs=0.5)
    assert tone_db(window(samples, 20, 25), 440.0) == pytest.approx(-24.08, abs=0.5)
    assert finish.result_extension(original) == ".mp4"
