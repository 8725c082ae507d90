"""``media.prepare``: any clip becomes Kling-ready upload files (MP4, H.264/MPEG-4 + AAC, 3-20 s,
≤ 100 MB, ≤ 1080p), planned from its probe and written in-process with PyAV."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import av
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kling_desktop.cancel import Cancelled, CancelToken
from kling_desktop.media.check import check_clip
from kling_desktop.media.prepare import (
    DEFAULT_MAX_LENGTH_S,
    Part,
    Plan,
    make_plan,
    plan_clip,
    prepare_part,
    upload_video_encoder,
)
from kling_desktop.media.probe import ProbeResult, probe
from kling_desktop.media.rules import MAX_DURATION_S, MAX_UPLOAD_BYTES, MIN_DURATION_S
from tests.fixtures.media import ClipFactory
from tests.media.tones import tone, write_video

HAS_X265 = "libx265" in av.codecs_available


def fake_probe(duration_s: float | None, **changes: object) -> ProbeResult:
    """A probe of an H.264/AAC MP4 that Kling takes as it is, but for ``changes``."""
    result = ProbeResult(
        path=Path("clip.mp4"),
        size_bytes=10_000_000,
        container="mp4",
        format_name="mov,mp4,m4a,3gp,3g2,mj2",
        brand="isom",
        duration_s=duration_s,
        video_duration_s=duration_s,
        audio_duration_s=duration_s,
        has_video=True,
        video_codec="h264",
        width=1280,
        height=720,
        rotation=0,
        fps=30.0,
        has_audio=True,
        audio_codec="aac",
        damage=None,
        integrity="boxes",
    )
    return replace(result, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Upload:
    """What an upload file is, read back with PyAV."""

    format_name: str
    video_codec: str
    audio_codec: str | None
    width: int
    height: int
    duration_s: float
    frames: int
    size_bytes: int


def read_upload(path: Path) -> Upload:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = next(iter(container.streams.audio), None)
        frames = sum(1 for packet in container.demux(video) if packet.size)
        return Upload(
            container.format.name,
            video.codec_context.name,
            audio.codec_context.name if audio is not None else None,
            video.width,
            video.height,
            (container.duration or 0) / 1_000_000,
            frames,
            path.stat().st_size,
        )


def source_frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for packet in container.demux(container.streams.video[0]) if packet.size)


def prepare_all(source: Path, plan: Plan, folder: Path, encoder: str | None = None) -> list[Upload]:
    """Every part of ``plan`` as an upload file, each checked against what Kling takes."""
    folder.mkdir(parents=True, exist_ok=True)
    uploads = []
    for part in plan.parts:
        dest = prepare_part(source, plan, part, folder / f"part{part.index}.mp4", encoder=encoder)
        upload = read_upload(dest)
        assert "mp4" in upload.format_name.split(",")
        assert upload.video_codec == (encoder or _h264(upload))
        assert upload.audio_codec in (None, "aac")
        assert MIN_DURATION_S <= upload.duration_s <= MAX_DURATION_S
        assert upload.size_bytes <= MAX_UPLOAD_BYTES
        assert min(upload.width, upload.height) <= 1080
        assert upload.width % 2 == 0 and upload.height % 2 == 0
        found = probe(dest)
        assert found.damage is None and found.container == "mp4"
        uploads.append(upload)
    assert sorted(p.name for p in folder.iterdir()) == [f"part{i}.mp4" for i in range(len(uploads))]
    return uploads


def _h264(upload: Upload) -> str:
    return "h264" if upload_video_encoder() != "mpeg4" else "mpeg4"


# --- planning ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("duration_s", "count"), [(45.0, 3), (20.0, 1), (20.1, 2), (60.5, 4), (300.0, 16)]
)
def test_split_into_the_fewest_parts(duration_s: float, count: int) -> None:
    plan = make_plan(fake_probe(duration_s))
    assert plan.ok and plan.paid_jobs == count
    assert plan.steps == (("split",) if count > 1 else ())
    assert all(MIN_DURATION_S < p.length_s <= MAX_DURATION_S for p in plan.parts)
    assert plan.describe() == (f"will be split into {count} parts" if count > 1 else "")


def test_cuts_sit_on_keyframes_near_the_even_points() -> None:
    keyframes = [k * 2.5 for k in range(19)]  # 0, 2.5, … 45
    plan = make_plan(fake_probe(45.0), keyframes=keyframes)
    assert [p.start_s for p in plan.parts] == [0.0, 15.0, 30.0] and plan.copy_video
    uneven = make_plan(fake_probe(45.0), keyframes=[0.0, 14.0, 31.0])
    assert [p.start_s for p in uneven.parts] == [0.0, 14.0, 31.0] and uneven.copy_video
    # Without keyframes near the even points the parts are cut exactly (re-encoded).
    exact = make_plan(fake_probe(45.0), keyframes=[0.0])
    assert [p.start_s for p in exact.parts] == [0.0, 15.0, 30.0] and not exact.copy_video


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    duration=st.floats(0.2, DEFAULT_MAX_LENGTH_S),
    keyframes=st.lists(st.floats(0.0, DEFAULT_MAX_LENGTH_S), max_size=80),
    fps=st.sampled_from([None, 2.0, 23.976, 30.0, 60.0]),
)
def test_parts_always_cover_the_clip_within_the_limits(
    duration: float, keyframes: list[float], fps: float | None
) -> None:
    plan = make_plan(fake_probe(duration, fps=fps), keyframes=keyframes)
    assert plan.ok
    parts = plan.parts
    assert parts[0].start_s == 0.0 and parts[-1].end_s == duration
    assert all(a.end_s == b.start_s for a, b in itertools.pairwise(parts))
    assert [p.index for p in parts] == list(range(len(parts)))
    split = duration > MAX_DURATION_S + 0.005
    assert len(parts) == (math.ceil(duration / (MAX_DURATION_S - 0.1)) if split else 1)
    if len(parts) > 1:
        assert all(MIN_DURATION_S + 0.05 < p.length_s < MAX_DURATION_S - 0.05 for p in parts)
    assert Plan.from_json(plan.to_json()) == plan


def test_a_short_clip_is_extended_and_keeps_its_own_end() -> None:
    plan = make_plan(fake_probe(1.5))
    assert plan.steps == ("extend",) and plan.parts == (Part(0, 0.0, 1.5),)
    assert plan.extend_to_s > MIN_DURATION_S and not plan.copy_video
    assert plan.describe() == "will be extended to 3 s"


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"video_duration_s": 3720.0}, "It is 1 h 2 min long; the app splits clips up to 5 min"),
        ({"has_video": False, "audio_duration_s": 9.0}, "There is no video"),
        ({"damage": "its 'mdat' box runs past the end", "video_duration_s": 9.0}, "damaged"),
        ({"video_duration_s": None, "audio_duration_s": None}, "length"),
    ],
)
def test_problems_no_preparation_fixes(changes: dict[str, object], problem: str) -> None:
    plan = make_plan(fake_probe(None, **changes))
    assert not plan.ok and problem in plan.problem
    assert plan.paid_jobs == 0 and plan.describe() == ""
    assert Plan.from_json(plan.to_json()) == plan


def test_the_longest_clip_setting_is_the_limit() -> None:
    assert not make_plan(fake_probe(61.0), max_length_s=60.0).ok
    assert make_plan(fake_probe(60.0), max_length_s=60.0).paid_jobs == 4
    assert "1 min 30 s" in make_plan(fake_probe(100.0), max_length_s=90.0).problem


@pytest.mark.parametrize(
    ("changes", "steps", "copy_video", "copy_audio"),
    [
        ({"container": "webm", "video_codec": "vp9", "audio_codec": "opus"}, ("convert",), 0, 0),
        ({"container": "mkv"}, ("convert",), 1, 1),
        (
            {"container": "avi", "video_codec": "mpeg4", "audio_codec": "mp3float"},
            ("convert",),
            0,
            0,
        ),
        ({"container": "mov", "audio_codec": "pcm_s16le"}, ("convert",), 1, 0),
        ({"video_codec": "hevc"}, ("convert",), 0, 1),
        ({"pix_fmt": "yuv420p10le"}, ("convert",), 0, 1),  # High 10
        ({"pix_fmt": "yuv444p"}, ("convert",), 0, 1),  # High 4:4:4
        ({"pix_fmt": "yuvj420p"}, (), 1, 1),  # full range: plays everywhere
        ({"container": "gif", "video_codec": "gif", "has_audio": False}, ("convert",), 0, 0),
        ({"width": 3840, "height": 2160}, ("shrink",), 0, 1),
        ({"size_bytes": 150_000_000, "width": 1920, "height": 1080}, ("shrink",), 0, 1),
        ({}, (), 1, 1),
    ],
)
def test_what_each_kind_of_clip_needs(
    changes: dict[str, object], steps: tuple[str, ...], copy_video: int, copy_audio: int
) -> None:
    plan = make_plan(fake_probe(10.0, **changes))
    assert plan.steps == steps
    assert (plan.copy_video, plan.copy_audio) == (bool(copy_video), bool(copy_audio))
    if not copy_video:
        assert min(plan.width, plan.height) <= 1080
        assert plan.video_bit_rate * 11 <= MAX_UPLOAD_BYTES * 8  # 10 s (+1) fit the limit


def test_a_heavy_long_clip_is_split_and_shrunk() -> None:
    plan = make_plan(fake_probe(45.0, size_bytes=400_000_000, width=1920, height=1080))
    assert plan.steps == ("split", "shrink") and not plan.copy_video
    assert (plan.width, plan.height) == (1920, 1080)
    assert plan.describe() == "will be split into 3 parts and made smaller"


@pytest.mark.parametrize(
    ("steps", "phrase"),
    [
        (("convert",), "will be converted to MP4 for the upload"),
        (("shrink",), "will be made smaller for the upload"),
        (("convert", "split"), "will be converted and split into 3 parts"),
        (("convert", "extend"), "will be converted and extended to 3 s"),
        (("convert", "split", "shrink"), "will be converted, split into 3 parts and made smaller"),
    ],
)
def test_describe_combines_steps(steps: tuple[str, ...], phrase: str) -> None:
    parts = tuple(Part(i, i * 15.0, i * 15.0 + 15.0) for i in range(3))
    assert Plan(45.0, parts, steps).describe() == phrase


def test_from_json_refuses_what_it_did_not_write() -> None:
    for text in ("", "{}", '{"duration_s": 1, "parts": [], "steps": ["dance"]}'):
        with pytest.raises(ValueError):
            Plan.from_json(text)


def test_the_encoder_is_one_that_exists() -> None:
    encoder = upload_video_encoder()
    expected = "libx264" if "libx264" in av.codecs_available else encoder
    assert encoder == expected and encoder in av.codecs_available


# --- preparing real clips ----------------------------------------------------------------


def test_a_long_clip_is_split_on_keyframes_by_stream_copy(
    clip_factory: ClipFactory, tmp_path: Path
) -> None:
    source = clip_factory("long.mp4", 45.0, audio=True, keyframe_every_s=2.0)
    plan = plan_clip(source, probe(source))
    assert plan.steps == ("split",) and plan.copy_video and plan.copy_audio
    assert all(p.start_s % 2.0 == 0 for p in plan.parts)
    uploads = prepare_all(source, plan, tmp_path / "parts")
    assert len(uploads) == 3
    # Copied, not re-encoded: every frame of the clip is in exactly one part.
    assert sum(u.frames for u in uploads) == source_frames(source)
    assert sum(u.duration_s for u in uploads) == pytest.approx(45.0, abs=0.1)
    for upload, part in zip(uploads, plan.parts, strict=True):
        assert upload.duration_s == pytest.approx(part.length_s, abs=0.05)


def test_parts_are_cut_exactly_where_keyframes_do_not_allow_copying(
    clip_factory: ClipFactory, tmp_path: Path
) -> None:
    source = clip_factory("long.mp4", 20.5, audio=True, keyframe_every_s=100.0)
    plan = plan_clip(source, probe(source))
    assert plan.steps == ("split",) and not plan.copy_video and plan.paid_jobs == 2
    uploads = prepare_all(source, plan, tmp_path / "parts")
    assert sum(u.frames for u in uploads) == source_frames(source)
    assert sum(u.duration_s for u in uploads) == pytest.approx(20.5, abs=0.1)


def test_60_5_s_makes_four_parts(clip_factory: ClipFactory, tmp_path: Path) -> None:
    source = clip_factory("long.mov", 60.5, fps=2, keyframe_every_s=1.0)
    plan = plan_clip(source, probe(source))
    assert plan.paid_jobs == 4 and plan.copy_video
    uploads = prepare_all(source, plan, tmp_path / "parts")
    assert sum(u.duration_s for u in uploads) == pytest.approx(60.5, abs=0.1)


@pytest.mark.parametrize(
    ("name", "options", "copies_video"),
    [
        ("vp9.webm", {"video_codec": "libvpx-vp9"}, False),
        ("clip.mkv", {}, True),
        ("clip.avi", {}, False),
        ("pcm.mov", {"audio_codec": "pcm_s16le"}, True),
        ("clip.ts", {}, True),
        ("vp9.mp4", {"video_codec": "libvpx-vp9"}, False),
        pytest.param(
            "hevc.mp4",
            {"video_codec": "libx265"},
            False,
            marks=pytest.mark.skipif(not HAS_X265, reason="no HEVC encoder"),
        ),
    ],
)
def test_other_containers_and_codecs_are_converted(
    clip_factory: ClipFactory,
    tmp_path: Path,
    name: str,
    options: dict[str, str],
    copies_video: bool,
) -> None:
    source = clip_factory(name, 4.0, audio=True, **options)
    verdict = check_clip(source)
    assert verdict.ok and verdict.plan is not None and verdict.probe is not None
    plan = verdict.plan
    assert plan.steps == ("convert",) and plan.copy_video is copies_video
    (upload,) = prepare_all(source, plan, tmp_path / "out")
    assert upload.audio_codec == "aac"
    assert (upload.width, upload.height) == (320, 180)
    assert upload.duration_s == pytest.approx(verdict.probe.duration or 0, abs=0.15)
    if copies_video:
        assert upload.frames == source_frames(source)


@pytest.mark.parametrize("pix_fmt", ["yuv444p", "yuv420p10le"])
def test_h264_in_4_4_4_or_10_bits_goes_to_kling_as_8_bit_4_2_0(
    tmp_path: Path, pix_fmt: str
) -> None:
    source = write_video(
        tmp_path / "graded.mp4", 4.0, codec="libx264", fmt="mp4", pix_fmt=pix_fmt,
        width=320, height=180, audio_expr=tone(440.0),
    )  # fmt: skip
    verdict = check_clip(source)
    assert verdict.ok and verdict.plan is not None and verdict.probe is not None
    assert verdict.probe.pix_fmt == pix_fmt  # from the track's header: no frame is decoded
    assert verdict.plan.steps == ("convert",) and not verdict.plan.copy_video
    (upload,) = prepare_all(source, verdict.plan, tmp_path / "out")
    assert upload.video_codec == "h264" and upload.frames == source_frames(source)
    [part] = (tmp_path / "out").iterdir()
    with av.open(str(part)) as container:
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p"


def test_an_anamorphic_clip_keeps_its_shape_when_converted(tmp_path: Path) -> None:
    # 1.5:1 pixels (a DV or HDV-style recording): 240×90 shows as 360×90.
    source = write_video(
        tmp_path / "wide.avi", 4.0, codec="mpeg4", fmt="avi", width=240, height=90,
        sample_aspect_ratio=Fraction(3, 2),
    )  # fmt: skip
    verdict = check_clip(source)
    assert verdict.ok and verdict.plan is not None and not verdict.plan.copy_video
    prepare_all(source, verdict.plan, tmp_path / "out")
    [part] = (tmp_path / "out").iterdir()
    with av.open(str(part)) as container:
        video = container.streams.video[0]
        shown = video.width * (video.sample_aspect_ratio or 1) / video.height
    assert shown == Fraction(360, 90)


def test_an_animated_gif_becomes_a_silent_mp4(clip_factory: ClipFactory, tmp_path: Path) -> None:
    source = clip_factory("anim.gif", 4.0, width=322, height=181)
    verdict = check_clip(source)
    assert verdict.plan is not None and verdict.plan.steps == ("convert",)
    (upload,) = prepare_all(source, verdict.plan, tmp_path / "out")
    assert upload.audio_codec is None
    assert (upload.width, upload.height) == (322, 180)  # even sizes
    assert upload.frames == 40 and upload.duration_s == pytest.approx(4.0, abs=0.1)


def test_a_short_clip_holds_its_last_frame_and_pads_its_sound(
    clip_factory: ClipFactory, tmp_path: Path
) -> None:
    source = clip_factory("short.mp4", 1.5, audio=True)
    plan = plan_clip(source, probe(source))
    assert plan.steps == ("extend",) and plan.parts[0].end_s == pytest.approx(1.5)
    (upload,) = prepare_all(source, plan, tmp_path / "out")
    assert 3.0 <= upload.duration_s <= 3.3
    with av.open(str(tmp_path / "out" / "part0.mp4")) as container:
        audio = container.streams.audio[0]
        assert audio.duration is not None and audio.time_base is not None
        assert float(audio.duration * audio.time_base) >= 3.0


def test_4k_is_scaled_to_1080p(clip_factory: ClipFactory, tmp_path: Path) -> None:
    source = clip_factory("uhd.mp4", 0.4, width=3840, height=2160, fps=5, audio=True)
    plan = plan_clip(source, probe(source))
    assert plan.steps == ("extend", "shrink") and (plan.width, plan.height) == (1920, 1080)
    (upload,) = prepare_all(source, plan, tmp_path / "out")
    assert (upload.width, upload.height) == (1920, 1080)


def test_a_portrait_phone_clip_keeps_its_rotation(
    clip_factory: ClipFactory, tmp_path: Path
) -> None:
    source = clip_factory("phone.mov", 2.0, rotation=90, audio=True, audio_codec="pcm_s16le")
    plan = plan_clip(source, probe(source))
    assert plan.steps == ("convert", "extend")
    prepare_all(source, plan, tmp_path / "out")
    found = probe(tmp_path / "out" / "part0.mp4")
    assert found.rotation == 90 and (found.display_width, found.display_height) == (180, 320)


def test_too_large_is_shrunk_under_the_limit(clip_factory: ClipFactory, tmp_path: Path) -> None:
    """A > 100 MB clip is planned from its probe above; here a real run with a lower limit."""
    source = clip_factory("heavy.mp4", 4.0, width=640, height=360, audio=True, bit_rate=4_000_000)
    limit = source.stat().st_size // 3
    plan = plan_clip(source, probe(source), max_upload_bytes=limit)
    assert plan.steps == ("shrink",) and not plan.copy_video
    (upload,) = prepare_all(source, plan, tmp_path / "out")
    assert upload.size_bytes <= limit


def test_the_mpeg4_fallback_of_the_linux_bundle(clip_factory: ClipFactory, tmp_path: Path) -> None:
    """The bundle's FFmpeg has no H.264 encoder: MPEG-4 Part 2 in MP4 must do every job."""
    source = clip_factory("clip.webm", 21.0, audio=True, fps=5)
    plan = plan_clip(source, probe(source))
    assert plan.steps == ("convert", "split")
    uploads = prepare_all(source, plan, tmp_path / "out", encoder="mpeg4")
    assert sum(u.duration_s for u in uploads) == pytest.approx(21.0, abs=0.1)
    short = clip_factory("short.mp4", 2.0, audio=True)
    prepare_all(short, plan_clip(short, probe(short)), tmp_path / "short", encoder="mpeg4")


