"""Handing things to the desktop (a folder to the file manager, a link to the browser) and
saying so when the desktop cannot take them.

``QDesktopServices.openUrl`` answers False when nothing on the computer opens the URL (a server
or a minimal desktop with no file manager); a click that does nothing at all is the worst
answer, so the user gets the path or link to copy instead.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

#: Opens a URL on the desktop; answers whether something took it.
Opener = Callable[[QUrl], bool]


def tr(text: str) -> str:
    return QCoreApplication.translate("Desktop", text)


def _default_opener(url: QUrl) -> bool:
    return QDesktopServices.openUrl(url)


class CannotOpenDialog(QDialog):
    """ "No file manager could open it": the sentence, the path (selectable) and Copy.

    Args:
        sentence: what could not be done, in the user's words.
        text: the path or link, shown whole and selectable.
        parent: the window it belongs to.
    """

    def __init__(self, sentence: str, text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cannotOpenDialog")
        self.setWindowTitle(tr("Could not open it"))
        self.message = QLabel(sentence)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.field = QLineEdit(text)
        self.field.setReadOnly(True)
        self.field.setAccessibleName(tr("Location"))
        self.field.setCursorPosition(0)
        self.field.setMinimumWidth(min(640, self.field.fontMetrics().horizontalAdvance(text) + 24))
        self.copy_button = QPushButton(tr("&Copy"))
        self.copy_button.setToolTip(tr("Copy it to the clipboard"))
        self.copy_button.clicked.connect(self.copy)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.message)
        layout.addWidget(self.field)
        layout.addWidget(buttons)
        self.setMinimumWidth(440)
        self.copy_button.setDefault(True)
        self.copy_button.setFocus()

    @property
    def text(self) -> str:
        return self.field.text()

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.field.text())
        self.copy_button.setText(tr("Copied"))


def _say_cannot_open(sentence: str, text: str, parent: QWidget | None) -> CannotOpenDialog:
    # Without a window of our own, the one in front (the message must not float alone).
    dialog = CannotOpenDialog(sentence, text, parent or QApplication.activeWindow())
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.open()
    return dialog


def open_folder(path: Path, parent: QWidget | None, opener: Opener | None = None) -> None:
    """Open ``path`` in the file manager; when none opens it, say so with the path to copy.

    Args:
        path: a folder (a file's folder is opened for a file).
        parent: the window asking.
        opener: opens a URL and answers whether it could (``QDesktopServices.openUrl``).
    """
    folder = path if path.is_dir() or not path.exists() else path.parent
    if (opener or _default_opener)(QUrl.fromLocalFile(str(folder))):
        return
    _say_cannot_open(
        tr(
            "No file manager could open this folder on this computer. "
            "Its location, to open it another way:"
        ),
        str(folder),
        parent,
    )


def open_link(url: QUrl | str, parent: QWidget | None, opener: Opener | None = None) -> None:
    """Open a web page in the browser; when none opens it, say so with the address to copy."""
    link = QUrl(url) if isinstance(url, str) else url
    if (opener or _default_opener)(link):
        return
    _say_cannot_open(
        tr("No web browser could open this page on this computer. Its address:"),
        link.toString(),
        parent,
    )
