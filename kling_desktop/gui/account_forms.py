"""What the Accounts pane says and asks: failures as sentences, expiry times, and the
Add account dialog (email, password, maxJobs; nothing stored)."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from kling_desktop.accounts.vault import (
    InvalidProfile,
    InvalidToken,
    VaultUnavailable,
)
from kling_desktop.api.errors import AccountError, ApiError, Unauthorized
from kling_desktop.logs import redact

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
