"""The Help menu: keyboard shortcuts, the useapi.net token page, licences and About.

The shortcut list is read from the window's own ``QAction`` objects each time it opens (their
text, their menu and their ``shortcuts()``), so it cannot drift from what the keys really do.
The version list is looked up off the GUI thread (importing PyAV and asking FFmpeg takes a
moment on a cold start). The licence texts come from ``resources/licenses`` through
:mod:`kling_desktop.resources`, the same files the packaged app ships.
"""

from __future__ import annotations

import logging
import platform
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QSysInfo, Qt, qVersion
from PySide6.QtGui import QAction, QFontDatabase, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from kling_desktop import APP_NAME, __version__
from kling_desktop.gui.desktop import Opener, open_link
from kling_desktop.resources import NOTICE_NAME, ResourceError, license_files
from kling_desktop.runner.worker import run_in_thread

log = logging.getLogger(__name__)

#: useapi.net's own page on getting an API token (and adding a Kling account there).
TOKEN_PAGE_URL = "https://useapi.net/docs/start-here/setup-useapi"


def tr(text: str) -> str:
    return QCoreApplication.translate("Help", text)


# -- keyboard shortcuts ------------------------------------------------------------------------


@dataclass(frozen=True)
class Shortcut:
    """One line of the shortcut list."""

    group: str  # the menu the action is in ("File", "Jobs"…), or the area for other keys
    name: str  # what it does, as the menu says it
    keys: str  # in the platform's own notation ("Ctrl+O", "⌘O")


def native_keys(*names: str) -> str:
    """Keys in the platform's own notation, as alternatives: ``"Home / End"``."""
    native = QKeySequence.SequenceFormat.NativeText
    return " / ".join(QKeySequence(name).toString(native) for name in names)


def _plain(text: str) -> str:
    """A menu text without its mnemonic: "Re&move" → "Remove", "&&" → "&"."""
    return re.sub(r"&(.)", r"\1", text).strip()


def _menu_of(action: QAction) -> str:
    for holder in action.associatedObjects():
        if isinstance(holder, QMenu) and holder.title():
            return _plain(holder.title())
    return tr("Other")


def shortcuts_of(actions: Iterable[QAction]) -> list[Shortcut]:
    """Every action that has a key, with its menu, name and keys (each action once)."""
    found: list[Shortcut] = []
    seen: set[int] = set()
    for action in actions:
        if id(action) in seen or action.isSeparator():
            continue
        seen.add(id(action))
        sequences = [s for s in action.shortcuts() if not s.isEmpty()]
        if not sequences:
            continue
        keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in sequences)
        found.append(Shortcut(_menu_of(action), _plain(action.text()), keys))
    return found


class ShortcutsDialog(QDialog):
    """Help → Keyboard shortcuts: the window's actions with their keys, by menu.

    Args:
        actions: the window's actions (``window.actions()``); read now, never copied out.
        extra: keys that are not actions (the preview's Space, the list's Enter…).
        parent: the window.
    """

    def __init__(
        self,
        actions: Iterable[QAction],
        extra: Sequence[Shortcut] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle(tr("Keyboard shortcuts"))
        self.shortcuts = shortcuts_of(actions) + list(extra)
        self.tree = QTreeWidget(self)
        self.tree.setAccessibleName(tr("Keyboard shortcuts"))
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels([tr("Action"), tr("Keys")])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        groups: dict[str, QTreeWidgetItem] = {}
        for shortcut in self.shortcuts:
            group = groups.get(shortcut.group)
            if group is None:
                group = QTreeWidgetItem(self.tree, [shortcut.group, ""])
                font = group.font(0)
                font.setBold(True)
                group.setFont(0, font)
                group.setFirstColumnSpanned(True)
                groups[shortcut.group] = group
            QTreeWidgetItem(group, [shortcut.name, shortcut.keys])
        self.tree.expandAll()
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.tree)
        layout.addWidget(buttons)
        self.resize(520, 560)
        self.tree.setFocus()

    def rows(self) -> list[tuple[str, str, str]]:
        """What the list shows: (menu, action, keys), top to bottom."""
        shown = []
        for g in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(g)
            if group is None:
                continue
            for c in range(group.childCount()):
                child = group.child(c)
                if child is not None:
                    shown.append((group.text(0), child.text(0), child.text(1)))
        return shown


# -- about ------------------------------------------------------------------------------------


