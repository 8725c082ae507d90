"""The README's commands on a fresh machine: no one machine's paths, and launch.sh's choice.

``scripts/launch.sh`` opens the real window when an API token is set up (``KLING_DESKTOP_TOKEN``
or the OS keyring) and the demo otherwise. These tests run the script itself, with
``KLING_LAUNCH_DRY_RUN=1`` so that it prints the command it would ``exec`` instead of opening a
window: the decision is the same code path a user gets. The real Secret Service variant is in
``tests/integration/test_keyring_real.py``.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from kling_desktop.accounts.vault import Vault
from tests.fixtures.filekeyring import FILE_ENV, FileKeyring

ROOT = Path(__file__).resolve().parent.parent
LAUNCH = ROOT / "scripts" / "launch.sh"
DRY_RUN_PREFIX = "launch.sh would run: "
FAIL_BACKEND = "keyring.backends.fail.Keyring"  # what a headless Linux box gets


def _check_paths() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "check_paths", ROOT / "scripts" / "check_paths.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- no absolute paths of one machine ----------------------------------------------------------


def test_tracked_files_name_no_machine_specific_paths() -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing is tracked")
    assert _check_paths().check(ROOT) == []


@pytest.mark.parametrize(
    ("text", "hits"),
    [
        # Built from pieces, so that this file does not name such paths itself.
        ("python=/" + "work/venv/bin/python", ["/" + "work/venv/bin/python"]),
        ("cd /" + "home/alice/src && make", ["/" + "home/alice/src"]),
        ('HOME="/' + 'root"', ["/" + "root"]),
        ("PATH=/usr/bin:/" + "opt/tools/bin", ["/" + "opt/tools/bin"]),
        ("see /" + "Users/bob/Desktop.", ["/" + "Users/bob/Desktop"]),
        # The system's own folders, URLs, relative and variable-based paths are fine.
        ("#!/usr/bin/env bash", []),
        ("exec /usr/bin/kling-desktop; mktemp -p /tmp; cat /proc/self/status", []),
        ("https://example.com/" + "home/x and file://host/" + "work/y", []),
        ("$HOME/.pyenv/versions ~/.config ${ROOT}/work ./opt/x", []),
        ('client.get(f"{base}/" + "var/x"); "/v1/tasks"', []),
        # The .deb's own install prefix is allowed on purpose.
        ("exec /" + "opt/kling-desktop/kling-desktop", []),
    ],
)
def test_check_paths_flags_only_machine_specific_paths(text: str, hits: list[str]) -> None:
    assert [path for _, path in _check_paths().find_hits(text)] == hits


# -- launch.sh: real window or demo ------------------------------------------------------------


def _launch(tmp_path: Path, *args: str, **env_vars: str) -> subprocess.CompletedProcess[str]:
    if not sys.platform.startswith("linux"):
        pytest.skip("scripts/launch.sh is the Linux source checkout's launcher")
    if not (ROOT / ".venv" / "bin" / "kling-desktop").exists():
        pytest.skip("no .venv here (scripts/setup.sh makes it): launch.sh would install one")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("KLING_DESKTOP_TOKEN", "PYTHON_KEYRING_BACKEND", "PYTHONPATH", "PYTHON")
    }
    home = tmp_path / "user-home"  # nobody's real keyring or pyenv
    home.mkdir(exist_ok=True)
    env.update(HOME=str(home), KLING_LAUNCH_DRY_RUN="1", **env_vars)
    return subprocess.run(
        ["bash", str(LAUNCH), *args],
        cwd=tmp_path,  # the script finds the project from its own place
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _would_run(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith(DRY_RUN_PREFIX)]
    assert len(lines) == 1, result.stdout + result.stderr
    return lines[0].removeprefix(DRY_RUN_PREFIX)


@pytest.mark.subprocess
def test_launch_opens_the_demo_without_a_token(tmp_path: Path) -> None:
    result = _launch(tmp_path, PYTHON_KEYRING_BACKEND=FAIL_BACKEND)
    assert _would_run(result) == ".venv/bin/kling-desktop --demo"
    assert "No API token set up yet" in result.stdout


@pytest.mark.subprocess
def test_launch_opens_the_real_window_with_the_token_in_the_environment(tmp_path: Path) -> None:
    # No keyring at all (headless box): the environment variable alone is enough.
    result = _launch(
        tmp_path,
        "clip.mp4",
        PYTHON_KEYRING_BACKEND=FAIL_BACKEND,
        KLING_DESKTOP_TOKEN="user:1234-abcdef",
    )
    assert _would_run(result) == ".venv/bin/kling-desktop clip.mp4"
    assert "user:1234-abcdef" not in result.stdout + result.stderr


@pytest.mark.subprocess
def test_launch_opens_the_real_window_with_the_token_in_the_keyring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyring_file = tmp_path / "keyring.json"
    monkeypatch.setenv(FILE_ENV, str(keyring_file))
    keyring_env = {
        "PYTHON_KEYRING_BACKEND": "tests.fixtures.filekeyring.FileKeyring",
        "PYTHONPATH": str(ROOT),
        FILE_ENV: str(keyring_file),
    }
    assert _would_run(_launch(tmp_path, **keyring_env)).endswith("--demo")

    Vault(keyring_backend=FileKeyring()).set_token("user:1234-abcdef")
    assert _would_run(_launch(tmp_path, **keyring_env)) == ".venv/bin/kling-desktop"

    Vault(keyring_backend=FileKeyring()).delete_token()
    assert _would_run(_launch(tmp_path, **keyring_env)).endswith("--demo")


@pytest.mark.subprocess
def test_launch_shows_a_broken_token_check_instead_of_opening_the_demo(tmp_path: Path) -> None:
    result = _launch(tmp_path, PYTHON_KEYRING_BACKEND="no_such_module.Keyring")
    assert result.returncode != 0
    assert DRY_RUN_PREFIX not in result.stdout
    assert "no_such_module" in result.stderr
    assert "could not tell whether an API token is set up" in result.stderr
