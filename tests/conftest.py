"""Test isolation for every test.

Every test runs in its own ``KLING_DESKTOP_HOME`` with an in-memory keyring, offscreen Qt and
private XDG folders, so nothing ever touches the real user's settings, jobs or keychain.
Fixture modules are split per area (``tests/fixtures/*``) and loaded as plugins.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Set before PySide6 or keyring are imported anywhere.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["QT_LOGGING_RULES"] = "qt.multimedia.*=false;qt.qpa.*=false"
_xdg_root = Path(tempfile.mkdtemp(prefix="kling-test-xdg-"))
for _name in ("XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
    os.environ[_name] = str(_xdg_root / _name.lower())
os.environ.pop("KLING_DESKTOP_TOKEN", None)
os.environ.pop("KLING_DESKTOP_API_URL", None)
if not os.environ.get("KLING_TEST_REAL_KEYRING"):
    os.environ["PYTHON_KEYRING_BACKEND"] = "tests.fixtures.memkeyring.MemoryKeyring"

pytest_plugins = [
    "tests.fixtures.memkeyring",
    "tests.fixtures.media",
    "tests.fixtures.sim",
]


@pytest.fixture(autouse=True)
def app_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private KLING_DESKTOP_HOME for this test."""
    home = tmp_path / "kling-home"
    home.mkdir()
    monkeypatch.setenv("KLING_DESKTOP_HOME", str(home))
    yield home
