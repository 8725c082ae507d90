"""The token's half of the Accounts pane: the field (masked, with Show and Paste), Save, Use
for this run only, Test, Remove, and where the token is kept. The pane does the work."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, Slot
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from kling_desktop.accounts.vault import TOKEN_ENV


def source_text(source: str) -> str:
    """Where the token in use comes from, as a sentence."""

    def tr(text: str) -> str:
        return QCoreApplication.translate("AccountsPane", text)

    if source == "environment":
        return tr(
            "Using the token from the {env} environment variable; it wins over a saved one."
        ).format(env=TOKEN_ENV)
    if source == "session":
        return tr("Using a token for this run only; it is forgotten when the app closes.")
    if source == "keyring":
        return tr("A token is saved. Paste a new one to replace it.")
    return tr("No token yet. Paste the token from your useapi.net account page.")


class TokenBox(QGroupBox):
    """The useapi.net API token's controls."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle(self.tr("useapi.net API token"))
        self.token_edit = QLineEdit(self)
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setPlaceholderText(self.tr("Paste your token (user:1234-…)"))
        self.token_edit.setAccessibleName(self.tr("API token"))
        self.token_edit.setClearButtonEnabled(True)
        self.show_button = QToolButton(self)
        self.show_button.setText(self.tr("Show"))
        self.show_button.setCheckable(True)
        self.show_button.setAccessibleName(self.tr("Show the token"))
        self.paste_button = QToolButton(self)
        self.paste_button.setText(self.tr("Paste"))
        self.paste_button.setAccessibleName(self.tr("Paste the token"))

        self.save_button = QPushButton(self.tr("Save"), self)
        self.save_button.setToolTip(self.tr("Save the token in the system keyring"))
        self.test_button = QPushButton(self.tr("Test"), self)
        self.test_button.setToolTip(self.tr("Ask useapi.net which Kling accounts it gives"))
        self.remove_button = QPushButton(self.tr("Remove"), self)
        self.remove_button.setToolTip(self.tr("Forget the saved token"))
        self.session_button = QPushButton(self.tr("Use for this run only"), self)
        self.session_button.setToolTip(
            self.tr("Keep the token in memory until the app closes; nothing is written")
        )
        self.session_button.setVisible(False)

        self.store_label = QLabel(self)
        self.store_label.setWordWrap(True)
        self.store_label.setAccessibleName(self.tr("Where the token is stored"))
        self.source_label = QLabel(self)
        self.source_label.setWordWrap(True)
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
        token_layout = QVBoxLayout(self)
        token_layout.addLayout(field_row)
        token_layout.addLayout(button_row)
        token_layout.addWidget(self.store_label)
        token_layout.addWidget(self.source_label)
        self.show_button.toggled.connect(self._on_show_toggled)
        self.paste_button.clicked.connect(self._paste)

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
