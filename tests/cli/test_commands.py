"""The headless commands, run as real processes against the simulator."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import av

from kling_desktop.simulator import Simulator
from tests.cli.conftest import REPO, RunCli, cli_env, jobs_json
from tests.fixtures.media import ClipFactory


def test_add_sound_wait_makes_clip_with_sound(run_cli: RunCli, clip: Path) -> None:
    result = run_cli("add-sound", "--wait", "--poll-interval", "0.3", str(clip))
    assert result.returncode == 0, result.stderr
    out = clip.with_name("clip.sound.mp4")
    with av.open(str(out)) as container:
        assert container.streams.audio and container.streams.video
    assert "Done" in result.stdout


def test_add_sound_says_how_many_paid_jobs_it_started(
    run_cli: RunCli, simulator: Simulator, clip_factory: ClipFactory, tmp_path: Path
) -> None:
    first, second = clip_factory("first.mp4", 4.0), clip_factory("second.mp4", 4.0)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    result = run_cli(
        "add-sound", "--wait", "--takes", "2", "--poll-interval", "0.3",
        str(first), str(second), str(broken),
    )  # fmt: skip
    assert result.returncode == 1, result.stderr  # the broken file was not accepted
    assert result.stderr.count("kling-desktop: 4 paid Kling jobs for 2 clips.") == 1
    assert simulator.submit_count == 4
    lines = result.stderr.splitlines()
    assert "[1] first.mp4: Done (2 takes) → " in result.stdout
    # One line per change: no line twice in a row, no state said twice on one line.
    assert all(a != b for a, b in itertools.pairwise(lines)), result.stderr
    assert not [line for line in lines if "Uploading · Uploading" in line]
    # `jobs` says what the money went to: the clip's total, each take's task.
    listed = run_cli("jobs").stdout
    assert "[1] first.mp4: Done (2 takes) · paid 2× → " in listed
    assert len(re.findall(r"\n    \[\d+\] take [12]: Done · Kling task \d+ · paid 1×", listed)) == 4


def test_add_sound_json_and_jobs_list(
    run_cli: RunCli, clip_factory: ClipFactory, tmp_path: Path
) -> None:
    good = clip_factory("good.mp4", 4.0)
    bad = clip_factory("bad.mp4", 1.0)  # --strict: Kling refuses it as it is
    out_dir = tmp_path / "results"
    result = run_cli(
        "add-sound", "--wait", "--json", "--poll-interval", "0.3", "--strict",
        "--output", str(out_dir), str(good), str(bad),
    )  # fmt: skip
    assert result.returncode == 1, result.stderr  # one clip was not accepted
    by_name = {Path(j["input"]).name: j for j in jobs_json(result)}
    assert by_name["good.mp4"]["state"] == "done"
    assert by_name["good.mp4"]["output"] == str(out_dir / "good.sound.mp4")
    assert isinstance(by_name["good.mp4"]["task_id"], int)
    assert by_name["bad.mp4"]["state"] == "rejected"
    assert "3" in by_name["bad.mp4"]["error"]
    listed = run_cli("jobs", "--json")
    assert listed.returncode == 0
    assert {j["state"] for j in jobs_json(listed)} == {"done", "rejected"}


def test_add_sound_without_wait_returns_once_sent_and_resume_finishes(
    run_cli: RunCli, clip: Path, simulator: Simulator
) -> None:
    simulator.scenario.task_seconds = 1.5
    sent = run_cli("add-sound", "--json", str(clip))
    assert sent.returncode == 0, sent.stderr
    assert jobs_json(sent)[0]["state"] in ("processing", "downloading", "waiting_slot")
    done = run_cli("resume", "--wait", "--json", "--poll-interval", "0.3")
    assert done.returncode == 0, done.stderr
    assert jobs_json(done)[0]["state"] == "done"
    assert simulator.submit_count == 1


def test_no_token_is_a_configuration_error(app_home: Path, clip: Path, run_cli: RunCli) -> None:
    env = cli_env(app_home, None, PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    result = run_cli("add-sound", str(clip), env=env)
    assert result.returncode == 2
    assert "token" in result.stderr


def test_plain_http_to_another_host_is_refused(
    app_home: Path, clip: Path, run_cli: RunCli, simulator: Simulator
) -> None:
    env = cli_env(app_home, simulator, KLING_DESKTOP_API_URL="http://api.example.com/v1/kling")
    result = run_cli("add-sound", str(clip), env=env)
    assert result.returncode == 2
    assert "http" in result.stderr


def test_several_accounts_need_email(
    app_home: Path, clip: Path, run_cli: RunCli, tmp_path: Path
) -> None:
    sim = Simulator(accounts=[("a@example.com", 2), ("b@example.com", 2)], data_dir=tmp_path / "s")
    with sim:
        sim.scenario.task_seconds = 0.3
        result = run_cli("add-sound", str(clip), env=cli_env(app_home, sim))
        assert result.returncode == 2
        assert "a@example.com" in result.stderr and "--email" in result.stderr
        chosen = run_cli(
            "add-sound", "--wait", "--poll-interval", "0.3", "--email", "b@example.com",
            str(clip), env=cli_env(app_home, sim),
        )  # fmt: skip
        assert chosen.returncode == 0, chosen.stderr
        assert sim.tasks()[0]["email"] == "b@example.com"


def test_accounts_lists_credit_balance(run_cli: RunCli) -> None:
    result = run_cli("accounts", "--json")
    assert result.returncode == 0, result.stderr
    assert '"email": "demo@example.com"' in result.stdout
    assert '"credits"' in result.stdout


def test_usage_errors_exit_2(run_cli: RunCli) -> None:
    assert run_cli("add-sound").returncode == 2
    assert run_cli("add-sound", "--bogus").returncode == 2


def test_module_and_version(run_cli: RunCli) -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert (REPO / "kling_desktop" / "__init__.py").read_text().count(result.stdout.split()[-1])
