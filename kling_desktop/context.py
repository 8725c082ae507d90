"""What the window and the commands share: the client source, and the commands' context."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kling_desktop.logs import setup_logging
from kling_desktop.paths import AppPaths, app_paths
from kling_desktop.settings import Settings

if TYPE_CHECKING:
    # The window imports this module before its first paint: requests/urllib3 (the client) and
    # keyring (the vault) load where they are first used.
    from kling_desktop.accounts.vault import Vault
    from kling_desktop.api.client import KlingClient


class ClientSource:
    """The service the runner talks to now: base URL and token, swapped when the token changes.

    The runner calls :meth:`factory` (from worker threads) for a client; ``None`` means
    "no token yet". A base URL breaking the https rule raises ``InsecureUrl`` there, which the
    runner turns into a sentence on the job.
    """

    def __init__(self, base_url: str, token: str | None, *, demo: bool = False) -> None:
        self.base_url = base_url
        self._token = token or None
        self.demo = demo

    @property
    def has_token(self) -> bool:
        return self._token is not None

    def set_token(self, token: str | None) -> None:
        self._token = token or None

    def factory(self) -> KlingClient | None:
        if self._token is None:
            return None
        from kling_desktop.api.client import KlingClient

        return KlingClient(self.base_url, self._token)

    def for_token(self, token: str) -> KlingClient:
        """A client for a token being tried out (the accounts pane's "Test")."""
        from kling_desktop.api.client import KlingClient

        return KlingClient(self.base_url, token)


@dataclass
class CommandContext:
    """Folders, settings, vault and client source for one headless command."""

    paths: AppPaths
    settings: Settings
    vault: Vault
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))

    @classmethod
    def load(cls, *, log: bool = True) -> CommandContext:
        from kling_desktop.accounts.vault import Vault

        paths = app_paths().ensure()
        if log:
            setup_logging(paths.log_file)
        return cls(paths=paths, settings=Settings.load(paths.settings_file), vault=Vault())

    @property
    def api_url(self) -> str:
        """The base URL in force; raises InsecureUrl for plain http to another host."""
        from kling_desktop.api.client import validate_base_url

        return validate_base_url(self.settings.effective_api_url(dict(self.env)))

    def token(self) -> str | None:
        return self.vault.token(env=self.env)

    def client_source(self) -> ClientSource:
        """Checks the URL first (raising InsecureUrl), then reads the token once."""
        return ClientSource(self.api_url, self.token())
