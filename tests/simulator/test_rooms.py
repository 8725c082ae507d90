"""The simulator's rooms on their own: the route table's misses, the injected clock, the CLI.

Over real HTTP like the other simulator tests; time moves only when the test moves it.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from kling_desktop.simulator import DEMO_TOKEN, Scenario, Simulator
from kling_desktop.simulator.cli import add_arguments
from kling_desktop.simulator.routes import ROUTES
from tests.fixtures.sim import DEMO_EMAIL

AUTH = {"Authorization": f"Bearer {DEMO_TOKEN}"}


class FakeClock:
    """A clock that stands still until told to move."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


# -- the route table ---------------------------------------------------------------------------


def test_unknown_path_answers_404_in_the_service_error_shape(simulator: Simulator) -> None:
    answer = requests.get(simulator.url + "/no-such-thing", headers=AUTH, timeout=10)
    assert answer.status_code == 404
    assert answer.json() == {"error": "Route GET /v1/kling/no-such-thing not found", "code": 404}
    outside = requests.get(simulator.origin + "/v2/other", timeout=10)
    assert outside.json() == {"error": "Route GET /v2/other not found", "code": 404}


@pytest.mark.parametrize(
    ("method", "path"), [("PUT", "/accounts"), ("DELETE", "/tasks/1"), ("POST", "/scheduler")]
)
def test_wrong_method_answers_like_an_unknown_route(
    simulator: Simulator, method: str, path: str
) -> None:
    # useapi.net's answer to a wrong method is undocumented; the simulator says 404, no 405.
    answer = requests.request(method, simulator.url + path, headers=AUTH, timeout=10)
    assert answer.status_code == 404
    assert answer.json() == {"error": f"Route {method} /v1/kling{path} not found", "code": 404}


def test_unknown_route_still_needs_the_token(simulator: Simulator) -> None:
    answer = requests.get(simulator.url + "/no-such-thing", timeout=10)
    assert (answer.status_code, answer.json()) == (401, {"error": "Unauthorized", "code": 401})


def test_route_table_has_one_entry_per_method_and_pattern() -> None:
    keys = [(route.method, route.pattern) for route in ROUTES]
    assert len(keys) == len(set(keys))
    assert ("GET", "/tasks/{task_id}") in keys


# -- the injected clock ------------------------------------------------------------------------


@pytest.fixture
def clocked(tmp_path: Path) -> Iterator[tuple[Simulator, FakeClock, FakeClock]]:
    clock, wall = FakeClock(1000.0), FakeClock(1_700_000_000.0)
    sim = Simulator(
        scenario=Scenario(task_seconds=10.0),
        data_dir=tmp_path / "sim",
        clock=clock,
        wall_clock=wall,
    )
    with sim:
        yield sim, clock, wall


def test_task_progress_follows_the_injected_clock(
    clocked: tuple[Simulator, FakeClock, FakeClock], clip: Path
) -> None:
    sim, clock, wall = clocked
    with clip.open("rb") as fh:
        up = requests.post(
            sim.url + f"/assets/?email={DEMO_EMAIL}",
            headers={**AUTH, "Content-Type": "video/mp4"},
            data=fh,
            timeout=10,
        ).json()
    submit = requests.post(
        sim.url + "/videos/add-sound", headers=AUTH, json={"video": up["resourceUrl"]}, timeout=10
    ).json()
    task_id = submit["task"]["id"]
    assert submit["task"]["createTime"] == 1_700_000_000_000

    def poll() -> dict[str, object]:
        url = sim.url + f"/tasks/{task_id}?email={DEMO_EMAIL}"
        answer: dict[str, object] = requests.get(url, headers=AUTH, timeout=10).json()
        return answer

    first = poll()
    assert (first["status_name"], first["etaTime"]) == ("submitted", 10)
    assert poll()["status_name"] == "submitted"  # real time passing changes nothing

    clock.now += 4.0
    wall.now += 4.0
    running = poll()
    assert (running["status_name"], running["etaTime"]) == ("processing", 6)
    [item] = requests.get(sim.url + "/scheduler", headers=AUTH, timeout=10).json()
    assert item["elapsed"] == "00:04"

    clock.now += 6.0
    done = poll()
    assert (done["status"], done["status_name"], done["status_final"]) == (99, "succeed", True)
    assert requests.get(sim.url + "/scheduler", headers=AUTH, timeout=10).json() == []
    assert [t["status_name"] for t in sim.tasks()] == ["succeed"]


# -- the command line --------------------------------------------------------------------------


def test_options_mount_under_another_parser() -> None:
    parser = argparse.ArgumentParser(prog="kling-desktop")
    add_arguments(parser.add_subparsers(dest="command").add_parser("simulator"))
    faults = ["--scenario", "poll_404=true", "--scenario", "submit_429=2"]
    args = parser.parse_args(
        ["simulator", "--port", "8123", "--account", "a@example.com:2", *faults]
    )
    assert (args.command, args.port, args.host, args.account) == (
        "simulator",
        8123,
        "127.0.0.1",
        ["a@example.com:2"],
    )
    assert args.scenario == [("poll_404", True), ("submit_429", 2)]
    assert args.task_seconds == Scenario.task_seconds and args.data_dir is None
