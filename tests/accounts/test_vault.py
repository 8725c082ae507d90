"""The keyring wrapper: precedence, profiles, errors, and never a plaintext fallback."""

from __future__ import annotations

import logging
from pathlib import Path

import keyring
import keyring.backends.fail
import keyring.backends.null
import keyring.errors
import pytest
from keyring.backend import KeyringBackend

from kling_desktop.accounts import InvalidToken, Vault, VaultUnavailable
from kling_desktop.logs import redact
from tests.fixtures.memkeyring import MemoryKeyring

TOKEN = "user:1234-abcdefGHIJ0123456789"


class LockedKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("collection is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.PasswordSetError("collection is locked")

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.PasswordDeleteError("collection is locked")


def test_default_backend_is_the_test_memory_keyring() -> None:
    vault = Vault()
    assert vault.available()
    assert vault.backend_name() == "in-memory test keyring"


def test_round_trip_per_profile() -> None:
    vault = Vault()
    assert vault.get_token() is None
    vault.set_token(f"  {TOKEN}\n")  # a paste brings whitespace along
    vault.set_token("user:99-other", profile="work")
    assert vault.get_token() == TOKEN
    assert vault.get_token("work") == "user:99-other"
    # A second instance (fresh backend lookup) sees the same store.
    assert Vault().get_token() == TOKEN
    vault.delete_token()
    vault.delete_token()  # idempotent
    assert vault.get_token() is None
    assert vault.get_token("work") == "user:99-other"
    assert set(MemoryKeyring.store) == {(Vault.SERVICE, "token:work")}


@pytest.mark.parametrize("bad", ["", "   ", "user:1 234", "a\tb"])
def test_set_token_rejects_non_tokens(bad: str) -> None:
    with pytest.raises(InvalidToken) as info:
        Vault().set_token(bad)
    assert "token" in str(info.value)
    assert MemoryKeyring.store == {}


def test_precedence_env_then_session_then_keyring() -> None:
    vault = Vault()
    assert vault.token(env={}) is None
    assert vault.token_and_source(env={}) == (None, "")
    vault.set_token(TOKEN)
    assert vault.token_and_source(env={}) == (TOKEN, "keyring")
    vault.set_session_token("user:2-session")
    assert vault.token_and_source(env={}) == ("user:2-session", "session")
    env = {"KLING_DESKTOP_TOKEN": "user:3-env "}
    assert vault.token_and_source(env=env) == ("user:3-env", "environment")
    vault.set_session_token(None)
    assert vault.token(env={}) == TOKEN


@pytest.mark.parametrize(
    "backend", [keyring.backends.fail.Keyring(), keyring.backends.null.Keyring()]
)
def test_no_secure_store_says_so_and_never_writes(
    backend: KeyringBackend, app_home: Path, tmp_path: Path
) -> None:
    vault = Vault(keyring_backend=backend)
    assert not vault.available()
    for call in (
        lambda: vault.set_token(TOKEN),
        lambda: vault.get_token(),
        lambda: vault.delete_token(),
    ):
        with pytest.raises(VaultUnavailable) as info:
            call()
        text = str(info.value)
        assert not info.value.locked
        assert text.startswith("No secure password store (keyring) is available")
        assert "for this run only" in text
        assert TOKEN not in text
    # token() never raises; the run-only token works with no store at all.
    assert vault.token(env={}) is None
    vault.set_session_token(TOKEN)
    assert vault.token(env={}) == TOKEN
    assert not any(TOKEN.encode() in p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())


def test_keyring_errors_become_vault_unavailable_and_are_logged_without_token(
    caplog: pytest.LogCaptureFixture,
) -> None:
    vault = Vault(keyring_backend=LockedKeyring())
    assert vault.available()
    with pytest.raises(VaultUnavailable) as info:
        vault.set_token(TOKEN)
    assert info.value.locked
    assert str(info.value).startswith("The password store (LockedKeyring) is locked")
    assert "for this run only" in str(info.value)
    with caplog.at_level(logging.DEBUG, logger="kling_desktop"):
        assert vault.token(env={}) is None
    assert "locked" in caplog.text
    assert TOKEN not in caplog.text


def test_plaintext_backends_are_never_used() -> None:
    class PlaintextKeyring(MemoryKeyring):
        pass

    PlaintextKeyring.__module__ = "keyrings.alt.file"
    vault = Vault(keyring_backend=PlaintextKeyring())
    assert not vault.available()
    with pytest.raises(VaultUnavailable):
        vault.set_token(TOKEN)
    assert MemoryKeyring.store == {}


def test_tokens_are_registered_for_redaction() -> None:
    token = "s3cr3t-token-without-the-usual-shape"
    Vault().set_token(token)
    assert token not in redact(f"header {token} end")
    session = "another-odd-token-value"
    Vault().set_session_token(session)
    assert session not in redact(session)


def test_lookup_is_lazy_and_remembered() -> None:
    vault = Vault()
    assert vault._backend is None  # constructing never touches the keyring
    vault.available()
    backend = vault._backend
    assert isinstance(backend, MemoryKeyring)
    vault.backend_name()
    assert vault._backend is backend
