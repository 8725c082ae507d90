"""The one wrapper around the ``keyring`` package: where the useapi.net token lives.

DESIGN §4.4: the token lives only in the OS keyring (or ``KLING_DESKTOP_TOKEN`` for headless
use, or in memory "for this run only"). It is never written to a file, and there is no plaintext
fallback: when no secure store exists, :class:`VaultUnavailable` says so and the caller offers
:meth:`Vault.set_session_token`.

Shaped after Maestral's ``keyring.py``: a lock, lazy backend lookup (resolving a backend may talk
to D-Bus, so it happens on first use, off the GUI thread), the backend remembered for the life
of the object, and every keyring error mapped to one exception with a user-facing ``str()``.

Every call here may block (D-Bus, Keychain prompts): GUI code calls it through
``kling_desktop.runner.worker.run_in_thread``.

Beware (as Maestral's docs say): once a Secret Service or KWallet collection is unlocked, any
program in the same desktop session can read its secrets.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Mapping

import keyring
import keyring.backend
import keyring.errors

from kling_desktop.logs import redact, register_secret

log = logging.getLogger(__name__)

TOKEN_ENV = "KLING_DESKTOP_TOKEN"
DEFAULT_PROFILE = "default"

_PROFILE_NAME = re.compile(r"^[\w.@-]{1,64}$")
# Keyring "usernames": one entry per profile.
_TOKEN_KEY = "token:{profile}"

# Backends that are not a secure store. keyrings.alt writes plaintext files: never used, even
# if something else installed it (environment-probe §5: it makes itself the default).
_INSECURE_MODULE_PREFIXES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")

_FRIENDLY_NAMES = {
    "keyring.backends.SecretService.Keyring": "Secret Service",
    "keyring.backends.libsecret.Keyring": "Secret Service",
    "keyring.backends.macOS.Keyring": "macOS Keychain",
    "keyring.backends.Windows.WinVaultKeyring": "Windows Credential Locker",
    "keyring.backends.kwallet.DBusKeyring": "KWallet",
    "keyring.backends.kwallet.DBusKeyringKWallet4": "KWallet",
    "keyring.backends.fail.Keyring": "no keyring",
    "keyring.backends.null.Keyring": "no keyring (disabled)",
    "tests.fixtures.memkeyring.MemoryKeyring": "in-memory test keyring",
}


class VaultUnavailable(Exception):
    """No usable secure store; ``str()`` is a sentence for the user, plus the backend's detail."""

    message = (
        "No secure password store (keyring) is available on this computer, so the token "
        "can't be saved. You can use it for this run only."
    )

    locked_message = (
        "The password store ({backend}) is locked, so the token can't be read or saved. "
        "Unlock it and try again, or use the token for this run only."
    )

    def __init__(self, detail: str = "", *, backend: str = "", locked: bool = False) -> None:
        super().__init__(detail)
        self.detail = redact(detail)
        self.backend = backend
        #: The store exists but is locked (unlocking it would help).
        self.locked = locked

    def __str__(self) -> str:
        if self.locked:
            text = self.locked_message.format(backend=self.backend or "keyring")
            return f"{text} ({self.detail})" if self.detail else text
        return f"{self.message} (Details: {self.detail})" if self.detail else self.message


class InvalidToken(ValueError):
    """The text given as a token cannot be one (empty or containing spaces)."""

    def __str__(self) -> str:
        return (
            "That doesn't look like a useapi.net API token: it is empty or contains spaces. "
            "Paste the whole token, for example user:1234-abcdef…"
        )


class InvalidProfile(ValueError):
    def __str__(self) -> str:
        return (
            "A profile name uses 1–64 letters, digits, dots, dashes, underscores or @, "
            "with no spaces."
        )


def _qualname(backend: keyring.backend.KeyringBackend) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__name__}"


def _chained(backend: keyring.backend.KeyringBackend) -> list[keyring.backend.KeyringBackend]:
    """The backends behind a chainer, or ``[backend]`` itself."""
    inner = getattr(backend, "backends", None)
    if _qualname(backend) == "keyring.backends.chainer.ChainerBackend" and inner is not None:
        return list(inner)
    return [backend]


def _is_secure(backend: keyring.backend.KeyringBackend) -> bool:
    return not _qualname(backend).startswith(_INSECURE_MODULE_PREFIXES)


def clean_token(token: str) -> str:
    """Strip the surrounding whitespace a paste brings along; raise if it can't be a token."""
    token = (token or "").strip()
    if not token or any(ch.isspace() for ch in token):
        raise InvalidToken()
    return token


def check_profile(profile: str) -> str:
    if not _PROFILE_NAME.match(profile or ""):
        raise InvalidProfile()
    return profile