def component_versions() -> list[tuple[str, str]]:
    """(component, version) for the About box and bug reports; plain Python, any thread."""
    import PySide6

    rows = [
        (APP_NAME, __version__),
        ("Python", platform.python_version()),
        ("Qt", qVersion()),
        ("PySide6", PySide6.__version__),
    ]
    try:
        import av
    except ImportError as exc:  # a broken install still shows the rest
        rows.append(("PyAV", tr("not available (%1)").replace("%1", str(exc))))
    else:
        rows.append(("PyAV", str(av.__version__)))
        rows.append((tr("FFmpeg (PyAV)"), str(getattr(av, "ffmpeg_version_info", "?"))))
        # The licence each library was built under, as it says itself (private in PyAV).
        meta = getattr(getattr(av, "_core", None), "library_meta", None) or {}
        for library, version in sorted(dict(av.library_versions).items()):
            text = ".".join(str(part) for part in version)
            licence = meta.get(library, {}).get("license") if isinstance(meta, dict) else None
            rows.append((f"  {library}", f"{text} ({licence})" if licence else text))
    rows.append((tr("Operating system"), QSysInfo.prettyProductName()))
    return rows


class AboutDialog(QDialog):
    """Help → About: what the app does, and the version of each part (copyable)."""

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        show_licences: Callable[[], object] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle(tr("About %1").replace("%1", APP_NAME))
        title = QLabel(f"<b>{APP_NAME} {__version__}</b>", self)
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        title.setFont(font)
        text = QLabel(
            tr(
                "Adds Kling's AI sound to short video clips through useapi.net. Your API token "
                "is kept in the system keyring.\n\nBuilt with Qt, PySide6, FFmpeg and PyAV: "
                "see Licences."
            ),
            self,
        )
        text.setWordWrap(True)
        self.versions = QTreeWidget(self)
        self.versions.setAccessibleName(tr("Versions"))
        self.versions.setColumnCount(2)
        self.versions.setHeaderLabels([tr("Component"), tr("Version")])
        self.versions.setRootIsDecorated(False)
        self.versions.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        QTreeWidgetItem(self.versions, [tr("Looking up versions…"), ""])
        self.copy_button = QPushButton(tr("&Copy versions"), self)
        self.copy_button.setToolTip(tr("For a bug report"))
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.licences_button: QPushButton | None = None
        if show_licences is not None:
            self.licences_button = QPushButton(tr("&Licences…"), self)
            self.licences_button.clicked.connect(show_licences)
            buttons.addButton(self.licences_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(title)
        layout.addWidget(text)
        layout.addWidget(self.versions, 1)
        layout.addWidget(buttons)
        self.resize(520, 520)
        self.rows: list[tuple[str, str]] = []
        run_in_thread(component_versions, self._show_versions, self._versions_failed)

    @property
    def ready(self) -> bool:
        """Whether the versions are in."""
        return bool(self.rows)

    def _show_versions(self, rows: list[tuple[str, str]]) -> None:
        import shiboken6

        if not shiboken6.isValid(self):  # closed before the answer came
            return
        self.rows = rows
        self.versions.clear()
        for name, version in rows:
            QTreeWidgetItem(self.versions, [name, version])
        self.copy_button.setEnabled(True)

    def _versions_failed(self, exc: BaseException) -> None:
        log.warning("Could not look up the component versions: %s", exc)
        self._show_versions([(APP_NAME, __version__), ("Qt", qVersion())])

    def text(self) -> str:
        """The versions as plain text, one per line."""
        return "\n".join(f"{name.strip()}: {version}" for name, version in self.rows)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text())
        self.copy_button.setText(tr("Copied"))


# -- licences ---------------------------------------------------------------------------------


def _title_of(path: Path) -> str:
    if path.name == NOTICE_NAME:
        return tr("Third-party notices")
    return path.stem.replace("-", " ", 1) if path.stem.startswith("PyAV") else path.stem


