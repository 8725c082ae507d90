"""Engine fixtures: a runner on a fresh store, pointed at the simulator, with fast timings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from kling_desktop.api.client import KlingClient
from kling_desktop.jobs.model import Job, JobOptions, JobState
from kling_desktop.jobs.store import JobStore
from kling_desktop.runner.engine import JobRunner
from kling_desktop.settings import Settings
from kling_desktop.simulator import DEMO_TOKEN, Simulator
from tests.fixtures.sim import DEMO_EMAIL


def fast_settings() -> Settings:
    settings = Settings()
    settings.poll_interval_s = 0.2
    settings.first_poll_delay_s = 0.1
    settings.prefer_clean_master = False
    return settings


class Engine:
    """A runner plus what tests need to drive it and look at it."""

    def __init__(self, db: Path, simulator: Simulator, qtbot: QtBot) -> None:
        self.db = db
        self.simulator = simulator
        self.url = simulator.url
        self.qtbot = qtbot
        self.settings = fast_settings()
        self.token = DEMO_TOKEN
        self.store = JobStore(db)
        self.runner = self._make_runner()

    def _make_runner(self) -> JobRunner:
        return JobRunner(
            self.store,
            self._client,
            self.settings,
            transfer_backoff_s=0.02,
            reconcile_backoff_s=0.2,
        )

    def _client(self) -> KlingClient:
        return KlingClient(self.url, self.token, timeout=5.0, backoff_s=0.01)

    def add(self, *paths: Path, start: bool = True, **options: object) -> list[int]:
        opts = JobOptions(email=DEMO_EMAIL, **options)  # type: ignore[arg-type]
        with self.qtbot.waitSignal(self.runner.files_added, timeout=10_000) as added:
            self.runner.add_files(list(paths), opts, start=start)
        ids: list[int] = added.args[0]
        return ids

    def job(self, job_id: int) -> Job:
        job = self.runner.job(job_id)
        assert job is not None
        return job

    def settle(self, timeout: int = 10_000) -> None:
        """Wait until every piece of work the runner has started has finished and reported
        (no fixed pause): what a test then sees is all that those actions did. Timers the
        runner set for later are not waited for."""
        self.qtbot.waitUntil(self.runner.settled, timeout=timeout)

    def wait_state(self, job_id: int, *states: JobState, timeout: int = 20_000) -> Job:
        self.qtbot.waitUntil(lambda: self.job(job_id).state in states, timeout=timeout)
        return self.job(job_id)

    def restart(self) -> None:
        """Quit this runner and start a new one on the same database, as after a restart."""
        self.runner.shutdown()
        self.store.close()
        self.store = JobStore(self.db)
        self.runner = self._make_runner()

    def close(self) -> None:
        self.runner.shutdown()
        self.store.close()


def assert_paid_within_confirmed(engine: Engine) -> None:
    """The money invariant: paid_submits ≤ confirmed_requests for every row, and the tasks
    made at the service (not another client's) ≤ the requests confirmed."""
    rows = engine.store.all()
    for row in rows:
        assert row.paid_submits <= row.confirmed_requests, row
    ours = [t for t in engine.simulator.tasks() if not t["foreign"]]
    assert len(ours) <= sum(r.confirmed_requests for r in rows)


@pytest.fixture
def engine(tmp_path: Path, simulator: Simulator, qtbot: QtBot) -> Iterator[Engine]:
    eng = Engine(tmp_path / "jobs.sqlite3", simulator, qtbot)
    try:
        yield eng
    finally:
        eng.close()


EngineFactory = Callable[[], Engine]