def test_progress_rises_to_one(clip_factory: ClipFactory, tmp_path: Path) -> None:
    source = clip_factory("clip.mkv", 4.0, fps=25, audio=True)
    plan = plan_clip(source, probe(source))
    plan = replace(plan, copy_video=False, width=320, height=180)  # re-encode: slow enough
    seen: list[float] = []
    prepare_part(source, plan, plan.parts[0], tmp_path / "up.mp4", progress=seen.append)
    assert seen and seen[-1] == 1.0
    assert seen == sorted(seen) and all(0.0 <= f <= 1.0 for f in seen)


def test_cancel_leaves_nothing(clip_factory: ClipFactory, tmp_path: Path) -> None:
    source = clip_factory("clip.mp4", 4.0, audio=True)
    plan = replace(plan_clip(source, probe(source)), copy_video=False, width=320, height=180)
    token = CancelToken()
    token.cancel()
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(Cancelled):
        prepare_part(source, plan, plan.parts[0], out / "up.mp4", cancel=token)
    assert list(out.iterdir()) == []


def test_a_refused_plan_or_foreign_part_is_a_programming_error(
    clip_factory: ClipFactory, tmp_path: Path
) -> None:
    source = clip_factory("clip.mp4", 4.0)
    plan = plan_clip(source, probe(source))
    with pytest.raises(ValueError):
        prepare_part(source, plan, Part(5, 0.0, 4.0), tmp_path / "x.mp4")
    refused = plan_clip(source, probe(source), max_length_s=2.0)
    with pytest.raises(ValueError):
        prepare_part(source, refused, Part(0, 0.0, 4.0), tmp_path / "x.mp4")
