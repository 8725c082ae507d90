"""Run ``kling-desktop`` as a real separate process against the simulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kling_desktop.simulator import DEMO_TOKEN, Simulator

REPO = Path(__file__).resolve().parents[2]

RunCli = Callable[..., subprocess.CompletedProcess[str]]


def cli_env(app_home: Path, simulator: Simulator | None, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["KLING_DESKTOP_HOME"] = str(app_home)
    env["PYTHONPATH"] = str(REPO)  # so the test keyring backend named in the env imports
    if simulator is not None:
        env["KLING_DESKTOP_API_URL"] = simulator.url
        env["KLING_DESKTOP_TOKEN"] = DEMO_TOKEN
    env.update(extra)
    return env


def cli_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "kling_desktop", *args]


@pytest.fixture
def run_cli(app_home: Path, simulator: Simulator) -> RunCli:
    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> Any:
        return subprocess.run(
            cli_command(*args),
            env=env or cli_env(app_home, simulator),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    return run


def jobs_json(result: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = json.loads(result.stdout)["jobs"]
    return jobs
