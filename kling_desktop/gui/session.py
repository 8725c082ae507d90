"""The session: the token's life cycle, the accounts it gives, and the clips that wait for them.

The token is read from the vault off the GUI thread (DESIGN §4.3); until then, and while the
accounts load, the account a dropped clip goes to is not known, so such clips wait here and are
released (:attr:`Session.files_released`) once it is. The credits of each account are asked for
here too, for the status bar and the paid confirmations.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QObject, Signal

from kling_desktop.gui.account_picker import AccountPicker
from kling_desktop.gui.notify import Level, MessageBar, details_of
from kling_desktop.gui.status_bar import says_no_token
from kling_desktop.runner.worker import run_in_thread

if TYPE_CHECKING:
    from kling_desktop.api.models import Account
    from kling_desktop.gui.launch import AppContext

log = logging.getLogger(__name__)


class Session(QObject):
    """Token, accounts, credits and the clips queued behind them, for one window.

    It fills the :class:`AccountPicker` and says what went wrong on the window's message bar;
    everything else the window learns from its signals.
    """

    #: The token was read or changed: what the window shows follows (pages, messages).
    token_settled = Signal()
    #: The accounts or their credits changed: the status bar follows.
    accounts_changed = Signal()
    #: Clips that waited for the accounts (``list[Path]``), to be added now.
    files_released = Signal(list)

    def __init__(
        self,
        context: AppContext,
        picker: AccountPicker,
        messages: MessageBar,
        *,
        open_accounts: Callable[[], None],
        leave_demo: Callable[[], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._context = context
        self._picker = picker
        self._messages = messages
        self._open_accounts = open_accounts
        self._leave_demo = leave_demo
        self._closed = False
        #: The token is still being read (load_token): no welcome panel, no "No token" meanwhile.
        self.token_pending = bool(getattr(context, "token_pending", False))
        self._on_token_loaded: Callable[[], None] | None = None
        self.accounts: list[Account] = []
        #: The accounts are being listed: clips dropped now wait in :attr:`pending_files`.
        self.accounts_loading = False
        self.pending_files: list[Path] = []
        #: Credits per account as useapi.net last reported them (None: asked, not reported).
        self.balances: dict[str, int | None] = {}
        self._balance_asked: set[str] = set()
        picker.currentIndexChanged.connect(self._account_chosen)

    @property
    def _demo(self) -> bool:
        return self._context.demo is not None

    @property
    def has_token(self) -> bool:
        return self._context.client_source.has_token

    def close(self) -> None:
        """The window closed for good: a token read finishing now resumes nothing."""
        self._closed = True

    def _alive(self) -> bool:
        return shiboken6.isValid(self) and shiboken6.isValid(self._picker)

    def account_text(self, email: str) -> str:
        """The status bar's account: the chosen one and its credits, or why there is none."""
        if self._demo:
            return self.tr("Demo account")
        if self.token_pending:
            return ""
        if not self.has_token:
            return self.tr("No token")
        account = email or self.tr("Default account")
        credits = self.balances.get(email)
        if credits is not None:
            account += " · " + self.tr("%Ln credit(s)", "", credits)
        return account

    # -- the token ------------------------------------------------------------------------

    def begin_token_read(self, on_loaded: Callable[[], None] | None) -> None:
        """The token is to be read (:meth:`read_token`): until then no account is chosen and
        clips wait. ``on_loaded`` runs once the client source has the token, before the runner
        is told."""
        self.token_pending = True
        self._on_token_loaded = on_loaded
        self.refresh_accounts()

    def read_token(self) -> None:
        """Read the token from the vault off the GUI thread, then use it."""
        vault = self._context.vault

        def failed(exc: BaseException) -> None:
            log.warning("Could not read the API token: %s", exc)
            self._first_token(None)

        # `vault.token()` inside the call: even looking it up may import the keyring.
        run_in_thread(lambda: vault.token(), self._first_token, failed)

    def _first_token(self, token: str | None) -> None:
        if not self.token_pending or self._closed or not self._alive():
            # Answered already (a token set in Accounts meanwhile wins over this older read),
            # or closed meanwhile (the stack is shut down: nothing to resume).
            return
        self.token_pending = False
        on_loaded, self._on_token_loaded = self._on_token_loaded, None
        self._context.client_source.set_token(token)
        if on_loaded is not None:
            try:
                on_loaded()
            except Exception as exc:
                log.exception("Could not resume the jobs")
                self._messages.show_message(
                    self.tr("Unfinished jobs could not be resumed: %1").replace("%1", str(exc)),
                    Level.ERROR,
                )
        # Anything that asked for a client before now must ask again.
        self._context.runner.client_changed()
        self.refresh_accounts()
        self._forget_token_messages()
        self.token_settled.emit()

    def token_changed(self, how: str = "saved") -> None:
        """The Accounts pane saved a token ("saved"), kept one for this run only ("session",
        nothing written) or removed it ("removed"): read it again and use it."""
        if not self._demo:
            run_in_thread(self._context.vault.token, self.token_loaded)
            return
        # The demo never uses the user's token: say where it went, and only "saved" when it
        # was written.
        if how == "removed":
            if self._messages.topic == "token":
                self._messages.dismiss()
            return
        text = (
            self.tr("Your token is saved. Leave the demo to use it.")
            if how == "saved"
            else self.tr(
                "Your token is kept until you quit (nothing was written). Leave the demo to use it."
            )
        )
        self._messages.show_message(
            text,
            Level.SUCCESS,
            action=self.tr("Leave the demo"),
            on_action=self._leave_demo,
            topic="token",
        )

    def token_loaded(self, token: str | None) -> None:
        """Use ``token`` (None: there is none)."""
        if self.token_pending:
            self._first_token(token)  # the first answer, whichever read finishes first
            return
        self._context.client_source.set_token(token)
        self._context.runner.client_changed()
        self.refresh_accounts()
        self._forget_token_messages()
        self.token_settled.emit()

    def _forget_token_messages(self) -> None:
        """Messages about the token follow its state: once one is set up, a message saying
        there is none (or asking for one) goes."""
        if self.token_pending or not self.has_token:
            return
        messages = self._messages
        if messages.isVisible() and (messages.topic == "token" or says_no_token(messages.text)):
            messages.dismiss()

    # -- the accounts ---------------------------------------------------------------------

    def refresh_accounts(self) -> None:
        """Fetch ``GET /accounts`` off the GUI thread and fill the account choice."""
        factory = self._context.client_source.factory
        if self.token_pending:
            # load_token calls again with the answer; clips dropped meanwhile wait for it.
            self._picker.show_loading()
            self.accounts_loading = True
            self.accounts_changed.emit()
            return
        if not self.has_token:
            self._picker.show_no_token()
            self.accounts_changed.emit()
            self._accounts_settled()
            return
        self._picker.show_loading()
        self.accounts_loading = True

        def fetch() -> list[Account]:
            client = factory()
            if client is None:
                return []
            try:
                return client.list_accounts()
            finally:
                client.close()

        run_in_thread(fetch, self._accounts_loaded, self._accounts_failed)

    def _accounts_loaded(self, accounts: list[Account]) -> None:
        if not self._alive():
            return
        self.accounts = accounts
        if not accounts:
            self._picker.show_no_account()
            self._messages.show_message(
                self.tr("Your token has no Kling account yet. Add one in Accounts."),
                Level.WARNING,
                action=self.tr("Open accounts"),
                on_action=self._open_accounts,
            )
        else:
            self._picker.show_accounts(accounts, self._context.settings.default_email)
        self.accounts_changed.emit()
        self._accounts_settled()

    def _accounts_failed(self, exc: BaseException) -> None:
        if not self._alive():
            return
        self._picker.show_fallback(self._context.settings.default_email)
        details = details_of(exc)
        log.warning("Could not list the Kling accounts: %s (%s)", exc, details)
        self._messages.show_message(
            self.tr("Your Kling accounts could not be listed.") + " " + str(exc),
            Level.WARNING,
            action=self.tr("Try again"),
            on_action=self.refresh_accounts,
            details=details,
        )
        self.accounts_changed.emit()
        self._accounts_settled()

    def _accounts_settled(self) -> None:
        self.accounts_loading = False
        pending, self.pending_files = self.pending_files, []
        if pending:
            self.files_released.emit(pending)

    def queue(self, files: list[Path]) -> bool:
        """Hold ``files`` while the account they go to is not known yet (True), to be
        released with :attr:`files_released`; False: add them now."""
        if not self.accounts_loading:
            return False
        self.pending_files.extend(files)
        return True

    # -- credits --------------------------------------------------------------------------

    def _account_chosen(self, *_args: object) -> None:
        email = self._picker.current_email()
        if email and email not in self.balances:
            self.refresh_balances({email})

    def default_account_changed(self, email: str) -> None:
        """The Accounts pane made ``email`` the default: choose it (the demo keeps its own)."""
        if self._demo:
            return
        self._context.settings.default_email = email
        self._picker.choose(email)

    def batch_finished(self, emails: set[str]) -> None:
        """Kling charged what ran on ``emails``: ask for their credits again."""
        self._balance_asked -= emails
        self.refresh_balances(emails)

    def refresh_balances(self, emails: set[str]) -> None:
        """Ask useapi.net for each account's credits (``GET /accounts/{email}``, off the GUI
        thread), for the status bar and the paid confirmations. The demo spends nothing."""
        if self._demo or self.token_pending or not self.has_token:
            return
        factory = self._context.client_source.factory
        for email in sorted(e for e in emails if e and e not in self._balance_asked):
            self._balance_asked.add(email)

            def fetch(email: str = email) -> tuple[str, int | None]:
                client = factory()
                if client is None:
                    return email, None
                try:
                    account = client.get_account(email)
                finally:
                    client.close()
                return email, account.balance.total if account.balance is not None else None

            def failed(exc: BaseException, email: str = email) -> None:
                # Unknown credits are not shown (never guessed); the next batch asks again.
                log.info("Could not read the credits of %s: %s", email, exc)
                self._balance_asked.discard(email)

            run_in_thread(fetch, self._balance_arrived, failed)

    def _balance_arrived(self, answer: tuple[str, int | None]) -> None:
        if not self._alive():
            return
        email, total = answer
        self._balance_asked.discard(email)
        self.balances[email] = total
        self.accounts_changed.emit()