class Vault:
    """The API token(s) in the OS keyring, under service :attr:`SERVICE`.

    Args:
        keyring_backend: a backend to use instead of ``keyring.get_keyring()`` (tests inject
            ``keyring.backends.fail.Keyring()`` or an in-memory one). Without it, the process'
            default backend is looked up on first use and remembered.
    """

    SERVICE = "kling-desktop"

    def __init__(self, *, keyring_backend: keyring.backend.KeyringBackend | None = None) -> None:
        self._lock = threading.RLock()
        self._backend = keyring_backend
        self._session_token: str | None = None

    # -- backend -------------------------------------------------------------------------------

    def _resolve(self) -> keyring.backend.KeyringBackend:
        with self._lock:
            if self._backend is None:
                self._backend = keyring.get_keyring()
                log.info("Keyring backend: %s", self._backend)
            return self._backend

    def backend_name(self) -> str:
        """Where a saved token goes, for people: "Secret Service", "macOS Keychain", …

        For a chain of backends that is the first secure one: the chainer writes to the
        highest-priority backend that accepts the secret.
        """
        chain = _chained(self._resolve())
        backend = next((b for b in chain if _is_secure(b)), chain[0] if chain else None)
        if backend is None:
            return "no keyring"
        return _FRIENDLY_NAMES.get(_qualname(backend), type(backend).__name__)

    def available(self) -> bool:
        """True when a secure store exists (not ``fail``/``null``/plaintext, not an empty chain)."""
        return any(_is_secure(b) for b in _chained(self._resolve()))

    def _unavailable(self, exc: BaseException | None = None) -> VaultUnavailable:
        if exc is None:  # nothing secure to use: name what keyring offered, for support
            detail = ", ".join(_qualname(b) for b in _chained(self._resolve())) or "none"
        else:
            detail = f"{type(exc).__name__}: {exc}"
        locked = isinstance(exc, keyring.errors.KeyringLocked) or "locked" in str(exc).lower()
        name = self.backend_name() if self.available() else ""
        return VaultUnavailable(detail, backend=name, locked=locked)

    def _secure_backend(self) -> keyring.backend.KeyringBackend:
        backend = self._resolve()
        if not self.available():
            raise self._unavailable()
        return backend

    def _get(self, key: str) -> str | None:
        with self._lock:
            backend = self._secure_backend()
            try:
                return backend.get_password(self.SERVICE, key)
            except Exception as exc:  # any backend failure (D-Bus, locked, …) is "unavailable"
                raise self._unavailable(exc) from exc

    def _set(self, key: str, value: str) -> None:
        with self._lock:
            backend = self._secure_backend()
            try:
                backend.set_password(self.SERVICE, key, value)
            except Exception as exc:
                raise self._unavailable(exc) from exc

    def _delete(self, key: str) -> None:
        with self._lock:
            backend = self._secure_backend()
            try:
                backend.delete_password(self.SERVICE, key)
            except keyring.errors.PasswordDeleteError as exc:
                # Deleting what isn't there is fine; anything else is a real failure.
                if self._get(key) is not None:
                    raise self._unavailable(exc) from exc
            except Exception as exc:
                raise self._unavailable(exc) from exc

    # -- tokens in the keyring -----------------------------------------------------------------

    def get_token(self, profile: str = DEFAULT_PROFILE) -> str | None:
        """The token saved for ``profile``, or None. Raises :class:`VaultUnavailable`."""
        token = self._get(_TOKEN_KEY.format(profile=check_profile(profile)))
        if token:
            register_secret(token)
        return token or None

    def set_token(self, token: str, profile: str = DEFAULT_PROFILE) -> None:
        """Save ``token`` for ``profile``.

        Raises:
            InvalidToken: empty or with spaces inside.
            VaultUnavailable: no secure store, or it failed.
        """
        token = clean_token(token)
        register_secret(token)
        check_profile(profile)
        self._set(_TOKEN_KEY.format(profile=profile), token)
        log.info("Saved the API token for profile %r in %s", profile, self.backend_name())

    def delete_token(self, profile: str = DEFAULT_PROFILE) -> None:
        """Forget the saved token of ``profile`` (no error if there was none)."""
        check_profile(profile)
        self._delete(_TOKEN_KEY.format(profile=profile))
        log.info("Removed the API token for profile %r from %s", profile, self.backend_name())

    # -- the token in use ----------------------------------------------------------------------

    def set_session_token(self, token: str | None) -> None:
        """Use ``token`` for this run only: kept in memory, never written anywhere."""
        with self._lock:
            if token is None:
                self._session_token = None
                return
            token = clean_token(token)
            register_secret(token)
            self._session_token = token

    @property
    def session_token_set(self) -> bool:
        return self._session_token is not None

    def token(
        self, profile: str = DEFAULT_PROFILE, env: Mapping[str, str] = os.environ
    ) -> str | None:
        """The token to use: ``KLING_DESKTOP_TOKEN``, else the run-only token, else the keyring.

        Never raises for a keyring problem: it is logged (without the token) and None returned.
        """
        return self.token_and_source(profile, env)[0]

    def token_and_source(
        self, profile: str = DEFAULT_PROFILE, env: Mapping[str, str] = os.environ
    ) -> tuple[str | None, str]:
        """Like :meth:`token`, also saying where it came from.

        The source is ``"environment"``, ``"session"``, ``"keyring"`` or ``""`` (no token).
        """
        from_env = (env.get(TOKEN_ENV) or "").strip()
        if from_env:
            register_secret(from_env)
            return from_env, "environment"
        with self._lock:
            if self._session_token is not None:
                return self._session_token, "session"
        try:
            saved = self.get_token(profile)
        except (VaultUnavailable, InvalidProfile) as exc:
            # No keyring at all is a known state (the user was told); a failing one is not.
            level = logging.WARNING if self.available() else logging.INFO
            log.log(level, "Could not read the API token from the keyring: %s", exc)
            return None, ""
        return (saved, "keyring") if saved else (None, "")
