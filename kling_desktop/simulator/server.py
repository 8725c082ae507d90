"""A local, faithful fake of useapi.net's Kling API (the endpoints Kling Desktop uses).

Shapes follow ``docs/useapi-kling-contract.md`` and the add-sound page (the seed), not what
our client happens to parse. Serves on 127.0.0.1 over plain HTTP:

* ``/v1/kling/...``   the API (Bearer token required)
* ``/cdn/...``        uploaded and generated files, no auth (like Kling's CDN)

Switchable faults live in :class:`Scenario`. Account passwords starting with ``wrong`` are
refused by ``POST /accounts`` the way a failed Kling login is.

The rooms: :mod:`.state` (what "Kling" remembers, on an injectable clock), :mod:`.shapes` (the
JSON), :mod:`.routes` (the route table and what each endpoint does), :mod:`.http` (the server,
bodies, pacing, dropped connections), :mod:`.scenario` (the faults), :mod:`.cli` (the command).
:class:`Simulator` below only puts them together.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from kling_desktop.simulator import shapes
from kling_desktop.simulator.http import RequestRecord, Server
from kling_desktop.simulator.routes import API_PREFIX, Router
from kling_desktop.simulator.scenario import Scenario, scenario_setting
from kling_desktop.simulator.state import GENERATED_TONES_HZ, Clock, State

__all__ = [
    "API_PREFIX",
    "DEMO_TOKEN",
    "GENERATED_TONES_HZ",
    "RequestRecord",
    "Scenario",
    "Simulator",
    "scenario_setting",
]

log = logging.getLogger(__name__)

DEMO_TOKEN = "user:1000-demoToken0000"


class Simulator:
    """The fake service. ``with Simulator() as sim: sim.url ...``

    ``clock`` (monotonic seconds) drives task progress and ``wall_clock`` (epoch seconds) the
    times in answers; pass your own to move tasks along without waiting.
    """

    def __init__(
        self,
        *,
        token: str = DEMO_TOKEN,
        accounts: Sequence[tuple[str, int]] = (("demo@example.com", 3),),
        host: str = "127.0.0.1",
        port: int = 0,
        scenario: Scenario | None = None,
        data_dir: Path | None = None,
        clock: Clock = time.monotonic,
        wall_clock: Clock = time.time,
    ) -> None:
        self._host = host
        self._port = port
        self._own_dir = data_dir is None
        self._dir = Path(tempfile.mkdtemp(prefix="kling-sim-")) if data_dir is None else data_dir
        self._state = State(
            self._dir,
            token=token,
            accounts=accounts,
            scenario=scenario or Scenario(),
            clock=clock,
            wall_clock=wall_clock,
        )
        self._requests: list[RequestRecord] = []
        self._requests_lock = threading.Lock()
        self._server: Server | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> Simulator:
        for sub in ("uploads", "results"):
            (self._dir / sub).mkdir(parents=True, exist_ok=True)
        server = Server(
            (self._host, self._port),
            Router(self._state),
            on_request=self._record,
            bytes_per_s=lambda: self._state.scenario.transfer_bytes_per_s,
        )
        self._server = server
        self._state.origin = self.origin  # before the first request: URLs Kling hands out
        self._state.port = server.server_port
        server.start()
        log.info("Simulator listening on %s", self.url)
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.stop()
        self._state.port = 0
        if self._own_dir:
            shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> Simulator:
        return self.start() if self._server is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not running")
        return f"http://{self._host}:{self._server.server_port}"

    @property
    def url(self) -> str:
        """The API base URL, e.g. ``http://127.0.0.1:PORT/v1/kling``."""
        return self.origin + API_PREFIX

    @property
    def data_dir(self) -> Path:
        return self._dir

    @property
    def token(self) -> str:
        return self._state.token

    @token.setter
    def token(self, value: str) -> None:
        self._state.token = value

    @property
    def scenario(self) -> Scenario:
        """The faults to play; change its fields at any time."""
        return self._state.scenario

    @scenario.setter
    def scenario(self, value: Scenario) -> None:
        self._state.scenario = value

    # -- inspection (tests) ----------------------------------------------------------------

    @property
    def submit_count(self) -> int:
        """Submits that created a task (a dropped answer still counts)."""
        return self._state.submit_count

    @property
    def foreign_task_count(self) -> int:
        """Tasks another client started on an account (``submit_lost_other_client``)."""
        return self._state.foreign_count

    def wait_for_submits(self, n: int, timeout: float) -> bool:
        return self._state.wait_for_submits(n, timeout)

    def tasks(self) -> list[dict[str, Any]]:
        """Snapshots of every task, oldest first, hidden ones included (``visible`` False).

        ``foreign`` marks a task another client started (not one of our submits).
        ``generated_tone_hz`` is the task's generated sound; ``crop_video_original_sound`` the
        flag as taken (``…_sent``: as sent, None when absent), ``crop_original_sound`` the
        scenario's reading at submit, ``keeps_original_sound`` that reading's verdict, and
        ``original_sound_in_result`` whether the clip's own sound is in the result (None until
        the result is made, False for a silent clip). ``keep_original_sound`` is the flag.
        """
        state = self._state
        now = state.now()
        with state.lock:
            tasks = list(state.tasks.values())
        return [
            shapes.snapshot(
                task,
                state.phase(task, now, produce=False),
                tracked=state.tracked(task, now),
                visible=state.visible(task, now),
            )
            for task in tasks
        ]

    def generated_tone_hz(self, task_id: int) -> float:
        """The frequency of the tone "Kling" generates for task ``task_id``: the n-th task of
        this simulator gets ``GENERATED_TONES_HZ[n % 6]`` (KeyError for an unknown task)."""
        return self._state.generated_tone_hz(task_id)

    @property
    def requests(self) -> list[RequestRecord]:
        with self._requests_lock:
            return list(self._requests)

    def balance(self, email: str) -> int:
        with self._state.lock:
            return self._state.accounts[email].points

    def _record(self, record: RequestRecord) -> None:
        with self._requests_lock:
            self._requests.append(record)
