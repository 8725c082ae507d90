"""Accounts pane: token to the keyring (and nowhere else), accounts against the simulator."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import keyring.backends.fail
import pytest
from PySide6.QtWidgets import QDialogButtonBox, QMessageBox
from pytestqt.qtbot import QtBot

from kling_desktop.accounts import Vault
from kling_desktop.api.client import KlingClient
from kling_desktop.gui.account_forms import NO_GMAIL_NOTE, format_expiry
from kling_desktop.gui.accounts_pane import AccountsPane
from kling_desktop.logs import setup_logging
from kling_desktop.paths import app_paths
from kling_desktop.settings import Settings
from kling_desktop.simulator import DEMO_TOKEN, Simulator
from tests.fixtures.memkeyring import MemoryKeyring

DEMO_EMAIL = "demo@example.com"


@pytest.fixture
def client_for(simulator: Simulator) -> Callable[[str], KlingClient]:
    def make(token: str) -> KlingClient:
        return KlingClient(simulator.url, token, timeout=10.0, retries=0, backoff_s=0.01)

    return make


@pytest.fixture
def app_log() -> Iterator[Path]:
    """The app's real log file in the test's KLING_DESKTOP_HOME, removed afterwards."""
    log_file = app_paths().log_file
    setup_logging(log_file, logging.DEBUG)
    yield log_file
    root = logging.getLogger("kling_desktop")
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()


def make_pane(
    qtbot: QtBot,
    vault: Vault,
    client_for: Callable[[str], KlingClient],
    settings: Settings | None = None,
) -> AccountsPane:
    pane = AccountsPane(vault, settings or Settings(), client_for)
    qtbot.addWidget(pane)
    pane.show()
    idle(qtbot, pane)
    return pane


def idle(qtbot: QtBot, pane: AccountsPane) -> None:
    qtbot.waitUntil(lambda: not pane.busy, timeout=10_000)


def emails(pane: AccountsPane) -> list[str]:
    return [
        pane.table.item(row, AccountsPane.COL_EMAIL).text() for row in range(pane.table.rowCount())
    ]


def files_containing(folder: Path, secret: str) -> list[Path]:
    needle = secret.encode()
    return [p for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


def test_format_expiry() -> None:
    assert format_expiry("") == "—"
    assert format_expiry("not a date") == "not a date"
    assert format_expiry("2025-01-01T12:13:14.000Z").startswith("2025-01-01")


def test_save_token_goes_to_the_keyring_and_no_file(
    qtbot: QtBot, app_home: Path, app_log: Path, client_for: Callable[[str], KlingClient]
) -> None:
    vault = Vault()
    settings = Settings()
    pane = make_pane(qtbot, vault, client_for, settings)
    assert pane.store_label.text() == "Stored in: in-memory test keyring"
    assert not pane.save_button.isEnabled()  # nothing typed yet

    pane.token_edit.setText(f" {DEMO_TOKEN}\n")
    with qtbot.waitSignal(pane.token_changed, timeout=10_000):
        pane.save_button.click()
    idle(qtbot, pane)
    assert MemoryKeyring.store[(Vault.SERVICE, "token:default")] == DEMO_TOKEN
    assert pane.token_edit.text() == ""  # never shown back
    assert "saved" in pane.source_label.text()
    # Saving lists the accounts behind the token.
    qtbot.waitUntil(lambda: emails(pane) == [DEMO_EMAIL], timeout=10_000)
    idle(qtbot, pane)

    # Write everything the pane writes (settings) and some logging; then grep every file.
    pane.select_account(DEMO_EMAIL)
    with qtbot.waitSignal(pane.default_account_changed, timeout=5000) as blocker:
        pane.default_button.click()
    assert blocker.args == [DEMO_EMAIL]
    idle(qtbot, pane)
    assert Settings.load(app_paths().settings_file).default_email == DEMO_EMAIL
    logging.getLogger("kling_desktop.test").info("token in a log line: %s", DEMO_TOKEN)
    for handler in logging.getLogger("kling_desktop").handlers:
        handler.flush()
    written = [p for p in app_home.rglob("*") if p.is_file()]
    assert app_log in written and app_paths().settings_file in written
    assert files_containing(app_home, DEMO_TOKEN) == []
    assert files_containing(app_home, DEMO_TOKEN.split("-", 1)[1]) == []


def test_test_lists_accounts_with_balance(
    qtbot: QtBot, client_for: Callable[[str], KlingClient]
) -> None:
    pane = make_pane(qtbot, Vault(), client_for)
    assert pane.table.rowCount() == 0
    assert not pane.add_button.isEnabled()
    pane.token_edit.setText(DEMO_TOKEN)
    pane.test_button.click()
    qtbot.waitUntil(lambda: emails(pane) == [DEMO_EMAIL], timeout=10_000)
    idle(qtbot, pane)
    assert "The token works: 1 Kling account" in pane.message_label.text()
    assert pane.table.item(0, AccountsPane.COL_MAX_JOBS).text() == "3"
    credits = pane.table.item(0, AccountsPane.COL_CREDITS)
    assert credits.text().replace(",", "").isdigit()
    assert "units" in credits.toolTip()
    assert pane.table.item(0, AccountsPane.COL_EXPIRY).text()[:2] == "20"
    # Testing stores nothing.
    assert MemoryKeyring.store == {}


def test_bad_token_shows_the_errors_sentence(
    qtbot: QtBot, client_for: Callable[[str], KlingClient]
) -> None:
    pane = make_pane(qtbot, Vault(), client_for)
    pane.token_edit.setText("user:1-not-the-token")
    pane.test_button.click()
    idle(qtbot, pane)
    qtbot.waitUntil(lambda: "did not accept the API token" in pane.message_label.text())
    assert pane.table.rowCount() == 0
    pane.token_edit.setText("user:1 has spaces")
    pane.test_button.click()
    assert "doesn't look like a useapi.net API token" in pane.message_label.text()


def test_add_and_remove_an_account(
    qtbot: QtBot, simulator: Simulator, client_for: Callable[[str], KlingClient]
) -> None:
    vault = Vault()
    vault.set_token(DEMO_TOKEN)
    pane = make_pane(qtbot, vault, client_for)
    qtbot.waitUntil(lambda: emails(pane) == [DEMO_EMAIL], timeout=10_000)
    idle(qtbot, pane)

    # A refused password shows the service's sentence, adds nothing.
    pane.add_button.click()
    dialog = pane.add_dialog
    assert dialog is not None and NO_GMAIL_NOTE in " ".join(
        label.text() for label in dialog.findChildren(type(pane.message_label))
    )
    ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
    assert not ok.isEnabled()
    dialog.email.setText("second@example.com")
    dialog.password.setText("wrong-password")
    dialog.max_jobs.setValue(5)
    ok.click()
    idle(qtbot, pane)
    qtbot.waitUntil(lambda: "password is incorrect" in pane.message_label.text())
    assert emails(pane) == [DEMO_EMAIL]

    pane.add_button.click()
    dialog = pane.add_dialog
    assert dialog is not None
    dialog.email.setText("second@example.com")
    dialog.password.setText("s3cret-kling-pw")
    dialog.max_jobs.setValue(60)  # clamped to the documented 1–50
    assert dialog.max_jobs.value() == 50
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert dialog.password.text() == ""  # dropped at once
    qtbot.waitUntil(lambda: "second@example.com" in emails(pane), timeout=10_000)
    idle(qtbot, pane)
    row = emails(pane).index("second@example.com")
    assert pane.table.item(row, AccountsPane.COL_MAX_JOBS).text() == "50"
    assert "s3cret-kling-pw" not in str(MemoryKeyring.store)

    # Remove asks first; Cancel keeps it.
    assert pane.select_account("second@example.com")
    pane.remove_account_button.click()
    box = pane.confirm_box
    assert box is not None and "second@example.com" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    idle(qtbot, pane)
    assert "second@example.com" in emails(pane)
    pane.remove_account_button.click()
    box = pane.confirm_box
    assert box is not None
    box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: emails(pane) == [DEMO_EMAIL], timeout=10_000)
    idle(qtbot, pane)
    assert "was removed" in pane.message_label.text()


def test_no_keyring_says_so_and_run_only_writes_nothing(
    qtbot: QtBot, app_home: Path, client_for: Callable[[str], KlingClient]
) -> None:
    vault = Vault(keyring_backend=keyring.backends.fail.Keyring())
    pane = make_pane(qtbot, vault, client_for)
    assert pane.store_label.text().startswith(
        "No secure password store (keyring) is available on this computer"
    )
    assert "for this run only" in pane.store_label.text()
    assert pane.session_button.isVisible()
    pane.token_edit.setText(DEMO_TOKEN)
    assert not pane.save_button.isEnabled()
    assert pane.session_button.isEnabled()
    with qtbot.waitSignal(pane.token_changed, timeout=5000):
        pane.session_button.click()
    idle(qtbot, pane)
    assert vault.token(env={}) == DEMO_TOKEN
    assert "for this run only" in pane.source_label.text()
    qtbot.waitUntil(lambda: emails(pane) == [DEMO_EMAIL], timeout=10_000)
    idle(qtbot, pane)
    assert MemoryKeyring.store == {}
    assert files_containing(app_home, DEMO_TOKEN) == []

    # Remove forgets the run-only token too.
    with qtbot.waitSignal(pane.token_changed, timeout=5000):
        pane.remove_button.click()
    idle(qtbot, pane)
    assert vault.token(env={}) is None
    assert pane.table.rowCount() == 0


def test_environment_token_is_explained(
    qtbot: QtBot, monkeypatch: pytest.MonkeyPatch, client_for: Callable[[str], KlingClient]
) -> None:
    monkeypatch.setenv("KLING_DESKTOP_TOKEN", DEMO_TOKEN)
    pane = make_pane(qtbot, Vault(), client_for)
    assert "KLING_DESKTOP_TOKEN" in pane.source_label.text()
    qtbot.waitUntil(lambda: emails(pane) == [DEMO_EMAIL], timeout=10_000)
    idle(qtbot, pane)
