"""Review: a database written by the previous version (schema v1) and the pay-once counters.

The v1 engine failed a job on a plain 500 from the submit (issue 10, first bullet), after
Kling had created — and charged — its task. Such a row is "failed", submit_attempts = 1, no
task id. The v2 migration counts a paid submit only for rows with a task id or in
submitting/uncertain, so this row gets paid_submits = 0 < confirmed_requests = 1, and a plain
``kling-desktop retry`` (documented as "at no new cost") sends a second paid request.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from pathlib import Path

import pytest

from kling_desktop.api import errors
from kling_desktop.api.client import KlingClient
from kling_desktop.jobs import store as store_mod
from kling_desktop.simulator import DEMO_TOKEN, Simulator
from tests.cli.conftest import RunCli, jobs_json
from tests.fixtures.sim import DEMO_EMAIL

pytestmark = pytest.mark.subprocess


def v1_database(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    store_mod._MIGRATIONS[0](db)
    db.execute("PRAGMA user_version=1")
    return db


def v1_row(db: sqlite3.Connection, clip: Path, **fields: object) -> None:
    now = time.time()
    row = {
        "uid": uuid.uuid4().hex,
        "input_path": str(clip),
        "options": json.dumps({"email": DEMO_EMAIL}),
        "duration_s": 4.0,
        "created_at": now - 60,
        "updated_at": now - 30,
        **fields,
    }
    db.execute(
        f"INSERT INTO jobs ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
        list(row.values()),
    )
    db.commit()


def test_v1_job_failed_after_its_submit_is_not_sent_again_by_a_free_retry(
    run_cli: RunCli, simulator: Simulator, app_home: Path, clip: Path
) -> None:
    # What the v1 app did: upload, submit; Kling creates (and charges) the task, the answer
    # is a plain 500; v1 stored the job as failed with no task id.
    simulator.scenario.submit_500_after_create = 1
    with KlingClient(simulator.url, DEMO_TOKEN, timeout=10.0, retries=0) as api:
        url = api.upload(clip, email=DEMO_EMAIL).url
        with pytest.raises(errors.ApiError):
            api.add_sound(video=url, email=DEMO_EMAIL, reply_ref="kling-desktop-v1")
    assert simulator.submit_count == 1
    db = v1_database(app_home / "data" / "jobs.sqlite3")
    v1_row(
        db,
        clip,
        state="failed",
        upload_url=url,
        submit_attempts=1,
        upload_attempts=1,
        submitted_at=time.time() - 40,
        error_code="server_error",
        error_message="Kling's server had a problem (500).",
    )
    db.close()

    [job] = jobs_json(run_cli("jobs", "--json"))
    print(job)
    # A plain retry, which the CLI and the window present as costing nothing:
    result = run_cli("retry", "--json", "--poll-interval", "0.3", str(job["id"]), timeout=90)
    print(result.stderr)
    assert simulator.submit_count == 1, (
        f"{simulator.submit_count} paid submits for 1 confirmed request; job was {job}"
    )
