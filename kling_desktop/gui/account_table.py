"""The Kling accounts behind a token, one row each: default mark, email, maxJobs, session
expiry and credits (as useapi.net reports them, filled in as they arrive)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from kling_desktop.api.models import Account
from kling_desktop.gui.account_forms import format_expiry, user_message


class AccountTable(QTableWidget):
    """The accounts; each row's email item carries the email (``UserRole``)."""

    COL_DEFAULT, COL_EMAIL, COL_MAX_JOBS, COL_EXPIRY, COL_CREDITS = range(5)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 5, parent)
        self.setHorizontalHeaderLabels(
            [
                self.tr("Default"),
                self.tr("Email"),
                self.tr("Max jobs"),
                self.tr("Session expires"),
                self.tr("Credits (as reported)"),
            ]
        )
        self.setAccessibleName(self.tr("Kling accounts"))
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(self.COL_EMAIL, QHeaderView.ResizeMode.Stretch)
        for col in (self.COL_DEFAULT, self.COL_MAX_JOBS, self.COL_EXPIRY, self.COL_CREDITS):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)

    def fill(self, accounts: list[Account], default_email: str) -> None:
        """One row per account (credits "…" until they arrive); the selection stays."""
        selected = self.selected_email()
        self.setRowCount(len(accounts))
        for row, account in enumerate(accounts):
            mark = QTableWidgetItem("★" if account.email == default_email else "")
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
                self.setItem(row, col, item)
            if account.email == selected:
                self.selectRow(row)

    def mark_default(self, email: str) -> None:
        for row in range(self.rowCount()):
            mark = self.item(row, self.COL_DEFAULT)
            item = self.item(row, self.COL_EMAIL)
            if mark is not None and item is not None:
                mark.setText("★" if item.data(Qt.ItemDataRole.UserRole) == email else "")

    def row_of(self, email: str) -> int | None:
        for row in range(self.rowCount()):
            item = self.item(row, self.COL_EMAIL)
            if item is not None and item.data(Qt.ItemDataRole.UserRole) == email:
                return row
        return None

    def show_balance(self, account: Account) -> None:
        """The credits ``GET /accounts/{email}`` reported, with each kind in the tooltip."""
        row = self.row_of(account.email)
        if row is None:
            return
        item = self.item(row, self.COL_CREDITS)
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

    def balance_failed(self, email: str, exc: BaseException) -> None:
        row = self.row_of(email)
        item = self.item(row, self.COL_CREDITS) if row is not None else None
        if item is not None:
            item.setText("?")
            item.setToolTip(user_message(exc))

    def selected_email(self) -> str | None:
        rows = self.selectionModel().selectedRows() if self.selectionModel() else []
        if not rows:
            return None
        item = self.item(rows[0].row(), self.COL_EMAIL)
        return str(item.data(Qt.ItemDataRole.UserRole)) if item is not None else None

    def select_account(self, email: str) -> bool:
        row = self.row_of(email)
        if row is None:
            return False
        self.selectRow(row)
        return True
