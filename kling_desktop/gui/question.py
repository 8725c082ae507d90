"""The window's question dialog: a headline, an explanation, an optional list of clips,
notes, and buttons named for what they do. The questions themselves are built in
:mod:`dialogs` and :mod:`paid_questions`.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

Role = QDialogButtonBox.ButtonRole

#: The list of clips scrolls beyond this many rows.
LIST_ROWS = 8


def tr(text: str) -> str:
    return QCoreApplication.translate("Dialogs", text)


def quoted(name: str) -> str:
    return f"“{name}”"


def account_name(email: str) -> str:
    return email or tr("your default Kling account")


class Question(QDialog):
    """A headline, an explanation, an optional scrolling list, notes and named buttons."""

    def __init__(
        self,
        parent: QWidget | None,
        *,
        title: str,
        headline: str,
        body: str = "",
        items: Sequence[str] = (),
        notes: Sequence[str] = (),
        buttons: Sequence[tuple[str, str, QDialogButtonBox.ButtonRole]] = (),
        default: str = "",
        icon: QStyle.StandardPixmap = QStyle.StandardPixmap.SP_MessageBoxQuestion,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.choice: str | None = None
        self.headline = QLabel(headline)
        self.headline.setObjectName("headline")
        self.headline.setWordWrap(True)
        font = self.headline.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.headline.setFont(font)
        self.body = QLabel(body)
        self.body.setObjectName("body")
        self.body.setWordWrap(True)
        self.body.setVisible(bool(body))
        self.items = QListWidget()
        self.items.setObjectName("items")
        self.items.addItems(list(items))
        self.items.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.items.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.items.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.items.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.items.setAccessibleName(tr("Clips"))
        rows = min(max(len(items), 1), LIST_ROWS)
        row_height = self.items.sizeHintForRow(0) if items else self.fontMetrics().height()
        self.items.setFixedHeight(rows * max(row_height, 1) + 2 * self.items.frameWidth() + 4)
        self.items.setVisible(bool(items))
        self.notes = QLabel("\n".join(notes))
        self.notes.setObjectName("notes")
        self.notes.setWordWrap(True)
        self.notes.setVisible(bool(notes))
        self.notes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.button_box = QDialogButtonBox()
        self.buttons: dict[str, QPushButton] = {}
        for key, text, role in buttons:
            button = self.button_box.addButton(text, role)
            button.setObjectName(key)
            button.clicked.connect(lambda _=False, key=key: self._chose(key))
            self.buttons[key] = button
        if default in self.buttons:
            self.buttons[default].setDefault(True)
        cancel = next(
            (k for k, _, r in buttons if r in (Role.RejectRole, Role.NoRole)), None
        )  # Esc and the window's close button choose this one
        self._escape = cancel

        size = self.style().pixelMetric(QStyle.PixelMetric.PM_MessageBoxIconSize)
        picture = QLabel()
        picture.setPixmap(self.style().standardIcon(icon).pixmap(size, size))
        picture.setAlignment(Qt.AlignmentFlag.AlignTop)
        column = QVBoxLayout()
        column.addWidget(self.headline)
        column.addWidget(self.body)
        column.addWidget(self.items)
        column.addWidget(self.notes)
        top = QHBoxLayout()
        top.addWidget(picture, 0, Qt.AlignmentFlag.AlignTop)
        top.addLayout(column, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addSpacing(6)
        layout.addWidget(self.button_box)
        width = self.fontMetrics().averageCharWidth() * 72
        for label in (self.headline, self.body, self.notes):
            label.setMinimumWidth(width)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        # Enter presses the focused button: keep the focus on the default one.
        default = next((b for b in self.buttons.values() if b.isDefault()), None)
        if default is not None:
            default.setFocus()

    def _chose(self, key: str) -> None:
        self.choice = key
        self.done(QDialog.DialogCode.Accepted)

    def reject(self) -> None:
        self.choice = self._escape
        super().reject()

    def ask(self) -> str | None:
        """Show modally; the key of the button pressed (Esc: the cancelling one)."""
        self.exec()
        return self.choice


def join(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return tr("%1 and %2").replace("%1", ", ".join(parts[:-1])).replace("%2", parts[-1])
