"""The first page without a token: set one up, or try the demo."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget


class WelcomePanel(QWidget):
    """First start with no token: set one up, or try the demo."""

    set_up = Signal()
    try_demo = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel(self.tr("Welcome to Kling Desktop"))
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        font.setBold(True)
        title.setFont(font)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        text = QLabel(
            self.tr(
                "Kling Desktop adds Kling's AI sound to your short clips through useapi.net. "
                "To use your Kling account, paste your useapi.net API token. "
                "Or try the demo first: it runs on a built-in simulator, so no credits are spent."
            )
        )
        text.setWordWrap(True)
        text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # A wrapped label needs a width to wrap to; a fixed column reads best.
        text.setFixedWidth(min(560, text.fontMetrics().averageCharWidth() * 70))
        text.setMinimumHeight(text.heightForWidth(text.width()))
        drop_note = QLabel(
            self.tr("You can already drop clips here: they are checked on this computer.")
        )
        # Quieter than the text above, yet readable (a disabled label's grey is too faint).
        drop_note.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        drop_note.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.set_up_button = QPushButton(self.tr("Set up my token"))
        self.set_up_button.setDefault(True)
        self.set_up_button.clicked.connect(self.set_up)
        self.demo_button = QPushButton(self.tr("Try the demo"))
        self.demo_button.clicked.connect(self.try_demo)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.set_up_button)
        buttons.addWidget(self.demo_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(title)
        layout.addSpacing(8)
        text_row = QHBoxLayout()
        text_row.addStretch(1)
        text_row.addWidget(text)
        text_row.addStretch(1)
        layout.addLayout(text_row)
        layout.addSpacing(16)
        layout.addLayout(buttons)
        layout.addSpacing(24)
        layout.addWidget(drop_note)
        layout.addStretch(2)
