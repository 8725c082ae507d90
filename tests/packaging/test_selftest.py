"""``kling-desktop --self-test`` from source: the same report CI reads from the frozen bundle."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from kling_desktop import __version__
from kling_desktop.selftest import FAILED, OK, SKIPPED, Report, StepFailed

ROOT = Path(__file__).resolve().parents[2]
STEPS = {"qt", "resources", "multimedia", "clip_check", "keyring", "demo_job"}


@pytest.mark.subprocess
def test_self_test_passes_from_source(tmp_path: Path) -> None:
    report_file = tmp_path / "report.json"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-m", "kling_desktop", "--self-test", "--report", str(report_file)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=180,
    )
    report = json.loads(result.stdout)
    assert report == json.loads(report_file.read_text(encoding="utf-8"))
    assert result.returncode == 0, json.dumps(report, indent=1)
    assert report["ok"] is True
    assert report["version"] == __version__
    assert report["frozen"] is False
    assert set(report["steps"]) == STEPS
    steps = report["steps"]
    assert steps["qt"]["platform_plugin"] == "offscreen"
    assert steps["multimedia"]["media_status"] == "LoadedMedia"
    assert steps["multimedia"]["has_audio"] is True
    assert "SecretService" in steps["keyring"]["entry_points"]
    assert steps["demo_job"]["states"][-1] == "done"
    assert steps["demo_job"]["result_has_audio"] is True
    assert os.environ["KLING_DESKTOP_HOME"] not in result.stdout  # ran in its own home


def test_report_passes_ok_and_skipped_steps() -> None:
    report = Report()
    report.run("fine", lambda: {"x": 1})
    report.steps["later"] = {"status": SKIPPED, "detail": "--skip-job"}
    assert report.ok
    assert report.steps["fine"] == {"status": OK, "x": 1, "seconds": 0.0}


def test_report_keeps_every_error() -> None:
    report = Report()
    report.run("checked", _raise(StepFailed("expected a, saw b")))
    report.run("crashed", _raise(ZeroDivisionError("boom")))
    assert report.steps["checked"]["status"] == FAILED
    assert report.steps["checked"]["detail"] == "expected a, saw b"
    assert report.steps["crashed"]["status"] == FAILED
    assert report.steps["crashed"]["detail"] == "ZeroDivisionError: boom"
    assert report.steps["crashed"]["traceback"]
    assert not report.ok


def _raise(exc: Exception) -> Callable[[], None]:
    def step() -> None:
        raise exc

    return step
