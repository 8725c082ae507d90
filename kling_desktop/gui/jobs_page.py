"""The window's main page: the drop zone, the options, the list beside the preview, the
selected row's actions and its details.

The preview pane (QtMultimedia, and a player that probes the audio devices) is built after the
window first painted or on first use (:attr:`JobsPage.preview`); a plain note holds its place.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings, QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QLabel,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from kling_desktop.gui import plurals
from kling_desktop.gui.actions import RowButtons, WindowActions
from kling_desktop.gui.drop_zone import DropZone
from kling_desktop.gui.job_table import JobTableModel
from kling_desktop.gui.job_texts import status_text, token_wait
from kling_desktop.gui.job_view import FilterBar, JobTableView
from kling_desktop.gui.options_strip import OptionsStrip
from kling_desktop.gui.sound_panel import SoundPanel
from kling_desktop.jobs.model import Job, JobState
from kling_desktop.runner.engine import Progress
from kling_desktop.runner.worker import run_in_thread

if TYPE_CHECKING:
    from kling_desktop.gui.preview import PreviewPane

#: How a wider window is shared between the list and the preview.
LIST_STRETCH, PREVIEW_STRETCH = 3, 2


def _exports() -> tuple[str, ...]:
    """The sound formats this build can export (MP3 only with an encoder). Imports PyAV
    (50-75 ms): called off the GUI thread, after the window first painted."""
    from kling_desktop.media.sound import available_exports

    return available_exports()


#: What every build exports, known without PyAV: the sound panel starts with it.
_ALWAYS_EXPORTS = ("wav",)


def restore_layout(window: QWidget, page: JobsPage, ui: QSettings) -> None:
    """The window's size, the list's columns and the split as the user left them."""
    geometry = ui.value("window/geometry")
    if geometry is None or not window.restoreGeometry(geometry):
        screen = QGuiApplication.primaryScreen()
        available = screen.availableGeometry() if screen is not None else None
        width, height = 1180, 720
        if available is not None:
            width = min(width, int(available.width() * 0.9))
            height = min(height, int(available.height() * 0.9))
        window.resize(width, height)
    page.restore_state(ui.value("window/columns"), ui.value("window/splitter"), window.width())


def save_layout(window: QWidget, page: JobsPage, ui: QSettings) -> None:
    ui.setValue("window/geometry", window.saveGeometry())
    columns, splitter = page.save_state()
    ui.setValue("window/columns", columns)
    ui.setValue("window/splitter", splitter)
    ui.sync()


def _preview_pane(parent: QWidget) -> QWidget:
    # QtMultimedia loads its libraries here: never with a Python translator in the way
    # (plurals.suspended says why).
    with plurals.suspended():
        from kling_desktop.gui.preview import PreviewPane

        return PreviewPane(parent=parent)


class JobsPage(QWidget):
    """Lays the list's parts out; the window wires them."""

    #: The preview pane took its placeholder's place (its controls join the Tab order).
    preview_built = Signal()

    def __init__(
        self,
        model: JobTableModel,
        proxy: QSortFilterProxyModel,
        actions: WindowActions,
        *,
        exports: Sequence[str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._model = model
        self.options = OptionsStrip(
            actions.add_clips_action,
            actions.add_sound_action,
        )
        self.filter_bar = FilterBar(actions.filter_actions, actions.retry_all_action)
        self.table = JobTableView(model, proxy)
        for action in (actions.remove_action, actions.cancel_action):
            self.table.addAction(action)

        self.details = QLabel()
        self.details.setObjectName("jobDetails")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setAccessibleName(self.tr("Job details"))
        self.details.setMinimumHeight(self.fontMetrics().height() * 2 + 8)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)

        self.row_buttons = RowButtons(actions)

        list_side = QWidget()
        list_layout = QVBoxLayout(list_side)
        list_layout.setContentsMargins(0, 0, 0, 0)
        list_layout.setSpacing(4)
        list_layout.addWidget(self.filter_bar)
        list_layout.addWidget(self.table, 1)

        self._preview: QWidget | None = None
        self._preview_placeholder = QLabel(self.tr("Select a clip to preview it."))
        self._preview_placeholder.setWordWrap(True)
        self._preview_placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._preview_placeholder.setMinimumWidth(280)
        # Beside the list: the preview above the selected clips' sound options.
        # The formats that need PyAV to be known join after the first paint (load_exports).
        self._exports_known = exports is not None
        self.sound_panel = SoundPanel(_ALWAYS_EXPORTS if exports is None else exports)
        # It scrolls in a short window rather than squeeze the preview (or grow the window).
        self.sound_scroll = QScrollArea()
        self.sound_scroll.setObjectName("soundScroll")
        self.sound_scroll.setAccessibleName(self.tr("Sound options"))
        self.sound_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # its controls take the focus
        self.sound_scroll.setWidget(self.sound_panel)
        self.sound_scroll.setWidgetResizable(True)
        self.sound_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.sound_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        bar = self.sound_scroll.verticalScrollBar().sizeHint().width()
        self.sound_scroll.setMinimumWidth(self.sound_panel.minimumSizeHint().width() + bar)
        self.sound_scroll.setMinimumHeight(self.fontMetrics().lineSpacing() * 6)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            app.focusChanged.connect(self._show_focused)
        self.side = QSplitter(Qt.Orientation.Vertical)
        self.side.setObjectName("previewSide")
        self.side.addWidget(self._preview_placeholder)
        self.side.addWidget(self.sound_scroll)
        self.side.setStretchFactor(0, 1)
        self.side.setStretchFactor(1, 0)
        self.side.setChildrenCollapsible(False)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(list_side)
        self.splitter.addWidget(self.side)
        self.splitter.setStretchFactor(0, LIST_STRETCH)
        self.splitter.setStretchFactor(1, PREVIEW_STRETCH)
        self.splitter.setChildrenCollapsible(False)

        self.drop_zone = DropZone()
        self.drop_zone.add_button.hide()  # the options row has "Add clips…" already
        # Keyboard users reach it too: Enter or Space on it chooses clips (DropZone).
        self.drop_zone.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.drop_zone)
        layout.addWidget(self.options)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.row_buttons)
        layout.addWidget(self.details)

    def load_exports(self) -> None:
        """Learn off the GUI thread which sound formats this build exports (PyAV), then offer
        them in the sound panel; once."""
        if self._exports_known:
            return
        self._exports_known = True
        run_in_thread(_exports, self.sound_panel.set_exports, lambda _exc: None)

    # -- the preview ----------------------------------------------------------------------

    @property
    def preview_built_yet(self) -> bool:
        return self._preview is not None

    @property
    def preview(self) -> PreviewPane:
        """The preview pane, built on first use."""
        if self._preview is None:
            pane = _preview_pane(self)
            pane.setMinimumWidth(280)
            placeholder = self._preview_placeholder
            self.side.replaceWidget(self.side.indexOf(placeholder), pane)
            # The stretch lives in the widget's size policy: give the pane the placeholder's,
            # or a taller window would grow only the options.
            self.side.setStretchFactor(self.side.indexOf(pane), 1)
            placeholder.deleteLater()
            self._preview = pane
            QTimer.singleShot(0, self, self.balance_split)  # the pane's own height counts now
            self.preview_built.emit()
        return self._preview  # type: ignore[return-value]  # a PreviewPane, imported late

    def clear_preview(self) -> None:
        """Stop and empty the preview, if it was built."""
        if self._preview is not None:
            self._preview.clear()  # type: ignore[attr-defined]  # a PreviewPane

    def focus_chain(self) -> list[QWidget]:
        """Its controls in reading order: drop zone, options, view filters, the list, the
        preview's controls, the sound options, then the selected row's actions."""
        preview = [] if self._preview is None else list(getattr(self._preview, "controls", []))
        return [
            self.drop_zone,
            *self.options.focus_widgets(),
            *self.filter_bar.focus_widgets(),
            self.table,
            *preview,
            *self.sound_panel.focus_widgets(),
            *self.row_buttons.buttons,
        ]

    def _show_focused(self, old: QWidget | None, now: QWidget | None) -> None:
        """The sound options scroll in a short window: a control the keyboard reaches (Tab
        from the preview, Ctrl+L) is scrolled into view, not left under the player. And the
        video's own surface (a native window inside the preview) takes the keyboard as it
        opens, where Tab never leads: it goes back where it was, or to the list."""
        if now is None:
            return
        if self.sound_panel.isAncestorOf(now):
            self.sound_scroll.ensureWidgetVisible(now)
            return
        video = getattr(self._preview, "video", None)
        if video is None or now is video or not video.isAncestorOf(now):
            return
        if old is not None and self.isAncestorOf(old):
            old.setFocus(Qt.FocusReason.OtherFocusReason)
        else:
            start = self.table if self._model.rowCount() else self.drop_zone
            start.setFocus(Qt.FocusReason.OtherFocusReason)

    def focus_sound_panel(self) -> None:
        """Sound → Sound options (Ctrl+L): the keyboard goes to the first control that may
        change."""
        first = next((w for w in self.sound_panel.focus_widgets() if w.isEnabled()), None)
        if first is not None:
            first.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def balance_split(self) -> None:
        """In a narrow window the preview leaves the list the room its columns need (down to
        the preview's own minimum); in a wide one the split stays as the user left it. Under
        the preview, the sound options take what they need, never more than half (they
        scroll in a short window)."""
        self._balance_side()
        sizes = self.splitter.sizes()
        if len(sizes) != 2 or min(sizes) <= 0:
            return
        wanted = self.table.wanted_width()
        preview_side = self.splitter.widget(1)
        if preview_side is None:
            return
        smallest = max(300, preview_side.minimumWidth(), preview_side.minimumSizeHint().width())
        total = sum(sizes)
        if sizes[0] < wanted and sizes[1] > smallest:
            preview = max(smallest, total - wanted)
            self.splitter.setSizes([total - preview, preview])

    def _balance_side(self) -> None:
        sizes = self.side.sizes()
        total = sum(sizes)
        preview = self.side.widget(0)
        if len(sizes) != 2 or total <= 0 or preview is None:
            return
        room = total - max(total // 2, preview.minimumSizeHint().height())
        wanted = self.sound_panel.sizeHint().height() + 2
        panel = max(self.sound_scroll.minimumHeight(), min(wanted, room))
        if panel != sizes[1]:
            self.side.setSizes([total - panel, panel])

    def restore_state(self, columns: object, splitter: object, width: int) -> None:
        """The column layout and the split saved last time (None: never saved), for a
        window ``width`` wide."""
        if columns is not None:
            self.table.restore_columns(columns)
        if splitter is not None:
            self.splitter.restoreState(splitter)  # type: ignore[arg-type]
        else:
            # The list first; the preview a third (at least 300 px), growing with the window.
            preview = max(300, width // 3)
            self.splitter.setSizes([width - preview, preview])

    def save_state(self) -> tuple[QByteArray, QByteArray]:
        """The column layout and the split, for :meth:`restore_state` next time."""
        return self.table.horizontalHeader().saveState(), self.splitter.saveState()

    # -- the details line -----------------------------------------------------------------

    def show_details(self, jobs: list[Job], progress: Progress | None) -> None:
        """The selected clip's name, status, why it waits and where its result is (with its
        ``progress``); for a selection of several, how many."""
        if len(jobs) != 1 or progress is None:
            self.details.setText(
                self.tr("%n clip(s) selected.", "", len(jobs))
                if jobs
                else self.tr("Select a clip to see its details and preview it.")
            )
            return
        job = jobs[0]
        status = status_text(job, progress)
        lines = [
            f"<b>{html.escape(job.name, quote=False)}</b> — {html.escape(status, quote=False)}"
        ]
        if token_wait(job, progress):  # why it waits: a refused token, or none at all
            lines.append(html.escape(token_wait(job, progress), quote=False))
        # Where its result is; what preparing it does; where each of its parts is.
        lines.extend(html.escape(line, quote=False) for line in self._model.detail_lines(job))
        if job.state is JobState.READY:
            paid = self._model.paid_to_start(job.id)
            lines.append(
                self.tr(
                    "Ready. Nothing is sent until you press Add sound (%n paid Kling job(s)).",
                    "",
                    paid,
                )
            )
        self.details.setText("<br>".join(lines))
