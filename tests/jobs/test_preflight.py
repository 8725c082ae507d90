"""Check before paying what can be checked (DESIGN §4.9): the preflight on its own, the result
names it relies on, and the engine acting on it against the simulator."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from kling_desktop.api.client import KlingClient
from kling_desktop.jobs import pipeline, policy, preflight
from kling_desktop.jobs.model import Job, JobOptions, JobState
from kling_desktop.jobs.preflight import Preflight
from kling_desktop.simulator import Simulator
from tests.fixtures.media import ClipFactory
from tests.fixtures.sim import DEMO_EMAIL
from tests.jobs.conftest import Engine

S = JobState


def nbytes(name: str) -> int:
    return len(os.fsencode(name))


def checked_job(clip: Path, state: JobState = S.QUEUED, **options: str) -> Job:
    """A confirmed job for ``clip`` as the check left it (its size and time recorded)."""
    st = clip.stat()
    return Job(
        id=1,
        input_path=clip,
        state=state,
        options=JobOptions(email=DEMO_EMAIL, **options),
        input_size=st.st_size,
        input_mtime=st.st_mtime,
        confirmed_requests=1,
    )


def plenty(_: Path) -> int:
    return 10**12


# -- the preflight on its own -------------------------------------------------------------


def test_a_checked_clip_and_a_writable_folder_pass_and_leave_nothing(
    clip: Path, tmp_path: Path
) -> None:
    out = tmp_path / "results"
    found = preflight.run(checked_job(clip, output_dir=str(out)), free_space=plenty)
    assert found.ok, found.message
    assert out.is_dir() and list(out.iterdir()) == []  # made, test-written, cleaned
    assert sorted(p.name for p in clip.parent.iterdir()) == ["clip.mp4"]


def test_output_folder_rule_matches_output_path(clip: Path, tmp_path: Path) -> None:
    job = checked_job(clip)
    assert pipeline.output_folder_for(job) == clip.parent
    assert pipeline.output_folder_for(job, str(tmp_path / "s")) == tmp_path / "s"
    own = checked_job(clip, output_dir=str(tmp_path / "own"))
    assert pipeline.output_folder_for(own, str(tmp_path / "s")) == tmp_path / "own"
    assert pipeline.output_path(own, str(tmp_path / "s")).parent == tmp_path / "own"


def test_a_file_in_place_of_the_output_folder_fails_with_a_sentence(
    clip: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "results"
    blocker.write_bytes(b"not a folder")
    found = preflight.run(checked_job(clip, output_dir=str(blocker)), free_space=plenty)
    assert found.outcome is Preflight.FAILED
    assert found.code == "output_not_folder"
    assert "not a folder" in found.message
    assert "Nothing was sent and nothing was charged" in found.message
    assert "Retry" in found.message


def test_an_output_folder_that_cannot_be_made_fails(clip: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"x")
    found = preflight.run(checked_job(clip, output_dir=str(blocker / "sub")), free_space=plenty)
    assert found.outcome is Preflight.FAILED
    assert found.code == "output_unwritable"
    assert str(blocker / "sub") in found.message


def test_not_enough_space_fails_naming_what_is_needed(clip: Path, tmp_path: Path) -> None:
    size = clip.stat().st_size
    asked: list[Path] = []

    def tiny(folder: Path) -> int:
        asked.append(folder)
        return size  # room for one copy, not for the result and its temporary file

    found = preflight.run(checked_job(clip), free_space=tiny)
    assert asked == [clip.parent]
    assert found.outcome is Preflight.FAILED
    assert found.code == "disk_full"
    assert found.message.startswith(f"Not enough free space in {clip.parent}")
    assert preflight.human_size(2 * size) in found.message
    assert preflight.run(checked_job(clip), free_space=lambda _: 2 * size).ok


@pytest.mark.parametrize("change", ["grown", "touched", "missing", "never_recorded"])
def test_a_clip_that_is_not_the_checked_one_is_checked_again(clip: Path, change: str) -> None:
    job = checked_job(clip)
    if change == "grown":
        with clip.open("ab") as f:
            f.write(b"\0" * 10)
    elif change == "touched":
        st = clip.stat()
        os.utime(clip, (st.st_atime, st.st_mtime + 5))
    elif change == "missing":
        clip.unlink()
    else:
        job = job.replace(input_size=None, input_mtime=None)
    found = preflight.run(job, free_space=plenty)
    assert found.outcome is Preflight.RECHECK


def test_decisions_fail_or_send_back_to_the_check_and_retry_stays_free(
    clip: Path, tmp_path: Path
) -> None:
    job = checked_job(clip).replace(upload_url="https://x/old.mp4")
    failed = preflight.Finding(Preflight.FAILED, "disk_full", "Not enough free space.")
    decision = preflight.decision(job, failed)
    assert decision.changes == {
        "state": S.FAILED,
        "error_code": "disk_full",
        "error_message": "Not enough free space.",
    }
    after = job.replace(**decision.changes)
    assert policy.retry_kind(after) is policy.RetryKind.SEND  # nothing was sent: free retry
    recheck = preflight.decision(job, preflight.Finding(Preflight.RECHECK, "clip_changed"))
    assert recheck.action is policy.Action.CHECK
    assert recheck.changes["state"] is S.CHECKING
    assert recheck.changes["upload_url"] == ""  # the old upload was of the old file
    assert policy.may_submit(job.replace(**recheck.changes))  # still confirmed
    moved = job.replace(state=S.UPLOADING)
    assert preflight.decision(moved, failed).changes == {}
    assert preflight.decision(job, preflight.OK).changes == {}


def test_human_sizes() -> None:
    assert preflight.human_size(12) == "12 bytes"
    assert preflight.human_size(1_500) == "1.5 KB"
    assert preflight.human_size(2_300_000) == "2.3 MB"
    assert preflight.human_size(7_000_000_000_000) == "7000.0 GB"


# -- result names that fit ---------------------------------------------------------------


@pytest.mark.parametrize(
    "stem",
    ["x" * 236, "y" * 251, "é" * 125 + "z", "日本" * 40 + "a", "name. " + "w" * 240],
    ids=["236", "251", "2-byte", "3-byte", "dots"],
)
def test_long_clip_names_give_results_that_fit_with_their_temp_name(
    tmp_path: Path, stem: str
) -> None:
    clip = tmp_path / f"{stem}.mp4"
    job = Job(id=1, input_path=clip, state=S.QUEUED)
    first = pipeline.output_path(job)
    assert first.name.endswith(".sound.mp4")
    assert nbytes(first.name) <= pipeline.RESULT_NAME_MAX_BYTES
    assert nbytes(first.name) + pipeline.PART_NAME_EXTRA_BYTES <= 255
    assert stem.startswith(first.name[: -len(".sound.mp4")])  # cut, never altered
    first.write_bytes(b"taken")
    second = pipeline.output_path(job)
    assert second.name.endswith(".sound (2).mp4")
    assert nbytes(second.name) <= pipeline.RESULT_NAME_MAX_BYTES
    reserved = pipeline.reserve(first)  # taken: reserve moves on, still fitting
    assert reserved == second and reserved.stat().st_size == 0
    third = pipeline.reserve(first)
    assert third.name.endswith(".sound (3).mp4")
    assert nbytes(third.name) <= pipeline.RESULT_NAME_MAX_BYTES


def test_short_names_are_unchanged(tmp_path: Path) -> None:
    job = Job(id=1, input_path=tmp_path / "my clip.mov", state=S.QUEUED)
    assert pipeline.output_path(job).name == "my clip.sound.mp4"
    assert pipeline.fit_name("notes", " (2).txt") == "notes (2).txt"


def test_the_download_temp_name_is_what_the_names_leave_room_for(
    client: KlingClient, clip: Path, tmp_path: Path
) -> None:
    """``pipeline.PART_NAME_EXTRA_BYTES`` must match the client's temp-file pattern, and the
    stale-part cleanup in ``pipeline.destination`` must find it."""
    url = client.upload(clip, email=DEMO_EMAIL).url
    out = tmp_path / "out"
    dest = out / pipeline.result_name("q" * 300)
    seen: list[str] = []

    def look(done: int, total: int) -> None:
        seen.extend(p.name for p in out.iterdir() if p.name.endswith(".part"))

    client.download(url, dest, progress=look)
    assert seen, "no temp file was seen"
    assert {nbytes(n) for n in seen} == {nbytes(dest.name) + pipeline.PART_NAME_EXTRA_BYTES}
    assert max(nbytes(n) for n in seen) == 255
    assert list(out.glob(f".{dest.name}.*.part")) == []  # renamed into place
    stale = out / seen[0]
    stale.write_bytes(b"left by a crash")
    job = Job(id=1, input_path=clip, state=S.DOWNLOADING, output_path=dest)
    dest.write_bytes(b"")  # our placeholder, as a crash leaves it
    assert pipeline.destination(job) == (dest, False)
    assert not stale.exists()


# -- the engine acting on it --------------------------------------------------------------


def test_file_in_place_of_the_output_folder_fails_before_anything_is_sent(
    engine: Engine, clip: Path, tmp_path: Path
) -> None:
    blocker = tmp_path / "results"
    blocker.write_bytes(b"in the way")
    [job_id] = engine.add(clip, output_dir=str(blocker))
    job = engine.wait_state(job_id, S.FAILED, S.DONE)
    assert job.state is S.FAILED
    assert job.error_code == "output_not_folder"
    assert "Nothing was sent and nothing was charged" in job.error_message
    assert not engine.simulator.requests  # no upload, no submit
    assert engine.runner.retry_kind(job_id) is policy.RetryKind.SEND
    blocker.unlink()
    with engine.qtbot.waitSignal(engine.runner.job_changed, timeout=10_000):
        engine.runner.retry(job_id)  # failed -> queued
    job = engine.wait_state(job_id, S.DONE, S.FAILED, timeout=30_000)
    assert job.state is S.DONE, job.error_message
    assert job.output_path == blocker / "clip.sound.mp4"
    assert engine.simulator.submit_count == 1


@pytest.mark.parametrize("length", [240, 255])
def test_a_clip_with_a_very_long_name_gets_its_result(
    engine: Engine, clip_factory: ClipFactory, length: int
) -> None:
    name = "a" * (length - len(".mp4")) + ".mp4"
    assert nbytes(name) == length
    clip = clip_factory(name, 4.0)
    [job_id] = engine.add(clip)
    job = engine.wait_state(job_id, S.DONE, S.FAILED, S.REJECTED, timeout=30_000)
    assert job.state is S.DONE, job.error_message
    assert job.output_path is not None and job.output_path.is_file()
    assert job.output_path.name.endswith(".sound.mp4")
    assert nbytes(job.output_path.name) <= 255
    assert sorted(p.name for p in clip.parent.iterdir()) == sorted([name, job.output_path.name])
    assert engine.simulator.submit_count == 1


def test_clip_replaced_after_its_check_is_checked_again_and_nothing_is_paid(
    engine: Engine, clip_factory: ClipFactory
) -> None:
    clip = clip_factory("take.mp4", 4.0)
    [job_id] = engine.add(clip, start=False, strict=True)
    assert engine.wait_state(job_id, S.READY).input_size == clip.stat().st_size
    clip_factory("take.mp4", 1.0)  # replaced by a 1-second clip Kling would refuse
    engine.runner.start([job_id])
    job = engine.wait_state(job_id, S.REJECTED, S.DONE, S.FAILED)
    assert job.state is S.REJECTED, job.error_message
    assert "3" in job.error_message  # the check's own sentence names the limit
    assert job.duration_s is not None and job.duration_s < 2
    assert engine.simulator.submit_count == 0
    assert not [r for r in engine.simulator.requests if r.method == "POST"]  # no upload


def test_clip_replaced_by_one_needing_preparation_asks_again_and_nothing_is_paid(
    engine: Engine, clip_factory: ClipFactory
) -> None:
    """Confirmed as one paid job for a 4 s clip; replaced by a 45 s one (three paid parts)
    before it was sent: back to Ready with a sentence, nothing uploaded or paid."""
    clip = clip_factory("take.mp4", 4.0)
    [job_id] = engine.add(clip, start=False)
    engine.wait_state(job_id, S.READY)
    clip_factory("take.mp4", 45.0)
    seen: list[JobState] = []
    engine.runner.job_changed.connect(lambda j: seen.append(j.state) if j.id == job_id else None)
    engine.runner.start([job_id])
    engine.qtbot.waitUntil(lambda: S.CHECKING in seen and seen[-1] is S.READY, timeout=20_000)
    job = engine.job(job_id)
    assert "changed" in job.warnings and job.confirmed_requests == job.paid_submits == 0
    assert engine.runner.paid_to_start(job_id) == 3
    assert engine.simulator.submit_count == 0
    assert not [r for r in engine.simulator.requests if r.method == "POST"]


def test_clip_changed_but_still_fine_is_checked_again_then_sent_once(
    engine: Engine, clip_factory: ClipFactory
) -> None:
    clip = clip_factory("take.mp4", 4.0)
    [job_id] = engine.add(clip, start=False)
    engine.wait_state(job_id, S.READY)
    clip_factory("take.mp4", 6.0)
    seen: list[JobState] = []
    engine.runner.job_changed.connect(lambda j: seen.append(j.state) if j.id == job_id else None)
    engine.runner.start([job_id])
    job = engine.wait_state(job_id, S.DONE, S.FAILED, S.REJECTED, timeout=30_000)
    assert job.state is S.DONE, job.error_message
    assert seen[:3] == [S.QUEUED, S.CHECKING, S.QUEUED]
    assert job.duration_s is not None and job.duration_s > 5
    assert job.input_size == clip.stat().st_size
    assert engine.simulator.submit_count == 1
    uploads = [r for r in engine.simulator.requests if r.method == "POST" and "assets" in r.path]
    assert len(uploads) == 1


def test_output_folder_replaced_by_a_file_after_paying_fails_free_to_retry(
    engine: Engine, simulator: Simulator, clip: Path, tmp_path: Path
) -> None:
    """After the submit, a local failure keeps the paid task: it fails with a sentence that
    says so, after real retries, and Retry downloads it without paying again."""
    out = tmp_path / "results"
    simulator.scenario.task_seconds = 2.0
    [job_id] = engine.add(clip, output_dir=str(out))
    engine.wait_state(job_id, S.PROCESSING)
    shutil.rmtree(out)
    out.write_bytes(b"a file where the folder was")
    job = engine.wait_state(job_id, S.FAILED, S.DONE, timeout=30_000)
    assert job.state is S.FAILED
    assert job.download_attempts == policy.TRANSFER_TRIES  # retried with backoff first
    assert "already paid for: Retry downloads it again at no cost" in job.error_message
    assert engine.runner.retry_kind(job_id) is policy.RetryKind.DOWNLOAD
    out.unlink()
    with engine.qtbot.waitSignal(engine.runner.job_changed, timeout=10_000):
        engine.runner.retry(job_id)  # failed -> downloading
    job = engine.wait_state(job_id, S.DONE, S.FAILED, timeout=30_000)
    assert job.state is S.DONE, job.error_message
    assert job.output_path == out / "clip.sound.mp4"
    assert simulator.submit_count == 1
