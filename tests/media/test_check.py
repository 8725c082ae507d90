"""The local clip check: the right decision and a plain sentence for every kind of input."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import av
import pytest

from kling_desktop.media.check import ClipVerdict, check_clip
from kling_desktop.media.rules import MAX_UPLOAD_BYTES, RULES, Severity
from tests.fixtures.media import ClipFactory
from tests.media.helpers import MB, pad_with_free_box, png_bytes, truncate_to


def codes(verdict: ClipVerdict, severity: Severity | None = Severity.BLOCKING) -> set[str]:
    return {p.code for p in verdict.problems if severity is None or p.severity is severity}


def test_rule_codes_are_unique_and_every_rule_has_a_severity() -> None:
    assert len({rule.code for rule in RULES}) == len(RULES)
    assert all(isinstance(rule.severity, Severity) for rule in RULES)


@pytest.mark.parametrize("duration_s", [3.0, 20.0])
def test_boundary_durations_are_accepted(clip_factory: ClipFactory, duration_s: float) -> None:
    verdict = check_clip(clip_factory("edge.mp4", duration_s, audio=True))
    assert verdict.ok, verdict.problems
    assert verdict.duration_s == pytest.approx(duration_s, abs=0.005)


def test_too_short_is_rejected_naming_value_and_limit(clip_factory: ClipFactory) -> None:
    verdict = check_clip(clip_factory("short.mp4", 2.9), strict=True)
    assert not verdict.ok
    assert codes(verdict) == {"too_short"}
    message = verdict.blocking[0].message
    assert "2.9 s" in message and "3 to 20 seconds" in message


def test_too_long_is_rejected_naming_value_and_limit(clip_factory: ClipFactory) -> None:
    verdict = check_clip(clip_factory("long.mp4", 20.1, audio=True), strict=True)
    assert not verdict.ok
    assert codes(verdict) == {"too_long"}
    assert "20.1 s" in verdict.blocking[0].message


def test_over_ten_seconds_only_warns_about_the_upload_page_cap(clip_factory: ClipFactory) -> None:
    verdict = check_clip(clip_factory("twelve.mp4", 12.0))
    assert verdict.ok
    assert "over_asset_page_cap" in codes(verdict, Severity.WARNING)
    assert "10 s" in next(p.message for p in verdict.warnings if p.code == "over_asset_page_cap")


def test_hd_clip_has_no_problems_at_all(clip_factory: ClipFactory) -> None:
    verdict = check_clip(clip_factory("hd.mp4", 3.0, width=1280, height=720, fps=5))
    assert verdict.ok and verdict.problems == ()
    assert verdict.probe is not None
    probed = verdict.probe
    assert (probed.width, probed.height, probed.container) == (1280, 720, "mp4")


def test_small_resolution_is_a_warning_only(clip_factory: ClipFactory) -> None:
    verdict = check_clip(clip_factory("small.mp4", 4.0))
    assert verdict.ok
    assert codes(verdict, Severity.WARNING) == {"unusual_resolution"}
    assert "320×180" in verdict.warnings[0].message


def test_quicktime_is_accepted_and_told_apart_from_mp4(clip_factory: ClipFactory) -> None:
    verdict = check_clip(clip_factory("clip.mov", 4.0, audio=True))
    assert verdict.ok
    assert verdict.probe is not None and verdict.probe.container == "mov"
    assert verdict.probe.brand == "qt  "


def test_mp4_with_and_without_sound_are_both_fine(clip_factory: ClipFactory) -> None:
    silent = check_clip(clip_factory("silent.mp4", 4.0))
    loud = check_clip(clip_factory("loud.mp4", 4.0, audio=True))
    assert silent.ok and loud.ok
    assert silent.probe is not None and not silent.probe.has_audio
    assert loud.probe is not None and loud.probe.has_audio and loud.probe.audio_codec == "aac"


def test_audio_only_m4a_has_no_video(clip_factory: ClipFactory) -> None:
    verdict = check_clip(clip_factory("song.m4a", 4.0, video=False))
    assert not verdict.ok
    assert codes(verdict) == {"no_video_stream"}
    assert "only sound" in verdict.blocking[0].message


@pytest.mark.parametrize(("name", "label"), [("clip.webm", "WebM"), ("clip.mkv", "Matroska")])
def test_webm_and_mkv_are_rejected_naming_the_supported_containers(
    clip_factory: ClipFactory, name: str, label: str
) -> None:
    verdict = check_clip(clip_factory(name, 4.0), strict=True)
    assert not verdict.ok
    assert codes(verdict) == {"unsupported_container"}
    message = verdict.blocking[0].message
    assert label in message and "MP4" in message and "QuickTime" in message


def test_portrait_clip_is_measured_upright(clip_factory: ClipFactory) -> None:
    verdict = check_clip(clip_factory("portrait.mp4", 4.0, width=720, height=1280, fps=5))
    assert verdict.ok and verdict.problems == ()
    assert verdict.probe is not None
    assert (verdict.probe.display_width, verdict.probe.display_height) == (720, 1280)


@pytest.mark.skipif(
    not hasattr(av.VideoCodecContext, "coded_side_data"),
    reason="PyAV 18 (the newest for Python 3.11) cannot read a stream's display matrix",
)
def test_rotation_from_the_display_matrix_swaps_the_display_size(tmp_path: Path) -> None:
    from fractions import Fraction

    import av

    path = tmp_path / "rotated.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        stream.set_display_rotation(90)
        for index in range(30):
            frame = av.VideoFrame(1280, 720, "yuv420p")
            frame.pts, frame.time_base = index, Fraction(1, 10)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    verdict = check_clip(path)
    assert verdict.ok, verdict.problems
    assert verdict.probe is not None and verdict.probe.rotation == 90
    assert (verdict.probe.display_width, verdict.probe.display_height) == (720, 1280)


@pytest.mark.parametrize("name", ["clip with spaces.mp4", "клип — ünïcødé 日本.mp4"])
def test_awkward_file_names(clip_factory: ClipFactory, name: str) -> None:
    verdict = check_clip(clip_factory(name, 4.0))
    assert verdict.ok, verdict.problems
    assert verdict.path.name == name


def test_png_named_mp4_is_judged_by_content(tmp_path: Path) -> None:
    fake = tmp_path / "holiday.mp4"
    fake.write_bytes(png_bytes())
    verdict = check_clip(fake)
    assert not verdict.ok
    assert codes(verdict) == {"not_video"}
    assert verdict.blocking[0].message == "This is a PNG image, not a video."


def test_text_named_mov_is_judged_by_content(tmp_path: Path) -> None:
    fake = tmp_path / "notes.mov"
    fake.write_text("Shot list:\n1. beach\n2. sunset — golden hour\n", encoding="utf-8")
    verdict = check_clip(fake)
    assert codes(verdict) == {"not_video"}
    assert "text file" in verdict.blocking[0].message


def test_unrecognised_binary_is_unreadable(tmp_path: Path) -> None:
    fake = tmp_path / "noise.mp4"
    fake.write_bytes(bytes(range(256)) * 8)
    verdict = check_clip(fake)
    assert not verdict.ok
    assert codes(verdict) == {"unreadable"}


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.mp4"
    empty.touch()
    verdict = check_clip(empty)
    assert codes(verdict) == {"empty"}
    assert "empty" in verdict.blocking[0].message


def test_truncated_faststart_mp4_is_caught_although_it_opens(clip_factory: ClipFactory) -> None:
    path = truncate_to(clip_factory("fast.mp4", 4.0, audio=True, faststart=True), 0.6)
    verdict = check_clip(path)
    assert not verdict.ok
    assert codes(verdict) == {"truncated"}
    # It still opens with its nominal length: exactly the trap the box walk is for.
    assert verdict.probe is not None and verdict.duration_s == pytest.approx(4.0)
    assert "incomplete" in verdict.blocking[0].message


def test_truncated_moov_at_end_mp4_is_caught(clip_factory: ClipFactory) -> None:
    path = truncate_to(clip_factory("slow.mp4", 4.0, audio=True), 0.6)
    verdict = check_clip(path)
    assert not verdict.ok
    assert codes(verdict) == {"truncated"}
    assert "incomplete" in verdict.blocking[0].message


def test_mp4_cut_exactly_before_its_moov_box_is_caught(clip_factory: ClipFactory) -> None:
    from kling_desktop.media.probe import walk_boxes

    path = clip_factory("cut.mp4", 4.0)
    with open(path, "rb") as handle:
        walk = walk_boxes(handle, path.stat().st_size)
    moov_offset = next(offset for kind, offset, _ in walk.boxes if kind == "moov")
    os.truncate(path, moov_offset)
    verdict = check_clip(path)
    assert codes(verdict) == {"truncated"}
    # A sentence for people; which box is missing goes to the log (issue 11: no box names).
    assert "incomplete" in verdict.blocking[0].message


def test_faststart_mp4_cut_exactly_after_its_moov_box_is_caught(clip_factory: ClipFactory) -> None:
    from kling_desktop.media.probe import walk_boxes

    path = clip_factory("cut.mp4", 4.0, faststart=True)
    with open(path, "rb") as handle:
        walk = walk_boxes(handle, path.stat().st_size)
    _, offset, size = next(box for box in walk.boxes if box[0] == "moov")
    os.truncate(path, offset + size)  # every box fits, but the samples are gone
    verdict = check_clip(path)
    assert codes(verdict) == {"truncated"}


def test_file_over_100_mb_is_rejected_by_size_alone(clip_factory: ClipFactory) -> None:
    path = pad_with_free_box(clip_factory("big.mp4", 4.0, width=1280, height=720), 101 * MB)
    verdict = check_clip(path, strict=True)
    assert not verdict.ok
    # The padded file is a well-formed clip: size is the only objection.
    assert codes(verdict) == {"too_large"}
    assert verdict.probe is not None and verdict.probe.damage is None
    message = verdict.blocking[0].message
    assert "105.9 MB" in message and "100 MB" in message
    assert path.stat().st_size > MAX_UPLOAD_BYTES


def test_directory(tmp_path: Path) -> None:
    verdict = check_clip(tmp_path)
    assert codes(verdict) == {"directory"}
    assert "folder" in verdict.blocking[0].message


def test_missing_path(tmp_path: Path) -> None:
    verdict = check_clip(tmp_path / "gone.mp4")
    assert codes(verdict) == {"missing"}
    assert "does not exist" in verdict.blocking[0].message


def test_path_through_a_file_is_missing(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"x")
    assert codes(check_clip(tmp_path / "file" / "clip.mp4")) == {"missing"}


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    fifo = tmp_path / "pipe.mp4"
    os.mkfifo(fifo)
    assert codes(check_clip(fifo)) == {"not_a_file"}


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file(clip_factory: ClipFactory) -> None:
    path = clip_factory("locked.mp4", 4.0)
    path.chmod(0)
    try:
        verdict = check_clip(path)
    finally:
        path.chmod(0o644)
    assert codes(verdict) == {"no_permission"}
    assert "permission" in verdict.blocking[0].message


@pytest.mark.skipif(os.name != "posix" or os.geteuid() != 0, reason="needs root to drop to nobody")
def test_unreadable_file_as_an_unprivileged_user(clip_factory: ClipFactory) -> None:
    """Root reads any file, so drop the effective uid to ``nobody`` around the check.

    The real uid stays 0, which is what allows taking root back afterwards.
    """
    import pwd

    try:
        nobody = pwd.getpwnam("nobody").pw_uid
    except KeyError:
        nobody = 65534
    folder = Path(tempfile.mkdtemp(prefix="kling-perm-"))
    try:
        folder.chmod(0o755)  # nobody may look in the folder, just not read the clip
        path = folder / "locked.mp4"
        shutil.copy(clip_factory("locked.mp4", 4.0), path)
        path.chmod(0)
        os.seteuid(nobody)
        try:
            verdict = check_clip(path)
        finally:
            os.seteuid(0)
        assert codes(verdict) == {"no_permission"}
        assert "permission" in verdict.blocking[0].message
        assert "locked.mp4" in verdict.blocking[0].message
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_verdict_is_frozen(clip_factory: ClipFactory) -> None:
    verdict = check_clip(clip_factory("clip.mp4", 4.0))
    with pytest.raises(AttributeError):
        verdict.ok = False  # type: ignore[misc]


def _fragmented_clip(path: Path, duration_s: float = 4.0, fps: int = 10) -> Path:
    from fractions import Fraction

    import av

    flags = "frag_keyframe+empty_moov+default_base_moof"
    with av.open(str(path), "w", format="mp4", options={"movflags": flags}) as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        stream.codec_context.options = {"preset": "ultrafast", "g": str(fps)}
        for index in range(round(duration_s * fps)):
            frame = av.VideoFrame(1280, 720, "yuv420p")
            frame.pts, frame.time_base = index, Fraction(1, fps)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def test_fragmented_mp4_is_judged_by_demuxing(tmp_path: Path) -> None:
    verdict = check_clip(_fragmented_clip(tmp_path / "frag.mp4"))
    assert verdict.ok, verdict.problems
    assert verdict.probe is not None and verdict.probe.integrity == "demux"
    assert verdict.duration_s == pytest.approx(4.0)


def test_fragmented_mp4_cut_inside_a_fragment_is_caught(tmp_path: Path) -> None:
    path = truncate_to(_fragmented_clip(tmp_path / "frag.mp4"), 0.7)
    found = codes(check_clip(path, strict=True))
    assert "truncated" in found
    # Fragment sizes vary from encode to encode, so what survives the cut may also be < 3 s.
    assert found <= {"truncated", "too_short"}


def test_trailing_zero_padding_does_not_make_a_good_clip_look_broken(
    clip_factory: ClipFactory,
) -> None:
    path = clip_factory("padded.mp4", 4.0, width=1280, height=720, fps=5)
    with open(path, "ab") as handle:
        handle.write(bytes(1000))
    verdict = check_clip(path)
    assert verdict.ok, verdict.problems
    assert verdict.probe is not None and verdict.probe.integrity == "demux"


# --- the default check: what preparing the clip makes acceptable does not block ------------


@pytest.mark.parametrize(
    ("name", "duration_s", "steps", "paid_jobs"),
    [
        ("clip.webm", 4.0, ("convert",), 1),
        ("clip.mkv", 4.0, ("convert",), 1),
        ("short.mp4", 2.0, ("extend",), 1),
        ("long.mp4", 20.1, ("split",), 2),
    ],
)
def test_what_preparing_fixes_no_longer_blocks(
    clip_factory: ClipFactory, name: str, duration_s: float, steps: tuple[str, ...], paid_jobs: int
) -> None:
    verdict = check_clip(clip_factory(name, duration_s, audio=True))
    assert verdict.ok, verdict.problems
    assert not verdict.blocking
    assert verdict.plan is not None and verdict.plan.steps == steps
    assert verdict.paid_jobs == paid_jobs
    # The same clip, strictly: refused, its plan still said.
    strict = check_clip(verdict.path, strict=True)
    assert not strict.ok and strict.plan == verdict.plan


def test_an_acceptable_clip_has_an_empty_plan_in_both_modes(clip_factory: ClipFactory) -> None:
    path = clip_factory("hd.mp4", 3.0, width=1280, height=720, fps=5, audio=True)
    relaxed, strict = check_clip(path), check_clip(path, strict=True)
    assert relaxed == strict
    assert relaxed.plan is not None and relaxed.plan.steps == () and relaxed.paid_jobs == 1


def test_too_large_is_shrunk_not_refused(clip_factory: ClipFactory) -> None:
    path = pad_with_free_box(clip_factory("big.mp4", 4.0, width=1280, height=720), 101 * MB)
    verdict = check_clip(path)
    assert verdict.ok and verdict.plan is not None and verdict.plan.steps == ("shrink",)


def test_4k_loses_its_resolution_warning_because_it_is_scaled(clip_factory: ClipFactory) -> None:
    path = clip_factory("uhd.mp4", 0.5, width=3840, height=2160, fps=2)
    assert "unusual_resolution" in codes(check_clip(path, strict=True), Severity.WARNING)
    verdict = check_clip(path)
    assert verdict.ok and verdict.problems == ()
    assert verdict.plan is not None and verdict.plan.steps == ("extend", "shrink")


def test_warnings_are_judged_on_the_uploads(clip_factory: ClipFactory) -> None:
    """Preparing never upscales, and a 15 s part is still over the upload page's 10 s."""
    verdict = check_clip(clip_factory("long.webm", 30.0))
    assert verdict.ok
    assert codes(verdict, Severity.WARNING) == {"unusual_resolution", "over_asset_page_cap"}
    assert "15.0 s" in next(p.message for p in verdict.warnings if p.code == "over_asset_page_cap")


