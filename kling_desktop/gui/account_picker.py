"""The Kling account the next clips go to: a combo box that shows where the list stands."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QComboBox, QWidget

if TYPE_CHECKING:
    from kling_desktop.api.models import Account


class AccountPicker(QComboBox):
    """The accounts of the token (``GET /accounts``), or why there is no choice yet.

    Each item's data is the account's email ("" for none). It is chosen from only once the
    accounts are listed; the ``show_*`` methods say every other state.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(self.tr("Kling account"))
        self.setMinimumContentsLength(22)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)

    def current_email(self) -> str:
        """The chosen account's email, or "" (none listed: the default account)."""
        email = self.currentData()
        return email if isinstance(email, str) else ""

    def _only(self, text: str, email: str = "") -> None:
        self.clear()
        self.addItem(text, email)
        self.setEnabled(False)

    def show_loading(self) -> None:
        self._only(self.tr("Loading accounts…"))

    def show_no_token(self) -> None:
        self._only(self.tr("No token set up"))

    def show_no_account(self) -> None:
        self._only(self.tr("No Kling account at useapi.net"))

    def show_fallback(self, email: str) -> None:
        """The accounts could not be listed: the default account, not to be changed."""
        self._only(email or self.tr("Default account"), email)

    def show_accounts(self, accounts: Sequence[Account], preferred: str) -> None:
        """One item per account (with how many jobs it runs at once); ``preferred`` chosen."""
        self.clear()
        for account in accounts:
            label = account.email
            if account.max_jobs:
                label += self.tr("  (%1 at once)").replace("%1", str(account.max_jobs))
            self.addItem(label, account.email)
        index = self.findData(preferred) if preferred else 0
        self.setCurrentIndex(max(0, index))
        self.setEnabled(True)

    def choose(self, email: str) -> None:
        """Choose ``email`` if it is listed."""
        index = self.findData(email)
        if index >= 0:
            self.setCurrentIndex(index)
