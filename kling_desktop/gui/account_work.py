"""The Accounts pane's accounts half: list the Kling accounts behind the token and their
credits, add and remove one, make one the default. Every useapi.net call runs off the GUI
thread through the pane's :meth:`AccountsPane.run`; the pane lays out and holds the token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import shiboken6
from PySide6.QtCore import QObject, Qt, Slot
from PySide6.QtWidgets import QMessageBox

from kling_desktop.api.client import KlingClient
from kling_desktop.api.errors import BadRequest
from kling_desktop.api.models import Account
from kling_desktop.gui.account_forms import AddAccountDialog

if TYPE_CHECKING:
    from kling_desktop.gui.accounts_pane import AccountsPane

T = TypeVar("T")


class AccountsWork(QObject):
    """What the pane's account buttons do."""

    def __init__(self, pane: AccountsPane) -> None:
        super().__init__(pane)
        self._pane = pane
        self.accounts: list[Account] = []
        self.add_dialog: AddAccountDialog | None = None
        self.confirm_box: QMessageBox | None = None

    def _with_client(self, token: str, call: Callable[[KlingClient], T]) -> T:
        """Runs on a pool thread: build a client for ``token``, use it once, close it."""
        client = self._pane.client_for_token(token)
        try:
            return call(client)
        finally:
            client.close()

    @Slot()
    def refresh_accounts(self) -> None:
        """``GET /accounts`` with the current token, then each account's balance."""
        token = self._pane.token
        if token is None:
            return
        self._pane.run(
            lambda: self._with_client(token, lambda c: c.list_accounts()),
            self._accounts_listed,
        )

    def _accounts_listed(self, accounts: list[Account]) -> None:
        self._fill_table(accounts)
        token = self._pane.token
        if token is None:
            return
        for account in accounts:
            self._fetch_balance(token, account.email)

    def _fetch_balance(self, token: str, email: str) -> None:
        """``GET /accounts/{email}`` for the credit balance column."""
        self._pane.run(
            lambda: self._with_client(token, lambda c: c.get_account(email)),
            self._balance_arrived,
            lambda exc: self._balance_failed(email, exc),
        )

    def _fill_table(self, accounts: list[Account]) -> None:
        self.accounts = list(accounts)
        self._pane.table.fill(accounts, self._pane.settings.default_email)
        if not accounts and self._pane.token is not None:
            self._pane.say(
                self.tr(
                    "No Kling account is set up behind this token yet. Add one with “Add account…”."
                )
            )
        self._pane.update_buttons()

    def _balance_arrived(self, account: Account) -> None:
        self._pane.table.show_balance(account)

    def _balance_failed(self, email: str, exc: BaseException) -> None:
        self._pane.table.balance_failed(email, exc)

    @Slot()
    def make_selected_default(self) -> None:
        email = self._pane.table.selected_email()
        if email is not None:
            self.set_default_account(email)

    def set_default_account(self, email: str) -> None:
        """Make ``email`` the default and save the settings (in the background)."""
        self._pane.settings.default_email = email
        self._pane.table.mark_default(email)
        self._pane.default_account_changed.emit(email)
        self._pane.set_busy(+1)

        def saved(_: None) -> None:
            if shiboken6.isValid(self._pane):
                self._pane.set_busy(-1)
                self._pane.say(self.tr("{email} is now the default account.").format(email=email))

        def failed(exc: BaseException) -> None:
            if shiboken6.isValid(self._pane):
                self._pane.set_busy(-1)
                self._pane.show_error(exc)

        self._pane.saver.save(saved, failed)

    @Slot()
    def open_add_account(self) -> None:
        """Ask for email, password and maxJobs, then ``POST /accounts``."""
        if self._pane.token is None:
            return
        dialog = AddAccountDialog(self._pane)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self._add_account(dialog))
        dialog.finished.connect(dialog.forget_password)
        self.add_dialog = dialog
        dialog.open()

    def _add_account(self, dialog: AddAccountDialog) -> None:
        email, password, max_jobs = dialog.values()
        dialog.forget_password()
        self.add_dialog = None
        token = self._pane.token
        if token is None:
            return
        self._pane.say(
            self.tr("Adding {email}; useapi.net is signing in to Kling…").format(email=email)
        )

        def added(account: Account) -> None:
            self._pane.say(self.tr("{email} was added.").format(email=account.email or email))
            self.refresh_accounts()

        def failed(exc: BaseException) -> None:
            # BadRequest's generic hint speaks of clips; here the service's own words say more.
            if isinstance(exc, BadRequest) and exc.server_text:
                self._pane.say(
                    self.tr("useapi.net could not add {email}: “{why}”.").format(
                        email=email, why=exc.server_text
                    )
                )
            else:
                self._pane.show_error(exc)

        # The password lives only in this closure until the request is sent.
        self._pane.run(
            lambda: self._with_client(token, lambda c: c.add_account(email, password, max_jobs)),
            added,
            failed,
        )

    @Slot()
    def confirm_remove_account(self) -> None:
        email = self._pane.table.selected_email()
        if email is None or self._pane.token is None:
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            self.tr("Remove Kling account"),
            self.tr(
                "Remove {email} from your useapi.net configuration? Jobs can no longer use it "
                "until it is added again (with its password)."
            ).format(email=email),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            self._pane,
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
        token = self._pane.token
        if token is None:
            return

        def removed(_: None) -> None:
            self._pane.say(self.tr("{email} was removed.").format(email=email))
            self.refresh_accounts()

        self._pane.run(
            lambda: self._with_client(token, lambda c: c.delete_account(email)),
            removed,
        )
