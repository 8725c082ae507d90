"""The options row: what the next "Add sound" uses, beside "Add clips…" and "Add sound"."""

from __future__ import annotations

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QWidget

from kling_desktop.gui.account_picker import AccountPicker


class OptionsStrip(QWidget):
    """The account new clips go to, and the two buttons that stand for their actions. (How
    a clip sounds is chosen in the Sound panel, its defaults in Settings.)"""

    def __init__(
        self,
        add_clips: QAction,
        add_sound: QAction,
        *,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        account_label = QLabel(self.tr("Kling &account:"))
        self.account_combo = AccountPicker()
        account_label.setBuddy(self.account_combo)
        self.add_clips_button = QPushButton(add_clips.icon(), self.tr("Add clips…"))
        self.add_clips_button.setAccessibleName(self.tr("Add clips"))
        self.add_clips_button.setToolTip(add_clips.toolTip())
        self.add_clips_button.clicked.connect(add_clips.trigger)
        self.add_sound_button = QPushButton(add_sound.icon(), self.tr("Add sound"))
        self.add_sound_button.setObjectName("addSoundButton")
        self.add_sound_button.setAccessibleName(self.tr("Add sound"))
        self.add_sound_button.setDefault(True)
        self.add_sound_button.setToolTip(add_sound.toolTip())
        self.add_sound_button.clicked.connect(add_sound.trigger)
        font = self.add_sound_button.font()
        font.setBold(True)
        self.add_sound_button.setFont(font)
        options = QHBoxLayout(self)
        options.setContentsMargins(0, 0, 0, 0)
        options.setSpacing(8)
        options.addWidget(account_label)
        options.addWidget(self.account_combo)
        options.addStretch(1)
        options.addWidget(self.add_clips_button)
        options.addWidget(self.add_sound_button)

    def focus_widgets(self) -> list[QWidget]:
        """Its controls in Tab order."""
        return [
            self.account_combo,
            self.add_clips_button,
            self.add_sound_button,
        ]

    def show_ready(self, ready: int) -> None:
        """ "Add sound to 3 clips", or a plain "Add sound" greyed when nothing is ready."""
        self.add_sound_button.setEnabled(ready > 0)
        self.add_sound_button.setText(
            self.tr("Add sound to %n clip(s)", "", ready) if ready else self.tr("Add sound")
        )
