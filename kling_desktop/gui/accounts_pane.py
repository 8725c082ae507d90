"""Accounts pane: the useapi.net token (in the OS keyring) and the Kling accounts behind it.

The pane lays out and wires; every keyring or network call runs through ``run_in_thread`` (the
GUI thread never waits on D-Bus, a Keychain prompt or the network). The token is never shown
back, never logged and never written to a file: it goes to the :class:`Vault` (the keyring) or,
when there is no keyring, is used for this run only (DESIGN §4.4). Kling account passwords are
sent once to useapi.net and dropped.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import shiboken6
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from kling_desktop.accounts.vault import (
    DEFAULT_PROFILE,
    TOKEN_ENV,
    InvalidProfile,
    InvalidToken,
    Vault,
    VaultUnavailable,
    clean_token,
)
from kling_desktop.api.client import KlingClient
from kling_desktop.api.errors import AccountError, ApiError, BadRequest, Unauthorized
from kling_desktop.api.models import Account
from kling_desktop.logs import redact
from kling_desktop.paths import app_paths
from kling_desktop.runner.worker import run_in_thread
from kling_desktop.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_JOBS_RANGE = (1, 50)
NO_GMAIL_NOTE = (
    "Gmail and Apple sign-ins are not supported by useapi.net — use an email/password Kling "
    "account, ideally one just for the API."
)


#: Inside this pane, what to do next is here: the errors' own "Open Accounts…" advice is not.
_PANE_HINTS: dict[type[ApiError], str] = {
    Unauthorized: "Check that you pasted the whole token, including “user:” at the start.",
    AccountError: "Remove the account and add it again: its Kling session may have expired.",
}


def user_message(exc: BaseException) -> str:
    """The sentence to show for a failure (our errors are already user sentences)."""
    if isinstance(exc, ApiError):
        hint = next((h for kind, h in _PANE_HINTS.items() if isinstance(exc, kind)), None)
        if hint is None:
            return str(exc)
        said = (
            f" The service said: “{exc.server_text}”."
            if exc.server_text and not exc.local and exc.server_text not in exc.summary
            else ""
        )
        return redact(f"{exc.summary}{said} {hint}")
    if isinstance(exc, VaultUnavailable | InvalidToken | InvalidProfile):
        return str(exc)
    return redact(f"Something went wrong: {exc}")


def technical_details(exc: BaseException) -> str:
    """What a sentence leaves out (the request, the status), for the log and "Details"."""
    if isinstance(exc, ApiError):
        return exc.details
    return redact(f"{type(exc).__name__}: {exc}")


def format_expiry(utc_text: str) -> str:
    """``2025-01-01T12:13:14.000Z`` → local ``2025-01-01 13:13``; unknown text as given."""
    if not utc_text:
        return "—"
    try:
        when = datetime.fromisoformat(utc_text.replace("Z", "+00:00"))
    except ValueError:
        return utc_text
    if when.tzinfo is not None:
        when = when.astimezone()
    return when.strftime("%Y-%m-%d %H:%M")


class AddAccountDialog(QDialog):
    """Email, password (masked) and ``maxJobs`` for ``POST /accounts``. Nothing is stored."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Add a Kling account"))
        self.email = QLineEdit(self)
        self.email.setPlaceholderText("name@example.com")
        self.email.setAccessibleName(self.tr("Kling account email"))
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName(self.tr("Kling account password"))
        self.max_jobs = QSpinBox(self)
        self.max_jobs.setRange(*MAX_JOBS_RANGE)
        self.max_jobs.setValue(1)
        self.max_jobs.setAccessibleName(self.tr("Maximum jobs at once"))
        self.max_jobs.setToolTip(
            self.tr("How many jobs useapi.net may run at once on this account (1–50).")
        )
        note = QLabel(
            self.tr(
                "useapi.net signs in to Kling with this email and password to check them. "
                "The password is sent once and never stored on this computer."
            )
            + "\n\n"
            + self.tr(NO_GMAIL_NOTE),
            self,
        )
        note.setWordWrap(True)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText(self.tr("Add account"))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow(self.tr("Email"), self.email)
        form.addRow(self.tr("Password"), self.password)
        form.addRow(self.tr("Max jobs at once"), self.max_jobs)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(self.buttons)
        self.email.textChanged.connect(self._validate)
        self.password.textChanged.connect(self._validate)
        self._validate()

    def _validate(self) -> None:
        email = self.email.text().strip()
        ok = "@" in email and " " not in email and bool(self.password.text())
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)

    def values(self) -> tuple[str, str, int]:
        return self.email.text().strip(), self.password.text(), self.max_jobs.value()

    def forget_password(self) -> None:
        self.password.clear()


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

    COL_DEFAULT, COL_EMAIL, COL_MAX_JOBS, COL_EXPIRY, COL_CREDITS = range(5)

    def __init__(
        self,
        vault: Vault,
        settings: Settings,
        client_for_token: Callable[[str], KlingClient],
        parent: QWidget | None = None,
        *,
        profile: str = DEFAULT_PROFILE,
    ) -> None:
        super().__init__(parent)
        self._vault = vault
        self._settings = settings
        self._client_for_token = client_for_token
        self._profile = profile
        self._busy = 0
        self._keyring_ok: bool | None = None  # unknown until the first background check
        self._backend_name = ""
        self._token: str | None = None  # the token the account table belongs to
        self._accounts: list[Account] = []
        self.add_dialog: AddAccountDialog | None = None
        self.confirm_box: QMessageBox | None = None
        self._build()
        self._wire()
        self.reload()

    # -- layout --------------------------------------------------------------------------------

    def _build(self) -> None:
        token_box = QGroupBox(self.tr("useapi.net API token"), self)
        self.token_edit = QLineEdit(token_box)
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setPlaceholderText(self.tr("Paste your token (user:1234-…)"))
        self.token_edit.setAccessibleName(self.tr("API token"))
        self.token_edit.setClearButtonEnabled(True)
        self.show_button = QToolButton(token_box)
        self.show_button.setText(self.tr("Show"))
        self.show_button.setCheckable(True)
        self.show_button.setAccessibleName(self.tr("Show the token"))
        self.paste_button = QToolButton(token_box)
        self.paste_button.setText(self.tr("Paste"))
        self.paste_button.setAccessibleName(self.tr("Paste the token"))

        self.save_button = QPushButton(self.tr("Save"), token_box)
        self.save_button.setToolTip(self.tr("Save the token in the system keyring"))
        self.test_button = QPushButton(self.tr("Test"), token_box)
        self.test_button.setToolTip(self.tr("Ask useapi.net which Kling accounts it gives"))
        self.remove_button = QPushButton(self.tr("Remove"), token_box)
        self.remove_button.setToolTip(self.tr("Forget the saved token"))
        self.session_button = QPushButton(self.tr("Use for this run only"), token_box)
        self.session_button.setToolTip(
            self.tr("Keep the token in memory until the app closes; nothing is written")
        )
        self.session_button.setVisible(False)

        self.store_label = QLabel(token_box)
        self.store_label.setWordWrap(True)
        self.store_label.setAccessibleName(self.tr("Where the token is stored"))
        self.source_label = QLabel(token_box)
        self.source_label.setWordWrap(True)
        self.message_label = QLabel(self)
        self.message_label.setWordWrap(True)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label.setAccessibleName(self.tr("Message"))

        field_row = QHBoxLayout()
        field_row.addWidget(self.token_edit, 1)
        field_row.addWidget(self.show_button)
        field_row.addWidget(self.paste_button)
        button_row = QHBoxLayout()
        for button in (
            self.save_button,
            self.session_button,
            self.test_button,
            self.remove_button,
        ):
            button_row.addWidget(button)
        button_row.addStretch(1)
        token_layout = QVBoxLayout(token_box)
        token_layout.addLayout(field_row)
        token_layout.addLayout(button_row)
        token_layout.addWidget(self.store_label)
        token_layout.addWidget(self.source_label)

        accounts_box = QGroupBox(self.tr("Kling accounts"), self)
        self.table = QTableWidget(0, 5, accounts_box)
        self.table.setHorizontalHeaderLabels(
            [
                self.tr("Default"),
                self.tr("Email"),
                self.tr("Max jobs"),
                self.tr("Session expires"),
                self.tr("Credits (as reported)"),
            ]
        )
        self.table.setAccessibleName(self.tr("Kling accounts"))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(self.COL_EMAIL, QHeaderView.ResizeMode.Stretch)
        for col in (self.COL_DEFAULT, self.COL_MAX_JOBS, self.COL_EXPIRY, self.COL_CREDITS):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)

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
        self.show_button.toggled.connect(self._on_show_toggled)
        self.paste_button.clicked.connect(self._paste)
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
        return list(self._accounts)

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

        run_in_thread(fn, done, failed)

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
        self.source_label.setText(self._source_text(source))
        self._token = token
        self._update_buttons()
        if token is not None:
            self.refresh_accounts()
        else:
            self._fill_table([])

    def _source_text(self, source: str) -> str:
        if source == "environment":
            return self.tr(
                "Using the token from the {env} environment variable; it wins over a saved one."
            ).format(env=TOKEN_ENV)
        if source == "session":
            return self.tr("Using a token for this run only; it is forgotten when the app closes.")
        if source == "keyring":
            return self.tr("A token is saved. Paste a new one to replace it.")
        return self.tr("No token yet. Paste the token from your useapi.net account page.")

    @Slot(bool)
    def _on_show_toggled(self, shown: bool) -> None:
        self.token_edit.setEchoMode(
            QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password
        )
        self.show_button.setText(self.tr("Hide") if shown else self.tr("Show"))

    @Slot()
    def _paste(self) -> None:
        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            self.token_edit.setText(clipboard.text().strip())

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

    # -- accounts ------------------------------------------------------------------------------

    def _with_client(self, token: str, call: Callable[[KlingClient], T]) -> T:
        """Runs on a pool thread: build a client for ``token``, use it once, close it."""
        client = self._client_for_token(token)
        try:
            return call(client)
        finally:
            client.close()

    @Slot()
    def refresh_accounts(self) -> None:
        """``GET /accounts`` with the current token, then each account's balance."""
        token = self._token
        if token is None:
            return
        self._run(
            lambda: self._with_client(token, lambda c: c.list_accounts()),
            self._accounts_listed,
        )

    def _accounts_listed(self, accounts: list[Account]) -> None:
        self._fill_table(accounts)
        token = self._token
        if token is None:
            return
        for account in accounts:
            self._fetch_balance(token, account.email)

    def _fetch_balance(self, token: str, email: str) -> None:
        """``GET /accounts/{email}`` for the credit balance column."""
        self._run(
            lambda: self._with_client(token, lambda c: c.get_account(email)),
            self._balance_arrived,
            lambda exc: self._balance_failed(email, exc),
        )

    def _fill_table(self, accounts: list[Account]) -> None:
        selected = self._selected_email()
        self._accounts = list(accounts)
        self.table.setRowCount(len(accounts))
        for row, account in enumerate(accounts):
            mark = QTableWidgetItem("★" if account.email == self._settings.default_email else "")
            mark.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            mark.setToolTip(self.tr("Default account"))
            email = QTableWidgetItem(account.email)
            email.setData(Qt.ItemDataRole.UserRole, account.email)
            if account.error:
                email.setToolTip(account.error)
            max_jobs = QTableWidgetItem(str(account.max_jobs))
            max_jobs.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            expiry = QTableWidgetItem(
                self.tr("⚠ {error}").format(error=account.error)
                if account.error
                else format_expiry(account.session.expire_time_utc)
            )
            expiry.setToolTip(account.session.expire_time_utc)
            credits = QTableWidgetItem("…")
            credits.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            for col, item in enumerate((mark, email, max_jobs, expiry, credits)):
                self.table.setItem(row, col, item)
            if account.email == selected:
                self.table.selectRow(row)
        if not accounts and self._token is not None:
            self._say(
                self.tr(
                    "No Kling account is set up behind this token yet. Add one with “Add account…”."
                )
            )
        self._update_buttons()

    def _row_of(self, email: str) -> int | None:
        for row in range(self.table.rowCount()):
            item = self.table.item(row, self.COL_EMAIL)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == email:
                return row
        return None

    def _balance_arrived(self, account: Account) -> None:
        row = self._row_of(account.email)
        if row is None:
            return
        item = self.table.item(row, self.COL_CREDITS)
        if item is None:
            return
        if account.balance is None:
            item.setText("—")
            item.setToolTip(self.tr("useapi.net did not report a balance"))
            return
        item.setText(f"{account.balance.total:,}")
        details = [
            self.tr("{kind}: {left:,} left of {amount:,}").format(
                kind=kind or "points", left=left, amount=amount
            )
            for kind, amount, left in account.balance.points
        ]
        item.setToolTip(
            "\n".join([self.tr("As reported by useapi.net (units are not documented)."), *details])
        )

    def _balance_failed(self, email: str, exc: BaseException) -> None:
        row = self._row_of(email)
        item = self.table.item(row, self.COL_CREDITS) if row is not None else None
        if item is not None:
            item.setText("?")
            item.setToolTip(user_message(exc))

    def _selected_email(self) -> str | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows:
            return None
        item = self.table.item(rows[0].row(), self.COL_EMAIL)
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def select_account(self, email: str) -> bool:
        row = self._row_of(email)
        if row is None:
            return False
        self.table.selectRow(row)
        return True

    @Slot()
    def make_selected_default(self) -> None:
        email = self._selected_email()
        if email is not None:
            self.set_default_account(email)

    def set_default_account(self, email: str) -> None:
        """Make ``email`` the default and save the settings (in the background)."""
        self._settings.default_email = email
        for row in range(self.table.rowCount()):
            mark = self.table.item(row, self.COL_DEFAULT)
            item = self.table.item(row, self.COL_EMAIL)
            if mark is not None and item is not None:
                mark.setText("★" if item.data(Qt.ItemDataRole.UserRole) == email else "")
        self.default_account_changed.emit(email)
        snapshot = dataclasses.replace(self._settings)
        self._run(
            lambda: snapshot.save(app_paths().settings_file),
            lambda _: self._say(self.tr("{email} is now the default account.").format(email=email)),
        )

    @Slot()
    def open_add_account(self) -> None:
        """Ask for email, password and maxJobs, then ``POST /accounts``."""
        if self._token is None:
            return
        dialog = AddAccountDialog(self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._add_account(dialog))
        dialog.finished.connect(dialog.forget_password)
        self.add_dialog = dialog
        dialog.open()

    def _add_account(self, dialog: AddAccountDialog) -> None:
        email, password, max_jobs = dialog.values()
        dialog.forget_password()
        self.add_dialog = None
        token = self._token
        if token is None:
            return
        self._say(self.tr("Adding {email}; useapi.net is signing in to Kling…").format(email=email))

        def added(account: Account) -> None:
            self._say(self.tr("{email} was added.").format(email=account.email or email))
            self.refresh_accounts()

        def failed(exc: BaseException) -> None:
            # BadRequest's generic hint speaks of clips; here the service's own words say more.
            if isinstance(exc, BadRequest) and exc.server_text:
                self._say(
                    self.tr("useapi.net could not add {email}: “{why}”.").format(
                        email=email, why=exc.server_text
                    )
                )
            else:
                self._show_error(exc)

        # The password lives only in this closure until the request is sent.
        self._run(
            lambda: self._with_client(token, lambda c: c.add_account(email, password, max_jobs)),
            added,
            failed,
        )

    @Slot()
    def confirm_remove_account(self) -> None:
        email = self._selected_email()
        if email is None or self._token is None:
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            self.tr("Remove Kling account"),
            self.tr(
                "Remove {email} from your useapi.net configuration? Jobs can no longer use it "
                "until it is added again (with its password)."
            ).format(email=email),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.button(QMessageBox.StandardButton.Yes).setText(self.tr("Remove"))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.confirm_box = box
        box.finished.connect(lambda code: self._remove_confirmed(email, code))
        box.open()

    def _remove_confirmed(self, email: str, code: int) -> None:
        self.confirm_box = None
        if code == QMessageBox.StandardButton.Yes.value:
            self.remove_account(email)

    def remove_account(self, email: str) -> None:
        """``DELETE /accounts/{email}``; the confirmation is :meth:`confirm_remove_account`'s."""
        token = self._token
        if token is None:
            return

        def removed(_: None) -> None:
            self._say(self.tr("{email} was removed.").format(email=email))
            self.refresh_accounts()

        self._run(
            lambda: self._with_client(token, lambda c: c.delete_account(email)),
            removed,
        )
