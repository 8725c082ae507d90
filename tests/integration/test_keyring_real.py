"""The Vault against a real Secret Service (gnome-keyring), not the in-memory test keyring.

Run by ``tests/integration/run_real_keyring.sh``, which starts a private D-Bus session and an
unlocked gnome-keyring in a throw-away HOME, so the developer's own keychain is never touched.
Also proves that ``scripts/launch.sh`` finds a token saved there and opens the real window.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from kling_desktop.accounts import Vault

pytestmark = [
    pytest.mark.keyring_real,
    pytest.mark.skipif(
        os.environ.get("KLING_TEST_REAL_KEYRING") != "1",
        reason="needs KLING_TEST_REAL_KEYRING=1 (run tests/integration/run_real_keyring.sh)",
    ),
]

ROOT = Path(__file__).resolve().parents[2]

_READ_IN_FRESH_PROCESS = """
import hashlib, sys
from kling_desktop.accounts import Vault
vault = Vault()
token = vault.get_token(sys.argv[1])
print(vault.backend_name())
print(hashlib.sha256(token.encode()).hexdigest() if token else "none")
"""


def test_secret_service_round_trip() -> None:
    assert os.environ.get("PYTHON_KEYRING_BACKEND") is None
    assert os.environ.get("DBUS_SESSION_BUS_ADDRESS"), "not inside dbus-run-session"
    vault = Vault()
    assert vault.available()
    assert vault.backend_name() == "Secret Service"

    profile = "realtest"
    token = f"user:4242-{secrets.token_hex(12)}Ä"  # non-ASCII survives the D-Bus round trip
    vault.set_token(token, profile=profile)
    try:
        assert vault.get_token(profile) == token
        # The test suite's in-memory keyring is importable here (and so chained in by keyring's
        # backend discovery); prove the secret went to the Secret Service, not to it.
        from tests.fixtures.memkeyring import MemoryKeyring

        assert token not in MemoryKeyring.store.values()
        # A second instance does its own backend lookup and reads the same entry.
        assert Vault().get_token(profile) == token
        # So does a fresh process (the token itself never goes on a command line).
        import hashlib

        out = subprocess.run(
            [sys.executable, "-c", _READ_IN_FRESH_PROCESS, profile],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            env={k: v for k, v in os.environ.items() if k != "PYTHON_KEYRING_BACKEND"},
        ).stdout.split()
        assert out[-1] == hashlib.sha256(token.encode()).hexdigest()
        assert " ".join(out[:-1]) == "Secret Service"
    finally:
        vault.delete_token(profile)
    assert vault.get_token(profile) is None
    assert Vault().get_token(profile) is None


def test_launch_sh_opens_the_real_window_with_the_token_in_the_keyring(tmp_path: Path) -> None:
    """scripts/launch.sh reads the Secret Service as the window does: real window, else demo."""
    if not (ROOT / ".venv" / "bin" / "kling-desktop").exists():
        pytest.fail("no .venv: run scripts/setup.sh --dev first")
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("KLING_DESKTOP_TOKEN", "PYTHON_KEYRING_BACKEND", "PYTHONPATH", "PYTHON")
    }
    env.update(KLING_LAUNCH_DRY_RUN="1", KLING_DESKTOP_HOME=str(tmp_path / "kling-home"))

    def would_run() -> str:
        result = subprocess.run(
            ["bash", str(ROOT / "scripts" / "launch.sh")],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout.splitlines()[-1]

    vault = Vault()
    assert vault.backend_name() == "Secret Service"
    assert vault.get_token() is None  # a throw-away keyring (run_real_keyring.sh)
    assert would_run() == "launch.sh would run: .venv/bin/kling-desktop --demo"
    vault.set_token(f"user:4242-{secrets.token_hex(12)}")
    try:
        assert would_run() == "launch.sh would run: .venv/bin/kling-desktop"
    finally:
        vault.delete_token()
    assert would_run() == "launch.sh would run: .venv/bin/kling-desktop --demo"