def test_real_blockers_still_block(clip_factory: ClipFactory, tmp_path: Path) -> None:
    assert codes(check_clip(clip_factory("song.m4a", 4.0, video=False))) == {"no_video_stream"}
    cut = truncate_to(clip_factory("cut.mp4", 4.0, audio=True, faststart=True), 0.6)
    assert codes(check_clip(cut)) == {"truncated"}
    fake = tmp_path / "holiday.mp4"
    fake.write_bytes(png_bytes())
    assert codes(check_clip(fake)) == {"not_video"}


def test_longer_than_the_longest_clip_setting_is_refused(clip_factory: ClipFactory) -> None:
    path = clip_factory("long.mp4", 31.0, fps=2)
    verdict = check_clip(path, max_length_s=30.0)
    assert not verdict.ok and codes(verdict) == {"over_max_length"}
    assert verdict.blocking[0].message == (
        "It is 31 s long; the app splits clips up to 30 s (Settings → Longest clip)."
    )
    assert verdict.paid_jobs == 0
    assert check_clip(path).ok  # the default (5 min) takes it


def test_animated_gif_is_a_clip_a_still_one_is_not(
    clip_factory: ClipFactory, tmp_path: Path
) -> None:
    verdict = check_clip(clip_factory("anim.gif", 4.0))
    assert verdict.ok, verdict.problems
    assert verdict.probe is not None and verdict.probe.container == "gif"
    assert verdict.plan is not None and verdict.plan.steps == ("convert",)
    still = clip_factory("still.gif", 0.1)  # one frame
    assert codes(check_clip(still)) == {"not_video"}
