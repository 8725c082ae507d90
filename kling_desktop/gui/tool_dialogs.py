"""The Tools menu's windows: Accounts and token, Settings; and the log folder.

Each opens non-modally (``open``) and goes away when closed. What they change comes back as
signals; the window's :class:`Session` follows them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from kling_desktop.gui.desktop import open_folder
from kling_desktop.paths import app_paths
from kling_desktop.settings import Settings

if TYPE_CHECKING:
    from kling_desktop.api.client import KlingClient
    from kling_desktop.gui.accounts_pane import AccountsPane
    from kling_desktop.gui.actions import WindowActions
    from kling_desktop.gui.interactions import Interactions
    from kling_desktop.gui.launch import AppContext
    from kling_desktop.gui.settings_dialog import SettingsDialog
    from kling_desktop.gui.settings_saver import SettingsSaver


class ToolDialogs(QObject):
    """Opens the Accounts and Settings windows over ``window``."""

    #: The Accounts pane saved a token ("saved"), kept one for this run ("session") or
    #: removed it ("removed").
    token_changed = Signal(str)
    #: The Accounts pane made this account the default.
    default_account_changed = Signal(str)
    #: Settings changed the service's address: clients and accounts are to be made again.
    api_url_changed = Signal()

    def __init__(
        self,
        window: QWidget,
        context: AppContext,
        interactions: Interactions,
        actions: WindowActions,
        saver: SettingsSaver,
    ) -> None:
        super().__init__(window)
        self._window = window
        self._context = context
        self.interactions = interactions
        self._saver = saver
        self.accounts_dialog: QDialog | None = None
        self.accounts_pane: AccountsPane | None = None
        self.settings_dialog: SettingsDialog | None = None
        actions.accounts_action.triggered.connect(self.open_accounts)
        actions.settings_action.triggered.connect(self.open_settings)
        actions.log_folder_action.triggered.connect(self.open_log_folder)

    @property
    def _demo(self) -> bool:
        return self._context.demo is not None

    def open_accounts(self) -> None:
        from kling_desktop.gui.accounts_pane import AccountsPane

        demo = self._demo
        user_settings = self._context.settings
        if demo:
            # The pane saves the default account into the settings file: give it the user's
            # real settings, never the demo's.
            user_settings = Settings.load(app_paths().settings_file)
        api_url = user_settings.effective_api_url()
        source = self._context.client_source

        def client_for_token(token: str) -> KlingClient:
            if demo:
                from kling_desktop.api.client import KlingClient

                return KlingClient(api_url, token)
            return source.for_token(token)

        dialog = QDialog(self._window)
        dialog.setWindowTitle(self.tr("Accounts and token"))
        pane = AccountsPane(
            self._context.vault,
            user_settings,
            client_for_token,
            dialog,
            # The demo's pane writes the user's own settings (its saver: the pane's own).
            saver=None if demo else self._saver,
        )
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        if demo:
            note = QLabel(
                self.tr(
                    "You are in the demo: its account is simulated and not listed here. The "
                    "token you save here is your real useapi.net token, used once you leave "
                    "the demo (File → Leave the demo)."
                ),
                dialog,
            )
            note.setObjectName("demoAccountsNote")
            note.setWordWrap(True)
            layout.addWidget(note)
        layout.addWidget(pane)
        layout.addWidget(buttons)
        pane.token_changed.connect(self.token_changed)
        pane.default_account_changed.connect(self.default_account_changed)
        dialog.resize(720, 520)
        self.accounts_dialog = dialog
        self.accounts_pane = pane
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def open_settings(self) -> None:
        from kling_desktop.gui.settings_dialog import SettingsDialog

        settings = self._context.settings
        if self._demo:
            # What the demo runs with, greyed: readable, and why it cannot change here.
            dialog = SettingsDialog(
                settings,
                self._window,
                read_only=self.tr(
                    "The demo runs with these settings of its own: its results go to the "
                    "“%1” folder and nothing is sent to Kling. Leave the demo (File menu) to "
                    "change your own settings."
                ).replace("%1", Path(settings.output_folder).name),
            )
        else:
            dialog = SettingsDialog(settings, self._window, saver=self._saver)
            dialog.saved.connect(self._settings_saved)
        dialog.finished.connect(dialog.deleteLater)
        self.settings_dialog = dialog
        dialog.open()

    def _settings_saved(self, _settings: object) -> None:
        source = self._context.client_source
        url = self._context.settings.effective_api_url()
        if url != source.base_url:
            source.base_url = url
            self._context.runner.client_changed()
            self.api_url_changed.emit()

    def open_log_folder(self) -> None:
        folder = app_paths().log_dir
        folder.mkdir(parents=True, exist_ok=True)
        open_folder(folder, self._window, opener=self.interactions.open_url)
