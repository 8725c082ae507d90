"""The engine against the simulator over real HTTP: every fault ends in the right state, with
the right sentence and the right number of paid submits."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from kling_desktop.jobs import policy
from kling_desktop.jobs.model import JobOptions, JobState
from kling_desktop.simulator import Simulator
from tests.fixtures.media import ClipFactory
from tests.fixtures.sim import CLIP_TONE_HZ, SINE_LEVEL, tone_level
from tests.jobs.conftest import Engine

S = JobState


def submits_sent(sim: Simulator) -> int:
    """Submit requests that reached the simulator (answered or not)."""
    return sum(1 for r in sim.requests if r.method == "POST" and r.path.endswith("/add-sound"))


def has_audio(path: Path) -> bool:
    with av.open(str(path)) as container:
        return bool(container.streams.audio) and bool(container.streams.video)


def test_happy_path_saves_clip_with_sound_next_to_original(engine: Engine, clip: Path) -> None:
    [job_id] = engine.add(clip)
    job = engine.wait_state(job_id, S.DONE, S.FAILED)
    assert job.state is S.DONE, job.error_message
    assert job.output_path == clip.with_name("clip.sound.mp4")
    assert has_audio(job.output_path)
    assert job.result_kind == "watermarked"
    assert engine.simulator.submit_count == 1
    assert clip.exists()  # the original is never touched


def test_dropped_clip_waits_ready_and_spends_nothing_until_started(
    engine: Engine, clip: Path
) -> None:
    [job_id] = engine.add(clip, start=False)
    engine.wait_state(job_id, S.READY)
    assert not [r for r in engine.simulator.requests if r.method == "POST"]
    engine.runner.start()
    assert engine.wait_state(job_id, S.DONE, S.FAILED).state is S.DONE


def test_rejected_clip_is_never_uploaded(engine: Engine, clip_factory: ClipFactory) -> None:
    short = clip_factory("short.mp4", 2.0)
    [job_id] = engine.add(short, strict=True)  # the app would extend it otherwise
    job = engine.wait_state(job_id, S.REJECTED)
    assert "3" in job.error_message  # names the limit
    assert not engine.simulator.requests


def test_never_overwrites_an_existing_result(engine: Engine, clip: Path) -> None:
    clip.with_name("clip.sound.mp4").write_bytes(b"mine")
    [job_id] = engine.add(clip)
    job = engine.wait_state(job_id, S.DONE, S.FAILED)
    assert job.output_path == clip.with_name("clip.sound (2).mp4")
    assert clip.with_name("clip.sound.mp4").read_bytes() == b"mine"


def test_429_waits_for_a_slot_then_succeeds_with_one_task(engine: Engine, clip: Path) -> None:
    engine.simulator.scenario.submit_429 = 2
    [job_id] = engine.add(clip)
    engine.wait_state(job_id, S.WAITING_SLOT)
    assert "slot" in engine.runner.progress(job_id).text
    engine.runner.client_changed()  # wakes the waiting submit at once instead of after 10 s
    job = engine.wait_state(job_id, S.DONE, S.FAILED, timeout=30_000)
    assert job.state is S.DONE
    assert engine.simulator.submit_count == 1


def test_moderation_fails_with_its_sentence_and_is_not_retried(engine: Engine, clip: Path) -> None:
    engine.simulator.scenario.moderate_submit = True
    [job_id] = engine.add(clip)
    job = engine.wait_state(job_id, S.FAILED)
    assert job.error_code == "moderation"
    assert "content rules" in job.error_message
    assert submits_sent(engine.simulator) == 1
    assert engine.simulator.submit_count == 0


def test_kling_side_failure_ends_failed_with_the_reason(engine: Engine, clip: Path) -> None:
    engine.simulator.scenario.final_failure = True
    [job_id] = engine.add(clip)
    job = engine.wait_state(job_id, S.FAILED)
    assert job.error_code == "kling_failed"
    assert "Kling could not add sound" in job.error_message


def test_lost_submit_reply_is_reconciled_never_resent(engine: Engine, clip: Path) -> None:
    engine.simulator.scenario.drop_submit_response = 1
    [job_id] = engine.add(clip)
    job = engine.wait_state(job_id, S.DONE, S.FAILED, S.UNCERTAIN)
    assert job.state is S.DONE, job.error_message
    assert submits_sent(engine.simulator) == 1
    assert engine.simulator.submit_count == 1
    assert len(engine.simulator.tasks()) == 1


def test_poll_server_errors_are_retried(engine: Engine, clip: Path) -> None:
    engine.simulator.scenario.poll_5xx = 2
    [job_id] = engine.add(clip)
    assert engine.wait_state(job_id, S.DONE, S.FAILED, timeout=30_000).state is S.DONE


def test_task_gone_while_polling_fails_with_a_sentence_and_retry_never_pays(
    engine: Engine, clip: Path
) -> None:
    engine.simulator.scenario.poll_404 = True
    [job_id] = engine.add(clip)
    job = engine.wait_state(job_id, S.FAILED, timeout=30_000)
    assert job.error_code == "task_gone"
    assert "credits" in job.error_message
    assert job.poll_errors >= policy.GONE_AFTER_404S  # one odd answer is not "gone"
    # Retry alone does nothing that pays: the job holds a task id.
    assert engine.runner.retry_kind(job_id) is policy.RetryKind.RESUBMIT
    engine.runner.retry(job_id)
    engine.runner.retry_all_failed()
    engine.settle()
    assert engine.job(job_id).state is S.FAILED
    assert not engine.runner._timers.pending(job_id)
    assert engine.simulator.submit_count == 1


def test_bad_token_holds_the_queue_instead_of_failing_clips(
    engine: Engine, clip: Path, qtbot: object
) -> None:
    engine.simulator.scenario.bad_token = True
    with engine.qtbot.waitSignal(engine.runner.connection_changed, timeout=10_000) as blocker:
        [job_id] = engine.add(clip)
    assert blocker.args is not None and blocker.args[0] is False
    assert "token" in blocker.args[1]
    assert engine.job(job_id).state is S.QUEUED
    engine.simulator.scenario.bad_token = False
    engine.runner.client_changed()
    assert engine.wait_state(job_id, S.DONE, S.FAILED).state is S.DONE


def test_download_cut_off_once_recovers_by_itself(engine: Engine, clip: Path) -> None:
    engine.simulator.scenario.truncate_downloads = 1
    [job_id] = engine.add(clip)
    job = engine.wait_state(job_id, S.DONE, S.FAILED)
    assert job.state is S.DONE, job.error_message
    assert job.output_path is not None and has_audio(job.output_path)
    assert engine.simulator.submit_count == 1


def test_upload_retries_by_itself_when_the_service_comes_back(engine: Engine, clip: Path) -> None:
    [job_id] = engine.add(clip, start=False)
    engine.wait_state(job_id, S.READY)
    port = int(engine.simulator.url.split(":")[2].split("/")[0])
    engine.simulator.stop()  # the service vanishes: uploads fail with a network error
    engine.runner.start()
    engine.qtbot.waitUntil(lambda: engine.job(job_id).upload_attempts >= 2, timeout=10_000)
    assert engine.job(job_id).state in (S.QUEUED, S.UPLOADING)
    engine.simulator = Simulator(port=port, data_dir=engine.simulator.data_dir).start()
    try:
        job = engine.wait_state(job_id, S.DONE, S.FAILED, timeout=30_000)
        assert job.state is S.DONE, job.error_message
    finally:
        engine.simulator.stop()


def test_failed_download_retries_without_resubmitting(engine: Engine, clip: Path) -> None:
    engine.simulator.scenario.truncate_downloads = 5  # more cuts than the engine's tries
    [job_id] = engine.add(clip)
    job = engine.wait_state(job_id, S.FAILED, S.DONE)
    assert job.state is S.FAILED
    assert job.error_code.startswith("download_")
    assert not list(clip.parent.glob("clip.sound*"))  # nothing half-written left behind
    assert engine.runner.retry_kind(job_id) is policy.RetryKind.DOWNLOAD
    engine.runner.retry(job_id)
    engine.wait_state(job_id, S.DOWNLOADING, S.DONE)
    assert engine.wait_state(job_id, S.DONE, S.FAILED).state is S.DONE
    assert engine.simulator.submit_count == 1


def test_job_left_processing_resumes_after_restart(engine: Engine, clip: Path) -> None:
    engine.simulator.scenario.task_seconds = 2.0
    [job_id] = engine.add(clip)
    engine.wait_state(job_id, S.PROCESSING)
    engine.restart()
    assert engine.job(job_id).state is S.PROCESSING
    engine.runner.resume()
    assert engine.wait_state(job_id, S.DONE, S.FAILED).state is S.DONE
    assert engine.simulator.submit_count == 1


def test_crash_between_persist_and_send_becomes_uncertain_and_waits_for_the_user(
    engine: Engine, clip: Path
) -> None:
    """ "submitting" was written but the request never left: nothing on the server matches,
    so the job asks the user instead of guessing."""
    [job_id] = engine.add(clip, start=False)
    engine.wait_state(job_id, S.READY)
    upload = engine._client().upload(clip, email="demo@example.com")
    store = engine.store
    store.transition(job_id, S.QUEUED)
    store.transition(job_id, S.UPLOADING)
    store.transition(job_id, S.SUBMITTING, upload_url=upload.url, submitted_at=1e9)
    engine.restart()
    engine.runner.resume()
    job = engine.wait_state(job_id, S.UNCERTAIN)
    assert "charge you twice" in job.error_message
    assert engine.simulator.submit_count == 0
    engine.runner.resolve_uncertain(job_id, resubmit=True)
    assert engine.wait_state(job_id, S.DONE, S.FAILED).state is S.DONE
    assert engine.simulator.submit_count == 1


def test_give_up_on_uncertain_job(engine: Engine, clip: Path) -> None:
    [job_id] = engine.add(clip, start=False)
    engine.wait_state(job_id, S.READY)
    for state in (S.QUEUED, S.UPLOADING):
        engine.store.transition(job_id, state)
    engine.store.transition(job_id, S.SUBMITTING, upload_url="http://127.0.0.1:1/x.mp4")
    engine.restart()
    engine.runner.resume()
    engine.wait_state(job_id, S.UNCERTAIN)
    engine.runner.resolve_uncertain(job_id, resubmit=False)
    assert engine.wait_state(job_id, S.FAILED).error_code == "given_up"
    assert engine.simulator.submit_count == 0


def test_stop_tracking_tells_the_service_and_says_kling_still_charges(
    engine: Engine, clip: Path
) -> None:
    engine.simulator.scenario.task_seconds = 30.0
    [job_id] = engine.add(clip)
    engine.wait_state(job_id, S.PROCESSING)
    engine.runner.stop_tracking(job_id)
    job = engine.wait_state(job_id, S.STOPPED)
    assert "still runs it and charges" in job.error_message
    assert any(r.method == "DELETE" and "/scheduler/" in r.path for r in engine.simulator.requests)


def test_remove_keeps_files_and_forgets_the_job(engine: Engine, clip: Path) -> None:
    [job_id] = engine.add(clip)
    job = engine.wait_state(job_id, S.DONE, S.FAILED)
    engine.runner.remove(job_id)
    assert engine.runner.job(job_id) is None
    engine.qtbot.waitUntil(lambda: engine.store.get(job_id) is None)
    assert job.output_path is not None and job.output_path.exists()


def test_batch_summary_lists_failures_first(engine: Engine, clip_factory: ClipFactory) -> None:
    good = clip_factory("good.mp4", 4.0)
    with engine.qtbot.waitSignal(engine.runner.batch_finished, timeout=30_000) as blocker:
        engine.add(good)
    summary = blocker.args[0] if blocker.args else None
    assert summary is not None
    assert [j.name for j in summary.done] == ["good.mp4"]
    assert summary.headline == "1 done"


@pytest.mark.parametrize("keep", [True, False])
def test_keep_original_sound_is_sent(engine: Engine, clip_factory: ClipFactory, keep: bool) -> None:
    noisy = clip_factory("noisy.mp4", 4.0, audio=True)
    [job_id] = engine.add(noisy, keep_original_sound=keep)
    assert engine.wait_state(job_id, S.DONE, S.FAILED).state is S.DONE
    [task] = engine.simulator.tasks()
    assert task["keep_original_sound"] is keep
    output = engine.job(job_id).output_path
    assert output is not None
    with av.open(str(output)) as container:
        assert len(container.streams.audio) == 1
    # The clip's own 440 Hz tone is in the result only when asked to keep it.
    assert (tone_level(output, CLIP_TONE_HZ) > SINE_LEVEL / 2) is keep


def test_clean_master_is_preferred_when_asked(engine: Engine, clip: Path) -> None:
    engine.settings.prefer_clean_master = True
    [job_id] = engine.add(clip)
    job = engine.wait_state(job_id, S.DONE, S.FAILED)
    assert job.state is S.DONE, job.error_message
    assert job.result_kind == "clean"
    assert any(r.path.endswith("/assets/download") for r in engine.simulator.requests)


def test_clip_added_without_account_is_sent_with_the_default(
    engine: Engine, clip: Path, tmp_path: Path
) -> None:
    sim = Simulator(accounts=[("a@example.com", 2), ("b@example.com", 2)], data_dir=tmp_path / "s")
    with sim:
        sim.scenario.task_seconds = 0.2
        engine.url = sim.url
        engine.settings.default_email = "b@example.com"
        with engine.qtbot.waitSignal(engine.runner.files_added) as added:
            engine.runner.add_files([clip], JobOptions(), start=True)
        [job_id] = added.args[0]
        job = engine.wait_state(job_id, S.DONE, S.FAILED)
        assert job.state is S.DONE, job.error_message
        assert job.email == "b@example.com"
        assert sim.tasks()[0]["email"] == "b@example.com"
