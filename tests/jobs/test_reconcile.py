"""Finding the task of a submit whose reply was lost, against the simulator."""

from __future__ import annotations

import time
from pathlib import Path

from kling_desktop.api.client import KlingClient
from kling_desktop.jobs import pipeline
from kling_desktop.jobs.model import Job, JobOptions, JobState
from kling_desktop.simulator import Simulator
from tests.fixtures.sim import DEMO_EMAIL
from tests.jobs.conftest import Engine

S = JobState


def lost_job(upload_url: str, duration_s: float | None = 4.0, job_id: int = 7) -> Job:
    return Job(
        id=job_id,
        input_path=Path("/clips/x.mp4"),
        state=S.SUBMITTING,
        options=JobOptions(email=DEMO_EMAIL),
        upload_url=upload_url,
        duration_s=duration_s,
        submitted_at=time.time(),
    )


def submit(client: KlingClient, clip: Path) -> int:
    url = client.upload(clip, email=DEMO_EMAIL).url
    return client.add_sound(video=url, email=DEMO_EMAIL).id


def test_lost_reply_of_a_task_that_already_finished_is_still_found(
    engine: Engine, clip: Path
) -> None:
    # Gone from the scheduler by the time we ask: the task list must find it.
    engine.simulator.scenario.task_seconds = 0.05
    engine.simulator.scenario.drop_submit_response = 1
    [job_id] = engine.add(clip)
    job = engine.wait_state(job_id, S.DONE, S.FAILED, S.UNCERTAIN)
    assert job.state is S.DONE, job.error_message
    assert engine.simulator.submit_count == 1


def test_found_by_uploaded_file_name_although_kling_rehosts_the_url(
    client: KlingClient, clip: Path, simulator: Simulator
) -> None:
    simulator.scenario.task_seconds = 0.01
    url = client.upload(clip, email=DEMO_EMAIL).url
    task_id = client.add_sound(video=url, email=DEMO_EMAIL).id
    other = submit(client, clip)
    found = pipeline.reconcile(client, lost_job(url), taken_task_ids=set())
    assert found is not None and found.id == task_id != other


def test_the_only_task_in_the_window_is_not_proof(client: KlingClient, clip: Path) -> None:
    """Another client on the same Kling account may have started it: never adopt it."""
    first, second = submit(client, clip), submit(client, clip)
    job = lost_job("http://127.0.0.1:1/unknown.mp4", duration_s=None)
    assert pipeline.reconcile(client, job, taken_task_ids=set()) is None
    # With one of them owned by another job, the other is the only candidate left: still no.
    assert pipeline.reconcile(client, job, taken_task_ids={first}) is None
    assert second != first


def test_nothing_in_the_window_means_no_task(client: KlingClient, clip: Path) -> None:
    submit(client, clip)
    job = lost_job("http://127.0.0.1:1/unknown.mp4").replace(submitted_at=time.time() - 3600)
    assert pipeline.reconcile(client, job, taken_task_ids=set()) is None
