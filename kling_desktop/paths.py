"""Every folder the app uses, in one place.

Locations come from platformdirs. ``KLING_DESKTOP_HOME`` moves all of them under one folder,
which is how tests, the demo and portable installs keep away from the user's real profile.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from kling_desktop import APP_ID

HOME_ENV = "KLING_DESKTOP_HOME"


@dataclass(frozen=True)
class AppPaths:
    """Folders and files of one installation. Nothing is created until :meth:`ensure`."""

    config_dir: Path
    data_dir: Path
    cache_dir: Path
    log_dir: Path
    default_output_dir: Path

    @property
    def settings_file(self) -> Path:
        return self.config_dir / "settings.json"

    @property
    def database(self) -> Path:
        return self.data_dir / "jobs.sqlite3"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "kling-desktop.log"

    @property
    def thumbnail_dir(self) -> Path:
        return self.cache_dir / "thumbnails"

    @property
    def download_dir(self) -> Path:
        """Where results are staged while they download (same volume as the data folder)."""
        return self.data_dir / "downloads"

    def ensure(self) -> AppPaths:
        for folder in (self.config_dir, self.data_dir, self.cache_dir, self.log_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def app_paths(env: Mapping[str, str] | None = None) -> AppPaths:
    """Resolve the app's folders, honouring ``KLING_DESKTOP_HOME``."""
    env = os.environ if env is None else env
    home = env.get(HOME_ENV, "").strip()
    if home:
        root = Path(home).expanduser().resolve()
        return AppPaths(
            config_dir=root / "config",
            data_dir=root / "data",
            cache_dir=root / "cache",
            log_dir=root / "logs",
            default_output_dir=root / "output",
        )
    return AppPaths(
        config_dir=Path(platformdirs.user_config_dir(APP_ID, appauthor=False)),
        data_dir=Path(platformdirs.user_data_dir(APP_ID, appauthor=False)),
        cache_dir=Path(platformdirs.user_cache_dir(APP_ID, appauthor=False)),
        log_dir=Path(platformdirs.user_log_dir(APP_ID, appauthor=False)),
        default_output_dir=Path(platformdirs.user_videos_dir()) / "Kling Desktop",
    )