class LicencesDialog(QDialog):
    """Help → Licences: the notices and licence texts that ship with the app."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("licencesDialog")
        self.setWindowTitle(tr("Licences"))
        intro = QLabel(
            tr(
                "Kling Desktop is built with Qt and PySide6 (LGPL 3), FFmpeg (LGPL 2.1 or later) "
                "and PyAV (BSD). Their notices and licence texts:"
            ),
            self,
        )
        intro.setWordWrap(True)
        self.files = QListWidget(self)
        self.files.setAccessibleName(tr("Licence documents"))
        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.text.setAccessibleName(tr("Licence text"))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        try:
            self.paths = license_files()
        except ResourceError as exc:
            self.paths = []
            log.error("Licences: %s", exc)
        for path in self.paths:
            item = QListWidgetItem(_title_of(path), self.files)
            item.setData(Qt.ItemDataRole.UserRole, str(path))
            item.setToolTip(path.name)
        self.files.currentRowChanged.connect(self._show)
        self.files.setMaximumWidth(180)
        row = QHBoxLayout()
        row.addWidget(self.files)
        row.addWidget(self.text, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(row, 1)
        layout.addWidget(buttons)
        self.resize(900, 620)
        if self.paths:
            self.files.setCurrentRow(0)
        else:
            self.text.setPlainText(
                tr(
                    "The licence files are missing from this installation: reinstall Kling "
                    "Desktop. Qt: https://doc.qt.io/qt-6/licensing.html — FFmpeg: "
                    "https://ffmpeg.org/legal.html — PyAV: https://github.com/PyAV-Org/PyAV"
                )
            )

    def _show(self, row: int) -> None:
        if not 0 <= row < len(self.paths):
            return
        path = self.paths[row]
        try:
            # A few bundled kilobytes: read here, it takes well under a millisecond.
            self.text.setPlainText(path.read_text(encoding="utf-8"))
        except OSError as exc:
            self.text.setPlainText(
                tr("Could not read %1: %2")
                .replace("%1", path.name)
                .replace("%2", exc.strerror or str(exc))
            )
        self.text.moveCursor(self.text.textCursor().MoveOperation.Start)


# -- the menu ---------------------------------------------------------------------------------


class HelpActions(QObject):
    """The Help menu's actions, their dialogs, and where they go in the menu.

    Args:
        window: the main window; the actions are added to it (their keys work anywhere in it).
        actions: gives the window's actions when the shortcut list opens.
        opener: opens a URL on the desktop (the window's ``Interactions.open_url``).
        extra_keys: keys that are not actions, for the shortcut list.
    """

    def __init__(
        self,
        window: QWidget,
        actions: Callable[[], Iterable[QAction]],
        *,
        opener: Opener | None = None,
        extra_keys: Callable[[], Sequence[Shortcut]] | None = None,
    ) -> None:
        super().__init__(window)
        self._window = window
        self._actions = actions
        self._opener = opener
        self._extra_keys = extra_keys
        self.shortcuts_action = QAction(tr("&Keyboard shortcuts"), window)
        keys = QKeySequence.keyBindings(QKeySequence.StandardKey.HelpContents)
        # The platform's Help key (F1; ⌘? on macOS), not the rare "Help" key it also lists.
        self.shortcuts_action.setShortcut(keys[0] if keys else QKeySequence("F1"))
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
        self.token_page_action = QAction(tr("Get your useapi.net API &token…"), window)
        self.token_page_action.setToolTip(
            tr("Open useapi.net's page on getting an API token, in your browser")
        )
        self.token_page_action.triggered.connect(self.open_token_page)
        self.licences_action = QAction(tr("&Licences"), window)
        self.licences_action.triggered.connect(self.show_licences)
        self.about_action = QAction(tr("&About Kling Desktop"), window)
        self.about_action.triggered.connect(self.show_about)
        for action in (
            self.shortcuts_action,
            self.token_page_action,
            self.licences_action,
            self.about_action,
        ):
            window.addAction(action)
        self.dialog: QDialog | None = None  # the one open last (tests look at it)

    def fill(
        self,
        menu: QMenu,
        *,
        log_folder: QAction | None = None,
        about: QAction | None = None,
    ) -> None:
        """Shortcuts, token page | log folder | licences, about.

        Args:
            menu: the Help menu.
            log_folder: the window's "Open log folder" action.
            about: the window's own About action, used instead of :attr:`about_action`.
        """
        menu.addAction(self.shortcuts_action)
        menu.addAction(self.token_page_action)
        if log_folder is not None:
            menu.addSeparator()
            menu.addAction(log_folder)
        menu.addSeparator()
        menu.addAction(self.licences_action)
        if about is not None and about is not self.about_action:
            # The window's own About (it opens show_about): ours would be a second, unused one.
            self._window.removeAction(self.about_action)
            self.about_action.deleteLater()
            self.about_action = about
        menu.addAction(self.about_action)

    def _open(self, dialog: QDialog) -> QDialog:
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.dialog = dialog
        return dialog

    def show_shortcuts(self) -> QDialog:
        extra = list(self._extra_keys()) if self._extra_keys is not None else []
        return self._open(ShortcutsDialog(self._actions(), extra, self._window))

    def show_about(self) -> QDialog:
        return self._open(AboutDialog(self._window, show_licences=self.show_licences))

    def show_licences(self) -> QDialog:
        return self._open(LicencesDialog(self._window))

    def open_token_page(self) -> None:
        open_link(TOKEN_PAGE_URL, self._window, self._opener)
