"""Accidental duplicates on drop (issue 10, item 7): plain code, real files in tmp_path."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

from kling_desktop.jobs.duplicates import Reason, classify, is_result_name
from kling_desktop.jobs.model import Job, JobOptions, JobState

S = JobState
DEC_1 = dt.datetime(2026, 12, 1, 15, 30).timestamp()


def _clip(
    folder: Path, name: str, data: bytes = b"clip bytes", mtime: float = 1_700_000_000.5
) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))
    return path


def _job(job_id: int, path: Path, state: JobState, **fields: object) -> Job:
    stat = path.stat() if path.exists() else None
    seen: dict[str, object] = (
        {"input_size": stat.st_size, "input_mtime": stat.st_mtime} if stat else {}
    )
    seen.update(fields)
    return Job(
        id=job_id,
        input_path=path,
        state=state,
        options=JobOptions(email="a@example.com"),
        updated_at=DEC_1,
        **seen,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("name", "result"),
    [
        ("clip.sound.mp4", True),
        ("clip.sound (2).mp4", True),
        ("clip.SOUND.MP4", True),
        ("my.holiday.sound (13).mp4", True),
        ("clip.mp4", False),
        ("sound.mp4", False),
        ("clip.sound.mov", False),
        ("clip.sound (x).mp4", False),
        ("clip.sounds.mp4", False),
    ],
)
def test_result_names(name: str, result: bool) -> None:
    assert is_result_name(Path(name)) is result


def test_new_clips_pass_and_each_duplicate_says_why(tmp_path: Path) -> None:
    done = _clip(tmp_path, "done.mp4", b"a")
    busy = _clip(tmp_path, "busy.mp4", b"bb")
    ready = _clip(tmp_path, "ready.mp4", b"ccc")
    unsure = _clip(tmp_path, "unsure.mp4", b"dddd")
    fresh = _clip(tmp_path, "fresh.mp4", b"eeeee")
    result = _clip(tmp_path, "done.sound.mp4", b"ffffff")
    jobs = [
        _job(1, done, S.DONE),
        _job(2, busy, S.UPLOADING),
        _job(3, ready, S.READY),
        _job(4, unsure, S.UNCERTAIN),
    ]
    sorting = classify([done, busy, ready, unsure, fresh, result], jobs)
    assert sorting.new == [fresh]
    said = {d.path.name: (d.reason, d.sentence) for d in sorting.duplicates}
    assert said == {
        "done.mp4": (Reason.DONE, "done.mp4 already has sound — added on 1 Dec 2026."),
        "busy.mp4": (Reason.IN_PROGRESS, "busy.mp4 is already getting its sound (uploading)."),
        "ready.mp4": (Reason.IN_LIST, "ready.mp4 is already in the list."),
        "unsure.mp4": (
            Reason.UNCERTAIN,
            "unsure.mp4 is already in the list, waiting for your decision.",
        ),
        "done.sound.mp4": (
            Reason.RESULT,
            "done.sound.mp4 is a result of this app: it already has Kling's sound.",
        ),
    }


@pytest.mark.parametrize(
    "state",
    [S.CHECKING, S.QUEUED, S.SUBMITTING, S.WAITING_SLOT, S.PROCESSING, S.DOWNLOADING],
)
def test_every_state_on_its_way_is_a_duplicate(tmp_path: Path, state: JobState) -> None:
    clip = _clip(tmp_path, "clip.mp4")
    sorting = classify([clip], [_job(1, clip, state)])
    assert sorting.new == []
    expected = Reason.IN_LIST if state is S.CHECKING else Reason.IN_PROGRESS
    assert sorting.duplicates[0].reason is expected


def test_failed_and_stopped_are_in_the_list_but_a_rejected_clip_may_come_back(
    tmp_path: Path,
) -> None:
    failed = _clip(tmp_path, "failed.mp4", b"1")
    stopped = _clip(tmp_path, "stopped.mp4", b"22")
    rejected = _clip(tmp_path, "rejected.mp4", b"333")
    jobs = [_job(1, failed, S.FAILED), _job(2, stopped, S.STOPPED), _job(3, rejected, S.REJECTED)]
    sorting = classify([failed, stopped, rejected], jobs)
    assert sorting.new == [rejected]
    assert [d.sentence for d in sorting.duplicates] == [
        "failed.mp4 is already in the list (failed).",
        "stopped.mp4 is already in the list (tracking stopped).",
    ]


def test_the_same_file_by_another_path_is_recognised(tmp_path: Path) -> None:
    clip = _clip(tmp_path / "clips", "clip.mp4")
    link = tmp_path / "shortcut"
    link.symlink_to(tmp_path / "clips")
    dotted = tmp_path / "clips" / ".." / "clips" / "clip.mp4"
    for other in (link / "clip.mp4", dotted):
        sorting = classify([other], [_job(1, clip, S.DONE)])
        assert sorting.new == [] and not sorting.duplicates[0].copy, other


def test_a_moved_or_copied_clip_is_recognised_by_size_and_time(tmp_path: Path) -> None:
    original = _clip(tmp_path / "a", "clip.mp4", b"x" * 100)
    job = _job(1, original, S.DONE)
    moved = tmp_path / "b" / "renamed.mp4"
    moved.parent.mkdir()
    original.rename(moved)  # rename keeps the size and the time
    sorting = classify([moved], [job])
    assert sorting.new == []
    duplicate = sorting.duplicates[0]
    assert duplicate.copy and duplicate.job == job
    assert duplicate.sentence == (
        "renamed.mp4 is the same clip as clip.mp4, which already has sound — added on 1 Dec 2026."
    )


def test_same_size_at_another_time_is_another_clip(tmp_path: Path) -> None:
    one = _clip(tmp_path, "one.mp4", b"x" * 100, mtime=1_700_000_000.0)
    two = _clip(tmp_path, "two.mp4", b"y" * 100, mtime=1_700_000_100.0)
    empty_a = _clip(tmp_path, "empty-a.mp4", b"", mtime=5.0)
    empty_b = _clip(tmp_path, "empty-b.mp4", b"", mtime=5.0)
    sorting = classify([two, empty_b], [_job(1, one, S.DONE), _job(2, empty_a, S.DONE)])
    assert sorting.new == [two, empty_b]  # an empty file's stamp proves nothing


def test_a_result_path_of_a_job_is_a_result_whatever_its_name(tmp_path: Path) -> None:
    clip = _clip(tmp_path, "clip.mp4", b"1")
    result = _clip(tmp_path / "out", "odd name.mp4", b"22")
    sorting = classify([result], [_job(1, clip, S.DONE, output_path=result)])
    assert [(d.reason, d.job is not None) for d in sorting.duplicates] == [(Reason.RESULT, True)]


def test_clips_being_added_count_and_repeats_in_one_drop_are_kept_once(tmp_path: Path) -> None:
    clip = _clip(tmp_path, "clip.mp4")
    other = _clip(tmp_path, "other.mp4", b"other")
    sorting = classify([other, other, clip], [], pending=[clip])
    assert sorting.new == [other]
    assert [(d.path, d.reason, d.job) for d in sorting.duplicates] == [(clip, Reason.IN_LIST, None)]


def test_done_wins_over_a_later_ready_copy_of_the_same_clip(tmp_path: Path) -> None:
    clip = _clip(tmp_path, "clip.mp4")
    sorting = classify([clip], [_job(1, clip, S.DONE), _job(2, clip, S.READY)])
    assert sorting.duplicates[0].reason is Reason.DONE


def test_a_missing_file_is_new_and_reported_by_the_check_later(tmp_path: Path) -> None:
    gone = tmp_path / "gone.mp4"
    assert classify([gone], []).new == [gone]
