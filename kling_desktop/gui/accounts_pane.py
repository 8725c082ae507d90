"""Accounts pane: the useapi.net token (in the OS keyring) and the Kling accounts behind it.

The pane lays out and wires; every keyring or network call runs through ``run_in_thread`` (the
GUI thread never waits on D-Bus, a Keychain prompt or the network). The token is never shown
back, never logged and never written to a file: it goes to the :class:`Vault` (the keyring) or,
when there is no keyring, is used for this run only (DESIGN §4.4). Kling account passwords are
sent once to useapi.net and dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kling_desktop.accounts.vault import (
    DEFAULT_PROFILE,
    InvalidToken,
    Vault,
    VaultUnavailable,
    clean_token,
)
from kling_desktop.api.client import KlingClient
from kling_desktop.api.models import Account
from kling_desktop.gui.account_forms import (
    AddAccountDialog,
    technical_details,
    user_message,
)
from kling_desktop.gui.account_table import AccountTable
from kling_desktop.gui.account_work import AccountsWork
from kling_desktop.gui.settings_saver import SettingsSaver
from kling_desktop.gui.token_box import TokenBox, source_text
from kling_desktop.paths import app_paths
from kling_desktop.runner.worker import run_in_thread
from kling_desktop.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")


class AccountsPane(QWidget):
    """Token on the keyring, and the Kling accounts it gives access to.

    Args:
        vault: where the token lives.
        settings: the app's settings; the default account is saved into them.
        client_for_token: builds a client for a token (the pane closes it after each use).
        profile: which saved token this pane edits.
    """

    #: The token changed: "saved" (in the keyring), "session" (for this run only, nothing
    #: written) or "removed".
    token_changed = Signal(str)
    default_account_changed = Signal(str)
    #: Emitted after each background operation ends (tests and the window may wait on it).

    COL_DEFAULT, COL_EMAIL, COL_MAX_JOBS, COL_EXPIRY, COL_CREDITS = (
        AccountTable.COL_DEFAULT,
        AccountTable.COL_EMAIL,
        AccountTable.COL_MAX_JOBS,
        AccountTable.COL_EXPIRY,
        AccountTable.COL_CREDITS,
    )

    def __init__(
        self,
        vault: Vault,
        settings: Settings,
        client_for_token: Callable[[str], KlingClient],
        parent: QWidget | None = None,
        *,
        profile: str = DEFAULT_PROFILE,
        saver: SettingsSaver | None = None,
    ) -> None:
        super().__init__(parent)
        self._vault = vault
        self._settings = settings
        #: Writes the settings (the window's, or one for the user's settings file).
        self._saver = saver or SettingsSaver(settings, app_paths().settings_file, self)
        self._client_for_token = client_for_token
        self._profile = profile
        self._busy = 0
        self._keyring_ok: bool | None = None  # unknown until the first background check
        self._backend_name = ""
        self._token: str | None = None  # the token the account table belongs to
        self.work = AccountsWork(self)
        self._build()
        self._wire()
        self.reload()

    # -- layout --------------------------------------------------------------------------------

    def _build(self) -> None:
        token_box = TokenBox(self)
        # The token's controls, by the names the pane and its tests use.
        self.token_edit = token_box.token_edit
        self.show_button = token_box.show_button
        self.paste_button = token_box.paste_button
        self.save_button = token_box.save_button
        self.test_button = token_box.test_button
        self.remove_button = token_box.remove_button
        self.session_button = token_box.session_button
        self.store_label = token_box.store_label
        self.source_label = token_box.source_label
        self.message_label = QLabel(self)
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label.setAccessibleName(self.tr("Message"))

        accounts_box = QGroupBox(self.tr("Kling accounts"), self)
        self.table = AccountTable(accounts_box)

        self.refresh_button = QPushButton(self.tr("Refresh"), accounts_box)
        self.add_button = QPushButton(self.tr("Add account…"), accounts_box)
        self.remove_account_button = QPushButton(self.tr("Remove account…"), accounts_box)
        self.default_button = QPushButton(self.tr("Make default"), accounts_box)
        self.default_button.setToolTip(self.tr("New jobs use this account unless you pick another"))
        accounts_buttons = QHBoxLayout()
        for button in (
            self.refresh_button,
            self.add_button,
            self.remove_account_button,
            self.default_button,
        ):
            accounts_buttons.addWidget(button)
        accounts_buttons.addStretch(1)
        accounts_layout = QVBoxLayout(accounts_box)
        accounts_layout.addWidget(self.table, 1)
        accounts_layout.addLayout(accounts_buttons)

        layout = QVBoxLayout(self)
        layout.addWidget(token_box)
        layout.addWidget(self.message_label)
        layout.addWidget(accounts_box, 1)

    def _wire(self) -> None:
        self.save_button.clicked.connect(self.save_token)
        self.test_button.clicked.connect(self.test_token)
        self.remove_button.clicked.connect(self.remove_token)
        self.session_button.clicked.connect(self.use_for_this_run)
        self.token_edit.textChanged.connect(self._update_buttons)
        self.token_edit.returnPressed.connect(self.test_token)
        self.refresh_button.clicked.connect(self.refresh_accounts)
        self.add_button.clicked.connect(self.open_add_account)
        self.remove_account_button.clicked.connect(self.confirm_remove_account)
        self.default_button.clicked.connect(self.make_selected_default)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(lambda _item: self.make_selected_default())

    # -- state ---------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._busy > 0

    @property
    def accounts(self) -> list[Account]:
        return list(self.work.accounts)

    @property
    def token(self) -> str | None:
        """The token the account table belongs to."""
        return self._token

    @property
    def settings(self) -> Settings:
        return self._settings

    @property
    def saver(self) -> SettingsSaver:
        return self._saver

    def client_for_token(self, token: str) -> KlingClient:
        return self._client_for_token(token)

    def run(
        self,
        fn: Callable[[], T],
        on_result: Callable[[T], None],
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self._run(fn, on_result, on_error)

    def set_busy(self, delta: int) -> None:
        self._set_busy(delta)

    def update_buttons(self) -> None:
        self._update_buttons()

    def say(self, text: str) -> None:
        self._say(text)

    def show_error(self, exc: BaseException) -> None:
        self._show_error(exc)

    def _run(
        self,
        fn: Callable[[], T],
        on_result: Callable[[T], None],
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        """Run ``fn`` off the GUI thread; the callbacks run here only if the pane still exists."""
        self._set_busy(+1)

        def done(result: Any) -> None:
            if shiboken6.isValid(self):
                try:
                    on_result(result)
                finally:
                    self._set_busy(-1)

        def failed(exc: BaseException) -> None:
            log.info("Accounts pane: %s (%s)", user_message(exc), technical_details(exc))
            if shiboken6.isValid(self):
                try:
                    (on_error or self._show_error)(exc)
                finally:
                    self._set_busy(-1)

        run_in_thread(fn, done, failed, owner=self)

    def _set_busy(self, delta: int) -> None:
        self._busy = max(0, self._busy + delta)
        self._update_buttons()

    def _update_buttons(self) -> None:
        typed = bool(self.token_edit.text().strip())
        idle = not self.busy
        keyring_ok = self._keyring_ok is True
        self.save_button.setEnabled(idle and typed and keyring_ok)
        self.session_button.setVisible(self._keyring_ok is False)
        self.session_button.setEnabled(idle and typed)
        self.test_button.setEnabled(idle and (typed or self._token is not None))
        self.remove_button.setEnabled(idle and (keyring_ok or self._vault.session_token_set))
        have_token = self._token is not None
        selected = self._selected_email() is not None
        self.refresh_button.setEnabled(idle and have_token)
        self.add_button.setEnabled(idle and have_token)
        self.remove_account_button.setEnabled(idle and have_token and selected)
        self.default_button.setEnabled(idle and selected)

    def _say(self, text: str) -> None:
        self.message_label.setText(text)

    def _show_error(self, exc: BaseException) -> None:
        self._say(user_message(exc))

    def _typed_token(self) -> str | None:
        """The cleaned token in the field, or None (showing why) when it can't be one."""
        try:
            return clean_token(self.token_edit.text())
        except InvalidToken as exc:
            self._say(str(exc))
            return None

    # -- token ---------------------------------------------------------------------------------

    @Slot()
    def reload(self) -> None:
        """Re-read where the token is and list the accounts behind it (in the background)."""
        vault, profile = self._vault, self._profile

        def look() -> tuple[bool, str, str, str | None, str]:
            available = vault.available()
            name = vault.backend_name()
            problem = ""
            if available:
                try:
                    vault.get_token(profile)
                except VaultUnavailable as exc:
                    available, problem = False, str(exc)
            token, source = vault.token_and_source(profile)
            return available, name, problem, token, source

        self._run(look, self._on_reloaded)

    def _on_reloaded(self, state: tuple[bool, str, str, str | None, str]) -> None:
        available, name, problem, token, source = state
        self._keyring_ok, self._backend_name = available, name
        if available:
            self.store_label.setText(self.tr("Stored in: {name}").format(name=name))
        else:
            self.store_label.setText(problem or str(VaultUnavailable(backend=name)))
        self.source_label.setText(source_text(source))
        self._token = token
        self._update_buttons()
        if token is not None:
            self.refresh_accounts()
        else:
            self._fill_table([])

    @Slot()
    def save_token(self) -> None:
        """Save the typed token in the keyring."""
        token = self._typed_token()
        if token is None:
            return
        vault, profile = self._vault, self._profile
        self._say(self.tr("Saving…"))

        def saved(_: None) -> None:
            self.token_edit.clear()
            self._say(self.tr("Token saved in {name}.").format(name=self._backend_name))
            self.token_changed.emit("saved")
            self.reload()

        def failed(exc: BaseException) -> None:
            self._show_error(exc)
            if isinstance(exc, VaultUnavailable):
                self._keyring_ok = False
                self.store_label.setText(str(exc))
                self._update_buttons()

        self._run(lambda: vault.set_token(token, profile), saved, failed)

    @Slot()
    def use_for_this_run(self) -> None:
        """No keyring: keep the typed token in memory for this run only (never written)."""
        token = self._typed_token()
        if token is None:
            return
        self._vault.set_session_token(token)
        self.token_edit.clear()
        self._say(self.tr("The token will be used until the app closes. Nothing was written."))
        self.token_changed.emit("session")
        self.reload()

    @Slot()
    def test_token(self) -> None:
        """List the accounts behind the typed token (or the current one) — ``GET /accounts``."""
        token = self._typed_token() if self.token_edit.text().strip() else self._token
        if token is None:
            return
        self._say(self.tr("Asking useapi.net…"))

        def shown(accounts: list[Account]) -> None:
            self._token = token
            self._accounts_listed(accounts)
            if self.token_edit.text().strip():
                hint = (
                    self.tr("Save it to keep it.")
                    if self._keyring_ok
                    else self.tr("Use it for this run only to keep it until you quit.")
                )
            else:
                hint = ""
            works = self.tr("The token works: %n Kling account(s).", "", len(accounts))
            self._say(f"{works} {hint}".strip())

        self._run(lambda: self._with_client(token, lambda c: c.list_accounts()), shown)

    @Slot()
    def remove_token(self) -> None:
        """Forget the saved token (and a run-only one)."""
        vault, profile = self._vault, self._profile
        vault.set_session_token(None)
        keyring_ok = self._keyring_ok

        def forget() -> None:
            if keyring_ok:
                vault.delete_token(profile)

        def removed(_: None) -> None:
            self._say(self.tr("The token was removed."))
            self._token = None
            self.token_changed.emit("removed")
            self.reload()

        self._run(forget, removed)

    # -- accounts (the work is in account_work.py) ---------------------------------------------

    @property
    def add_dialog(self) -> AddAccountDialog | None:
        return self.work.add_dialog

    @property
    def confirm_box(self) -> QMessageBox | None:
        return self.work.confirm_box

    def _selected_email(self) -> str | None:
        return self.table.selected_email()

    def select_account(self, email: str) -> bool:
        return self.table.select_account(email)

    def refresh_accounts(self) -> None:
        self.work.refresh_accounts()

    def _accounts_listed(self, accounts: list[Account]) -> None:
        self.work._accounts_listed(accounts)

    def _fill_table(self, accounts: list[Account]) -> None:
        self.work._fill_table(accounts)

    def _with_client(self, token: str, call: Callable[[KlingClient], T]) -> T:
        return self.work._with_client(token, call)

    def make_selected_default(self) -> None:
        self.work.make_selected_default()

    def set_default_account(self, email: str) -> None:
        self.work.set_default_account(email)

    def open_add_account(self) -> None:
        self.work.open_add_account()

    def confirm_remove_account(self) -> None:
        self.work.confirm_remove_account()

    def remove_account(self, email: str) -> None:
        self.work.remove_account(email)
