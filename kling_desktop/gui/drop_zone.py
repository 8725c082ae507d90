"""Where clips come in: the drop zone widget and the drop rules the whole window shares.

What a drop carries is decided at once (local files and folders, or a sentence saying why not);
expanding folders and checking clips happen later, off the drop handler (Picard's rule: never
do expensive work inside ``dropEvent``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QMimeData, Qt, QTimer, Signal
from PySide6.QtGui import (
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QKeyEvent,
    QPalette,
)
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QVBoxLayout, QWidget

from kling_desktop.media.extensions import VIDEO_EXTENSIONS

#: Extensions offered by the "Add clips…" dialog (the check decides what is really accepted).
VIDEO_PATTERNS = tuple(f"*{ext}" for ext in sorted(VIDEO_EXTENSIONS))


def tr(text: str) -> str:
    return QCoreApplication.translate("DropZone", text)


@dataclass(frozen=True)
class DropDecision:
    """What a drag carries: local paths to add, else the sentence saying why nothing is added."""

    paths: list[Path] = field(default_factory=list)
    refusal: str = ""

    @property
    def acceptable(self) -> bool:
        """Worth letting the user drop: files to add, or a refusal worth explaining on drop."""
        return bool(self.paths or self.refusal)


def decide(mime: QMimeData) -> DropDecision:
    """Sort a drag's payload into local paths or a refusal (no disk access here)."""
    if mime.hasUrls():
        paths = [Path(url.toLocalFile()) for url in mime.urls() if url.isLocalFile()]
        paths = [p for p in paths if str(p)]
        if paths:
            return DropDecision(paths=paths)
        return DropDecision(refusal=tr("Only files on this computer can be added."))
    if mime.hasText() and mime.text().strip():
        text = mime.text().strip()
        if "://" in text:
            return DropDecision(refusal=tr("Only files on this computer can be added."))
        return DropDecision(refusal=tr("Drop video files or folders, not text."))
    return DropDecision()


class DropHandling:
    """Drag-and-drop behaviour shared by the drop zone and the window around it.

    ``deliver(decision)`` runs on the next event-loop turn, never inside the drop handler.
    """

    def __init__(self, deliver: Callable[[DropDecision], None]) -> None:
        self._deliver = deliver

    def enter(self, event: QDragEnterEvent | QDragMoveEvent) -> bool:
        decision = decide(event.mimeData())
        if not decision.acceptable:
            event.ignore()
            return False
        self._accept_copy(event)
        return True

    def drop(self, event: QDropEvent) -> None:
        decision = decide(event.mimeData())
        if not decision.acceptable:
            event.ignore()
            return
        self._accept_copy(event)
        QTimer.singleShot(0, lambda: self._deliver(decision))

    @staticmethod
    def _accept_copy(event: QDragEnterEvent | QDragMoveEvent | QDropEvent) -> None:
        # External drops are always copies: a "move" could make the file manager delete the
        # user's original clip (Picard does the same).
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()


class DropZone(QFrame):
    """The visible target: a framed area with a sentence and the "Add clips…" button.

    With the keyboard's focus (give it a focus policy), Enter or Space chooses clips as the
    button does: the drop zone is the keyboard's way to add clips too.
    """

    dropped = Signal(object)  # DropDecision
    add_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dropZone")
        self.setAcceptDrops(True)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFrameShadow(QFrame.Shadow.Sunken)
        self.setAccessibleName(self.tr("Drop zone"))
        self.setAccessibleDescription(
            self.tr(
                "Drop video clips or folders here to add them to the list, or press Enter to "
                "choose them."
            )
        )
        self._handling = DropHandling(self.dropped.emit)

        self._title = QLabel(self.tr("Drop clips or folders here"))
        font = self._title.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self._title.setFont(font)
        self._title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._hint = QLabel(
            self.tr(
                "Any video: long clips are split into parts, short ones extended, others converted"
            )
        )
        self._hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # A quieter line, yet readable (a disabled label's grey is too faint).
        self._hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.add_button = QPushButton(self.tr("Add clips…"))
        self.add_button.setToolTip(self.tr("Choose clips to add (Ctrl+O)"))
        self.add_button.clicked.connect(self.add_clicked)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(6)
        layout.addWidget(self._title)
        layout.addWidget(self._hint)
        layout.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignHCenter)
        self._set_hover(False)

    def set_compact(self, compact: bool) -> None:
        """Once the list has jobs, the zone shrinks to one line: the whole window takes drops."""
        self._hint.setVisible(not compact)
        self._title.setText(
            self.tr("Drop more clips anywhere on the window")
            if compact
            else self.tr("Drop clips or folders here")
        )

    def _set_hover(self, hover: bool) -> None:
        self.setFrameShadow(QFrame.Shadow.Raised if hover else QFrame.Shadow.Sunken)
        role = QPalette.ColorRole
        self.setBackgroundRole(role.Highlight if hover else role.Window)
        self.setAutoFillBackground(hover)
        self._title.setForegroundRole(role.HighlightedText if hover else role.WindowText)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._handling.enter(event):
            self._set_hover(True)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        self._handling.enter(event)

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:
        self._set_hover(False)
        event.accept()

    def dropEvent(self, event: QDropEvent) -> None:
        self._set_hover(False)
        self._handling.drop(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        keys = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space)
        plain = not (event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier)
        if event.key() in keys and plain:
            event.accept()
            self.add_clicked.emit()
            return
        super().keyPressEvent(event)
