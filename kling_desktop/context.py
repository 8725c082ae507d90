"""What the window and the commands share: folders, settings, the vault and a client factory."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from kling_desktop.accounts.vault import Vault
from kling_desktop.api.client import KlingClient, validate_base_url
from kling_desktop.logs import setup_logging
from kling_desktop.paths import AppPaths, app_paths
from kling_desktop.settings import Settings


@dataclass
class AppContext:
    paths: AppPaths
    settings: Settings
    vault: Vault
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    #: Set by --demo: the simulator's URL and token replace the real ones.
    override_url: str = ""
    override_token: str = ""

    @classmethod
    def load(cls, *, log: bool = True) -> AppContext:
        paths = app_paths().ensure()
        if log:
            setup_logging(paths.log_file)
        return cls(paths=paths, settings=Settings.load(paths.settings_file), vault=Vault())

    def save_settings(self) -> None:
        self.settings.save(self.paths.settings_file)

    @property
    def api_url(self) -> str:
        """The base URL in force; raises InsecureUrl for plain http to another host."""
        url = self.override_url or self.settings.effective_api_url(dict(self.env))
        return validate_base_url(url)

    def token(self) -> str | None:
        return self.override_token or self.vault.token(env=self.env)

    def client_factory(self) -> KlingClient | None:
        """A new client with the current token and URL, or None when no token is set up.

        Safe to call from worker threads (each thread keeps its own client).
        """
        token = self.token()
        if not token:
            return None
        return KlingClient(self.api_url, token)
