"""The main window: drop clips, choose the options, press "Add sound", watch the list.

It lays out and wires; all work goes through the :class:`JobRunner` (DESIGN §3) and anything
slow runs through :func:`run_in_thread`. Questions to the user and calls into the desktop go
through :class:`Interactions`, which tests replace.
"""

from __future__ import annotations

import functools
import html
import itertools
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QObject,
    QProcess,
    Qt,
    QTimer,
    QUrl,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDesktopServices,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QGuiApplication,
    QKeyEvent,
    QKeySequence,
    QPalette,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QMenu,
    QPushButton,
    QRadioButton,
    QSplitter,
    QStackedWidget,
    QStyle,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from kling_desktop import APP_NAME
from kling_desktop.api.errors import ApiError, NetworkError, Timeout
from kling_desktop.gui import background, dialogs
from kling_desktop.gui.background import (
    Background,
    CloseChoice,
    CloseQuestion,
    DesktopNotifications,
)
from kling_desktop.gui.desktop import open_folder
from kling_desktop.gui.drop_zone import VIDEO_PATTERNS, DropDecision, DropHandling, DropZone
from kling_desktop.gui.focus import FocusRing
from kling_desktop.gui.help import HelpActions, Shortcut
from kling_desktop.gui.job_table import (
    JOB_ROLE,
    Column,
    JobDelegate,
    JobFilter,
    JobFilterProxy,
    JobTableModel,
    default_thumbnail_maker,
    message_text,
    status_text,
    token_wait,
)
from kling_desktop.gui.notify import Level, MessageBar, Notifier
from kling_desktop.gui.spend import (
    SpendRequest,
    paid_jobs_to_resend,
    paid_jobs_to_start,
    spend_request,
)
from kling_desktop.jobs.duplicates import Duplicate, Sorting, classify
from kling_desktop.jobs.model import Job, JobOptions, JobState
from kling_desktop.jobs.policy import RetryKind
from kling_desktop.paths import app_paths
from kling_desktop.runner.engine import BatchSummary, Progress
from kling_desktop.runner.worker import run_in_thread
from kling_desktop.settings import Settings

if TYPE_CHECKING:
    from kling_desktop.api.client import KlingClient
    from kling_desktop.api.models import Account
    from kling_desktop.gui.launch import AppContext
    from kling_desktop.gui.preview import PreviewPane

log = logging.getLogger(__name__)

#: Where an older version kept "Don't ask again" for the paid confirmation; removed at start
#: (the only opt-out now is the Settings choice that names its cost).
_OLD_SKIP_SPEND_CONFIRM = "confirm/skip_spend"
#: Runner news (job changes, progress) refresh the actions, details and counts at most this
#: often; the table's own rows update at once.
REFRESH_INTERVAL_MS = 50
#: Removals Edit → Undo can bring back, newest last.
UNDO_DEPTH = 20
#: A clip handed to the runner counts as "being added" (for the duplicate check) this long at
#: most, should its job never be reported.
ADDING_FOR_S = 120.0
#: How a wider window is shared between the list and the preview.
LIST_STRETCH, PREVIEW_STRETCH = 3, 2


class Interactions:
    """Every question the window asks and every call into the desktop, in one replaceable place.

    Tests pass a subclass that answers at once and records what was asked.
    """

    def __init__(self) -> None:
        #: For test harnesses and benchmarks only: answer the paid confirmation at once. The
        #: app never sets it; the user's opt-out is the ``auto_start`` setting.
        self.skip_spend_confirm = False

    def confirm_spend(self, parent: QWidget, request: SpendRequest) -> bool:
        """Add sound: the account, the clips, the paid jobs and the credits."""
        if self.skip_spend_confirm:
            return True
        return dialogs.spend_question(parent, request).ask() == "go"

    def confirm_resend(self, parent: QWidget, jobs: list[Job], request: SpendRequest) -> bool:
        """Send again (new paid job): a NEW paid Kling job for each of ``jobs``."""
        return dialogs.resend_question(parent, jobs, request).ask() == "send"

    def confirm_remove(self, parent: QWidget, jobs: list[Job]) -> bool:
        """Removing jobs Kling still runs, or finished history."""
        return dialogs.remove_question(parent, jobs).ask() == "remove"

    def confirm_duplicates(
        self, parent: QWidget, duplicates: list[Duplicate], *, auto_start: bool
    ) -> bool:
        """Clips added before: "Add it again anyway?"."""
        return dialogs.duplicates_question(parent, duplicates, auto_start=auto_start).ask() == "add"

    def confirm_stop_tracking(self, parent: QWidget, jobs: list[Job]) -> bool:
        return dialogs.stop_tracking_question(parent, jobs).ask() == "stop"

    def resolve_uncertain(self, parent: QWidget, job: Job, request: SpendRequest) -> bool | None:
        """True: send again (a new paid job); False: give up; None: decide later."""
        choice = dialogs.uncertain_question(parent, job, request).ask()
        if choice == "send":
            return True
        if choice == "give_up":
            return False
        return None

    def ask_close(self, parent: QWidget, question: CloseQuestion) -> CloseChoice:
        """Quit / keep working in the background / cancel, while Kling still works on clips."""
        return background.ask_close(parent, question)

    def choose_files(self, parent: QWidget, start: Path) -> list[Path]:
        patterns = " ".join(VIDEO_PATTERNS)
        names, _ = QFileDialog.getOpenFileNames(
            parent,
            parent.tr("Add clips"),
            str(start),
            parent.tr("Video clips (%1);;All files (*)").replace("%1", patterns),
        )
        return [Path(n) for n in names]

    def open_url(self, url: QUrl) -> bool:
        return QDesktopServices.openUrl(url)

    def reveal(self, path: Path) -> None:
        """Show ``path`` in the file manager, selected where the platform allows it."""
        if sys.platform == "win32":
            QProcess.startDetached("explorer.exe", [f"/select,{path}"])
        elif sys.platform == "darwin":
            QProcess.startDetached("open", ["-R", str(path)])
        elif not _reveal_freedesktop(path):
            open_folder(path.parent, None, opener=self.open_url)  # says so if nothing opens it


def _reveal_freedesktop(path: Path) -> bool:
    """``org.freedesktop.FileManager1.ShowItems``: most Linux file managers select the file."""
    try:
        from PySide6.QtDBus import QDBusConnection, QDBusInterface
    except ImportError:
        return False
    bus = QDBusConnection.sessionBus()
    if not bus.isConnected():
        return False
    iface = QDBusInterface(
        "org.freedesktop.FileManager1",
        "/org/freedesktop/FileManager1",
        "org.freedesktop.FileManager1",
        bus,
    )
    if not iface.isValid():
        return False
    reply = iface.call("ShowItems", [QUrl.fromLocalFile(str(path)).toString()], "")
    return not reply.errorMessage()


def _preview_pane(parent: QWidget) -> QWidget:
    from kling_desktop.gui.preview import PreviewPane

    return PreviewPane(parent=parent)


def _preview_keys() -> list[Shortcut]:
    from kling_desktop.gui.preview import keyboard_keys

    return keyboard_keys()


class _AfterFirstPaint(QObject):
    """Calls ``then`` in the event-loop turn after ``widget`` first painted, then goes away."""

    def __init__(self, widget: QWidget, then: Callable[[], None]) -> None:
        super().__init__(widget)
        self._then = then
        widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            watched.removeEventFilter(self)
            QTimer.singleShot(0, self._then)
            self.deleteLater()
        return False


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


class MainWindow(QMainWindow):
    """Drop zone, options, job table, details and preview, with menus, toolbar and status bar."""

    #: After the window closed for good (the launcher then shuts the stack down).
    closed = Signal()

    splitter: QSplitter
    _preview: QWidget | None
    _preview_placeholder: QLabel

    def __init__(
        self,
        context: AppContext,
        *,
        interactions: Interactions | None = None,
        on_switch_mode: Callable[[bool], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.context = context
        self.runner = context.runner
        self.settings = context.settings
        self.interactions = interactions or Interactions()
        self._on_switch_mode = on_switch_mode
        self._ui = context.ui_state
        self._closing_for_switch = False
        self._accounts: list[Account] = []
        self._connection: tuple[bool, str] | None = None  # unknown until the runner says
        self._accounts_loading = False
        self._pending_files: list[Path] = []
        # The token is still being read (load_token): no welcome panel, no "No token" meanwhile.
        self._token_pending = bool(getattr(context, "token_pending", False))
        self._on_token_loaded: Callable[[], None] | None = None
        self._closed = False
        # One refresh per REFRESH_INTERVAL_MS however many runner signals arrive: during a
        # drop of 50 clips they come by the hundred, and a refresh looks at every job.
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_INTERVAL_MS)
        self._refresh_timer.timeout.connect(self._refresh_due)
        self._refresh_everything = False
        self._ui.remove(_OLD_SKIP_SPEND_CONFIRM)
        #: Credits per account as useapi.net last reported them (None: asked, not reported).
        self._balances: dict[str, int | None] = {}
        self._balance_asked: set[str] = set()
        #: Clips handed to the runner whose jobs are not reported yet (absolute path → when).
        self._adding: dict[str, float] = {}
        #: Removals Edit → Undo brings back (the runner's snapshots), newest last.
        self._removed: list[list[Job]] = []
        #: The last state seen of each job (to tell a change of state from an update).
        self._seen_states: dict[int, JobState] = {}

        # Most desktops add " — Kling Desktop" (the application's display name) to a title that
        # does not end with it: end with it, once.
        self.setWindowTitle(
            self.tr("Demo — %1").replace("%1", APP_NAME) if self.is_demo else APP_NAME
        )
        self.setAcceptDrops(True)
        self._drop = DropHandling(self._deliver_drop)

        self.model = JobTableModel(
            self.runner,
            thumbnail_maker=default_thumbnail_maker(context.paths.thumbnail_dir),
            parent=self,
        )
        self.proxy = JobFilterProxy(self)
        self.proxy.setSourceModel(self.model)

        self._build_actions()
        self._build_central()
        self._build_menus()
        self._build_status_bar()
        self.notifier = Notifier(
            self.message_bar,
            enabled=lambda: self.settings.notifications,
            desktop=DesktopNotifications(parent=self) if DesktopNotifications.supported() else None,
        )
        self.background = Background(
            self,
            self.runner,
            ask=lambda parent, question: self.interactions.ask_close(parent, question),
            shared_tray=lambda: self.notifier.tray,
        )
        self._wire()
        self._restore_layout()
        self._refresh_all()
        self.refresh_accounts()
        self._painted = False
        self._after_paint: list[Callable[[], None]] = []
        _AfterFirstPaint(self, self._first_paint_done)

    # -- properties -----------------------------------------------------------------------

    @property
    def is_demo(self) -> bool:
        return self.context.demo is not None

    @property
    def preview(self) -> PreviewPane:
        """The preview pane, built on first use (or just after the window first painted)."""
        if self._preview is None:
            pane = _preview_pane(self)
            pane.setMinimumWidth(280)
            placeholder = self._preview_placeholder
            self.splitter.replaceWidget(self.splitter.indexOf(placeholder), pane)
            # The stretch lives in the widget's size policy: give the pane the placeholder's,
            # or a wider window would widen only the list (a preview stuck at ~400 px).
            self.splitter.setStretchFactor(self.splitter.indexOf(pane), PREVIEW_STRETCH)
            placeholder.deleteLater()
            self._preview = pane
            self._set_tab_order()
        return self._preview  # type: ignore[return-value]  # a PreviewPane, imported late

    def _first_paint_done(self) -> None:
        """What waits for the window to be on screen: the token read, then the preview pane."""
        self._painted = True
        waiting, self._after_paint = self._after_paint, []
        for start in waiting:
            start()
        if not self._closed and self._alive():
            _ = self.preview

    # -- building -------------------------------------------------------------------------

    def _action(
        self,
        text: str,
        slot: Callable[[], Any],
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
        *,
        icon: QStyle.StandardPixmap | None = None,
        tip: str = "",
        context: Qt.ShortcutContext = Qt.ShortcutContext.WindowShortcut,
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(context)
        if icon is not None:
            action.setIcon(self.style().standardIcon(icon))
        if tip or shortcut is not None:
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            plain = text.replace("&", "").replace("…", "")
            action.setToolTip(f"{tip or plain} ({keys})" if keys else tip)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _build_actions(self) -> None:
        SP = QStyle.StandardPixmap
        table_only = Qt.ShortcutContext.WidgetWithChildrenShortcut
        self.add_clips_action = self._action(
            self.tr("&Add clips…"), self.choose_files, QKeySequence.StandardKey.Open,
            icon=SP.SP_DialogOpenButton,
        )  # fmt: skip
        self.add_sound_action = self._action(
            self.tr("Add &sound"), self.add_sound, "Ctrl+Return", icon=SP.SP_MediaPlay,
            tip=self.tr("Send the ready clips to Kling (paid)"),
        )  # fmt: skip
        self.preview_action = self._action(
            self.tr("&Play"), self.play_selected, None, icon=SP.SP_MediaPlay
        )
        self.preview_action.setToolTip(
            self.tr("Play the clip with its new sound, or the original before it has one (Enter)")
        )
        self.reveal_action = self._action(
            self.tr("Show in &folder"), self.reveal_selected, "Ctrl+Shift+O",
            icon=SP.SP_DirOpenIcon,
        )  # fmt: skip
        self.copy_link_action = self._action(
            self.tr("&Copy result link"), self.copy_result_link, "Ctrl+Shift+C"
        )
        # Retry never spends: it checks, sends what was already confirmed, tracks or
        # downloads again. Its label says which (_update_actions); a new paid job is the
        # separate "Send again (new paid job)…".
        self.retry_action = self._action(
            self.tr("&Retry"), self.retry_selected, "Ctrl+R", icon=SP.SP_BrowserReload,
            tip=self.tr("Pick the job up where it stopped, at no new cost"),
        )  # fmt: skip
        self.retry_all_action = self._action(
            self.tr("Retry a&ll failed (no new cost)"), self.retry_all_failed, "Ctrl+Shift+R",
            tip=self.tr(
                "Track, download or send again what failed — never a new paid Kling job"
            ),
        )  # fmt: skip
        self.resubmit_action = self._action(
            self.tr("Send a&gain (new paid job)…"), self.resubmit_selected, None,
            icon=SP.SP_ArrowForward,
            tip=self.tr(
                "Start a new paid Kling job for a clip Kling failed or lost (asks first)"
            ),
        )  # fmt: skip
        # Its button keeps the "…" (Qt drops it from an action's icon text): a question follows.
        self.resubmit_action.setIconText(self.tr("Send again (new paid job)…"))
        self.cancel_action = self._action(
            self.tr("Ca&ncel (back to Ready)"), self.cancel_selected, "Esc",
            icon=SP.SP_DialogCancelButton, context=table_only,
            tip=self.tr("Take back clips that have not reached Kling yet; nothing is spent"),
        )  # fmt: skip
        self.stop_action = self._action(
            self.tr("S&top tracking… (Kling still runs and charges it)"),
            self.stop_tracking_selected,
            "Ctrl+Shift+T",
            icon=SP.SP_MediaStop,
        )
        self.resolve_action = self._action(
            self.tr("Resol&ve…"), self.resolve_selected, "Ctrl+Shift+U",
            icon=SP.SP_MessageBoxQuestion,
            tip=self.tr("Decide what to do with a job whose submit has no known outcome"),
        )  # fmt: skip
        self.remove_action = self._action(
            self.tr("Re&move from list"), self.remove_selected, QKeySequence.StandardKey.Delete,
            icon=SP.SP_TrashIcon, context=table_only,
            tip=self.tr("Remove from the list (files are kept; Edit → Undo brings it back)"),
        )  # fmt: skip
        self.undo_action = self._action(
            self.tr("&Undo remove"), self.undo_remove, QKeySequence.StandardKey.Undo
        )
        self.undo_action.setEnabled(False)
        self.accounts_action = self._action(
            self.tr("&Accounts and token…"), self.open_accounts, "Ctrl+Shift+A"
        )
        self.settings_action = self._action(
            self.tr("&Settings…"), self.open_settings, QKeySequence.StandardKey.Preferences
        )
        if self.settings_action.shortcut().isEmpty():
            self.settings_action.setShortcut(QKeySequence("Ctrl+,"))
        self.log_folder_action = self._action(self.tr("Open &log folder"), self.open_log_folder)
        self.about_action = self._action(self.tr("&About Kling Desktop"), self.show_about)
        self.quit_action = self._action(self.tr("&Quit"), self.close, QKeySequence.StandardKey.Quit)
        self.demo_action = self._action(
            self.tr("Leave the &demo") if self.is_demo else self.tr("Try the &demo"),
            self.toggle_demo,
        )
        self.filter_actions: dict[JobFilter, QAction] = {}
        # One view at a time: the menu shows them as radio items.
        self.filter_action_group = QActionGroup(self)
        self.filter_action_group.setExclusive(True)
        labels = {
            JobFilter.ALL: self.tr("All"),
            JobFilter.ACTIVE: self.tr("To do"),
            JobFilter.DONE: self.tr("Done"),
            JobFilter.FAILED: self.tr("Failed"),
        }
        for number, job_filter in enumerate(JobFilter, start=1):
            action = self._action(
                labels[job_filter], functools.partial(self.set_filter, job_filter), f"Ctrl+{number}"
            )
            action.setCheckable(True)
            self.filter_action_group.addAction(action)
            self.filter_actions[job_filter] = action
        self.filter_actions[JobFilter.ALL].setChecked(True)

    def _build_central(self) -> None:
        central = QWidget(self)
        outer = QVBoxLayout(central)
        outer.setContentsMargins(8, 8, 8, 4)
        outer.setSpacing(6)

        self.demo_bar = MessageBar(central, closable=False)
        self.demo_bar.setObjectName("demoBanner")
        if self.is_demo:
            self.demo_bar.show_message(
                self.tr("Demo — simulated service, no credits are spent."),
                Level.INFO,
                action=self.tr("Add a sample clip"),
                on_action=self.add_sample_clip,
            )
        self.message_bar = MessageBar(central)
        self.message_bar.setObjectName("messageBar")
        outer.addWidget(self.demo_bar)
        outer.addWidget(self.message_bar)

        # Options row: what the next "Add sound" uses.
        options = QHBoxLayout()
        options.setSpacing(8)
        account_label = QLabel(self.tr("Kling &account:"))
        self.account_combo = QComboBox()
        self.account_combo.setAccessibleName(self.tr("Kling account"))
        self.account_combo.setMinimumContentsLength(22)
        self.account_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        account_label.setBuddy(self.account_combo)
        self.keep_sound_check = QCheckBox(self.tr("&Keep original sound"))
        self.keep_sound_check.setToolTip(
            self.tr("Mix Kling's sound with the clip's own audio instead of replacing it")
        )
        self.keep_sound_check.setChecked(self.settings.keep_original_sound)
        self.keep_sound_check.setAccessibleName(self.tr("Keep original sound"))
        self.add_clips_button = QPushButton(self.add_clips_action.icon(), self.tr("Add clips…"))
        self.add_clips_button.setAccessibleName(self.tr("Add clips"))
        self.add_clips_button.setToolTip(self.add_clips_action.toolTip())
        self.add_clips_button.clicked.connect(self.add_clips_action.trigger)
        self.add_sound_button = QPushButton(self.add_sound_action.icon(), self.tr("Add sound"))
        self.add_sound_button.setObjectName("addSoundButton")
        self.add_sound_button.setAccessibleName(self.tr("Add sound"))
        self.add_sound_button.setDefault(True)
        self.add_sound_button.setToolTip(self.add_sound_action.toolTip())
        self.add_sound_button.clicked.connect(self.add_sound_action.trigger)
        font = self.add_sound_button.font()
        font.setBold(True)
        self.add_sound_button.setFont(font)
        options.addWidget(account_label)
        options.addWidget(self.account_combo)
        options.addWidget(self.keep_sound_check)
        options.addStretch(1)
        options.addWidget(self.add_clips_button)
        options.addWidget(self.add_sound_button)

        # Filter row.
        filters = QHBoxLayout()
        filters.setSpacing(10)
        show_label = QLabel(self.tr("Show:"))
        filters.addWidget(show_label)
        # Exclusive choices, so radio buttons: Tab enters the group, the arrow keys choose.
        self.filter_group = QButtonGroup(self)
        self.filter_group.setExclusive(True)
        self.filter_buttons: dict[JobFilter, QRadioButton] = {}
        for job_filter, action in self.filter_actions.items():
            button = QRadioButton(action.text())
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            tip = self.tr("Show: %1 (%2)").replace("%1", action.text()).replace("%2", keys)
            button.setToolTip(tip)
            button.setAccessibleName(self.tr("Show: %1").replace("%1", action.text()))
            button.setChecked(action.isChecked())
            button.toggled.connect(
                lambda on, job_filter=job_filter: self.set_filter(job_filter) if on else None
            )
            self.filter_group.addButton(button)
            self.filter_buttons[job_filter] = button
            filters.addWidget(button)
        filters.addStretch(1)
        self.retry_all_button = QToolButton()
        self.retry_all_button.setDefaultAction(self.retry_all_action)
        self.retry_all_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.retry_all_button.setAccessibleName(self.tr("Retry all failed, at no new cost"))
        filters.addWidget(self.retry_all_button)

        # The list and the preview side by side.
        self.table = QTableView()
        self.table.setObjectName("jobTable")
        self.table.setAccessibleName(self.tr("Jobs"))
        self.table.setAccessibleDescription(
            self.tr("Enter plays the selected clip, Space plays or pauses, Delete removes it")
        )
        # Tab leaves the list for the preview (the arrow keys move inside it); Enter and Space
        # play (eventFilter).
        self.table.setTabKeyNavigation(False)
        self.table.installEventFilter(self)
        self.table.viewport().installEventFilter(self)  # its width: _fit_details_column
        self.table.setModel(self.proxy)
        self.table.setItemDelegate(JobDelegate(self.table))
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        row_height = max(self.fontMetrics().height() + 10, 53)
        self.table.verticalHeader().setDefaultSectionSize(row_height)
        self._account_sized_by_user = False
        self._sizing_columns = False
        self._size_columns()
        self.table.horizontalHeader().sectionResized.connect(self._section_resized)
        for action in (self.remove_action, self.cancel_action):
            self.table.addAction(action)

        self.details = QLabel()
        self.details.setObjectName("jobDetails")
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setAccessibleName(self.tr("Job details"))
        self.details.setMinimumHeight(self.fontMetrics().height() * 2 + 8)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)

        row_actions = QHBoxLayout()
        row_actions.setSpacing(4)
        self.row_buttons: list[QToolButton] = []
        for action in (
            self.preview_action,
            self.reveal_action,
            self.retry_action,
            self.resubmit_action,
            self.resolve_action,
            self.stop_action,
            self.cancel_action,
            self.remove_action,
        ):
            row_button = QToolButton()
            row_button.setDefaultAction(action)
            row_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            row_button.setAutoRaise(True)
            row_button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # on Tab too, on every style
            row_button.setAccessibleName(action.iconText().replace("&", "").replace("…", ""))
            # Shown only while they apply (_update_actions): eight buttons would not fit.
            row_button.setVisible(action not in self._contextual_actions())
            self.row_buttons.append(row_button)
            row_actions.addWidget(row_button)
        row_actions.addStretch(1)
        # The full "(Kling still runs and charges it)" is in the menus and the tooltip.
        stop_button = self.row_buttons[self._row_button_actions().index(self.stop_action)]
        stop_button.setText(self.tr("Stop tracking…"))
        stop_button.setAccessibleName(self.tr("Stop tracking"))
        self.stop_action.changed.connect(lambda: stop_button.setText(self.tr("Stop tracking…")))
        retry_button = self.row_buttons[self._row_button_actions().index(self.retry_action)]
        self.retry_action.changed.connect(
            lambda: retry_button.setAccessibleName(self.retry_action.text().replace("&", ""))
        )

        list_side = QWidget()
        list_layout = QVBoxLayout(list_side)
        list_layout.setContentsMargins(0, 0, 0, 0)
        list_layout.setSpacing(4)
        list_layout.addLayout(filters)
        list_layout.addWidget(self.table, 1)

        # The preview pane (QtMultimedia, and a player that probes the audio devices) is built
        # after the first paint or on first use (`preview`); a plain note holds its place.
        self._preview = None
        self._preview_placeholder = QLabel(self.tr("Select a clip to preview it."))
        self._preview_placeholder.setWordWrap(True)
        self._preview_placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._preview_placeholder.setMinimumWidth(280)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(list_side)
        self.splitter.addWidget(self._preview_placeholder)
        self.splitter.setStretchFactor(0, LIST_STRETCH)
        self.splitter.setStretchFactor(1, PREVIEW_STRETCH)
        self.splitter.setChildrenCollapsible(False)

        self.drop_zone = DropZone()
        self.drop_zone.dropped.connect(self._deliver_drop)
        self.drop_zone.add_clicked.connect(self.choose_files)
        self.drop_zone.add_button.hide()  # the options row has "Add clips…" already
        # Keyboard users reach it too: Enter or Space on it chooses clips (DropZone).
        self.drop_zone.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self.jobs_page = jobs_page = QWidget()
        jobs_layout = QVBoxLayout(jobs_page)
        jobs_layout.setContentsMargins(0, 0, 0, 0)
        jobs_layout.setSpacing(6)
        jobs_layout.addWidget(self.drop_zone)
        jobs_layout.addLayout(options)
        jobs_layout.addWidget(self.splitter, 1)
        jobs_layout.addLayout(row_actions)
        jobs_layout.addWidget(self.details)

        self.welcome = WelcomePanel()
        self.welcome.set_up.connect(self.open_accounts)
        self.welcome.try_demo.connect(lambda: self.switch_mode(True))

        # Shown (empty) while the token is being read and the list is empty: it is not yet
        # known whether the welcome panel or the drop zone is the right first thing to show.
        self.loading_page = QWidget()
        self.loading_page.setObjectName("loadingPage")

        self.stack = QStackedWidget()
        self.stack.addWidget(jobs_page)
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.loading_page)
        outer.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        # A clear ring around whatever has the keyboard's focus (styles draw it faintly); the
        # preview draws its own around its controls.
        self.focus_ring = FocusRing(central)
        self.focus_ring.watch(
            self.drop_zone,
            self.account_combo,
            self.keep_sound_check,
            self.add_clips_button,
            self.add_sound_button,
            *self.filter_buttons.values(),
            self.retry_all_button,
            self.table,
            *self.row_buttons,
            *self.demo_bar.focus_widgets(),
            *self.message_bar.focus_widgets(),
            self.welcome.set_up_button,
            self.welcome.demo_button,
        )
        self._set_tab_order()

    def _set_tab_order(self) -> None:
        """Tab walks the window as it reads: the messages, the drop zone, the options, the
        view filters, the list, the preview's controls, then the selected row's actions."""
        preview = [] if self._preview is None else list(getattr(self._preview, "controls", []))
        chain: list[QWidget] = [
            *self.demo_bar.focus_widgets(),
            *self.message_bar.focus_widgets(),
            self.drop_zone,
            self.account_combo,
            self.keep_sound_check,
            self.add_clips_button,
            self.add_sound_button,
            *self.filter_buttons.values(),
            self.retry_all_button,
            self.table,
            *preview,
            *self.row_buttons,
        ]
        for before, after in itertools.pairwise(chain):
            QWidget.setTabOrder(before, after)

    def _size_columns(self) -> None:
        """Column widths for what the columns hold: the Status column fits its longest
        everyday texts ("Upload interrupted · next try in 59 s"); Length fits its header with
        the sort arrow; Clip and Details share what is left (no sideways scrolling)."""
        header = self.table.horizontalHeader()
        header.setSectionsMovable(True)
        header.setHighlightSections(False)
        self._column_modes()
        metrics = self.table.fontMetrics()

        def fits(*texts: str) -> int:
            return max(metrics.horizontalAdvance(t) for t in texts) + 28  # the bar's margins

        header.resizeSection(Column.THUMBNAIL, 92)
        header.resizeSection(Column.DURATION, max(header.minimumSectionSize(), fits("20.0 s")))
        header.resizeSection(Column.ACCOUNT, fits("name@example.com"))
        header.resizeSection(
            Column.STATE,
            fits(
                "Adding sound · 12:34",
                "Upload interrupted · next try in 59 s",
                "Download interrupted · next try in 59 s",
                "Waiting for a free slot · next try in 59 s",
                "Looking for the task at Kling · next try in 4:59",
                "Waiting for a working API token",
            ),
        )

    def _column_modes(self) -> None:
        """Fixed thumbnails; the clip's name and the details share the room left (no sideways
        scrolling); the rest as the user sizes them, never so narrow that the sort arrow
        covers a header ("Length")."""
        header = self.table.horizontalHeader()
        arrow = header.style().pixelMetric(QStyle.PixelMetric.PM_HeaderMarkSize, None, header)
        margin = header.style().pixelMetric(QStyle.PixelMetric.PM_HeaderMargin, None, header)
        length = str(self.model.headerData(Column.DURATION, Qt.Orientation.Horizontal) or "")
        header.setMinimumSectionSize(
            header.fontMetrics().horizontalAdvance(length) + max(arrow, 12) + 6 * margin + 8
        )
        header.setSectionResizeMode(Column.THUMBNAIL, QHeaderView.ResizeMode.Fixed)
        for column in (Column.NAME, Column.MESSAGE):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        for column in (Column.DURATION, Column.ACCOUNT, Column.STATE):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)  # the Status column keeps its width when last

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        QTimer.singleShot(0, self, self._balance_split)  # once the layout has the new size

    def _balance_split(self) -> None:
        """In a narrow window the preview leaves the list the room its columns need (down to
        the preview's own minimum); in a wide one the split stays as the user left it."""
        sizes = self.splitter.sizes()
        if len(sizes) != 2 or min(sizes) <= 0:
            return
        header = self.table.horizontalHeader()
        columns = sum(
            header.sectionSize(column)
            for column in (Column.THUMBNAIL, Column.DURATION, Column.ACCOUNT, Column.STATE)
            if not header.isSectionHidden(column)
        )
        char = self.table.fontMetrics().averageCharWidth()
        frame = self.table.width() - self.table.viewport().width()  # frame and scroll bar
        wanted = columns + char * 18 + frame + 4  # and the clip's name
        preview_side = self.splitter.widget(1)
        if preview_side is None:
            return
        smallest = max(300, preview_side.minimumWidth(), preview_side.minimumSizeHint().width())
        total = sum(sizes)
        if sizes[0] < wanted and sizes[1] > smallest:
            preview = max(smallest, total - wanted)
            self.splitter.setSizes([total - preview, preview])

    def _fit_details_column(self) -> None:
        """A list too narrow for every column (a 1024 px window) leaves out its Details
        column rather than scroll sideways: the selected row's details are under the list,
        and every row's in its tooltip."""
        self._fit_account_column()
        header = self.table.horizontalHeader()
        others = sum(
            header.sectionSize(column)
            for column in (Column.THUMBNAIL, Column.DURATION, Column.ACCOUNT, Column.STATE)
            if not header.isSectionHidden(column)
        )
        char = self.table.fontMetrics().averageCharWidth()
        # Room for a clip's name and a sentence of details, side by side.
        narrow = self.table.viewport().width() - others < char * (18 + 30)
        if header.isSectionHidden(Column.MESSAGE) != narrow:
            header.setSectionHidden(Column.MESSAGE, narrow)

    def _fit_account_column(self) -> None:
        """The Account column as wide as the longest account in the list, up to a share of
        the list's width (a narrow window elides a long one; a wide one shows it whole).
        Once the user sizes the column, it stays as they left it."""
        if self._account_sized_by_user:
            return
        metrics = self.table.fontMetrics()
        emails = {j.email for j in self.model.jobs() if j.email} or {"name@example.com"}
        wanted = max(metrics.horizontalAdvance(e) for e in emails) + 28
        cap = max(metrics.averageCharWidth() * 18, int(self.table.viewport().width() * 0.22))
        header = self.table.horizontalHeader()
        width = min(wanted, cap)
        if width != header.sectionSize(Column.ACCOUNT):
            self._sizing_columns = True
            try:
                header.resizeSection(Column.ACCOUNT, width)
            finally:
                self._sizing_columns = False

    def _section_resized(self, column: int, _old: int, _new: int) -> None:
        if column == Column.ACCOUNT and not self._sizing_columns:
            self._account_sized_by_user = True

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """The list's own keys: Enter plays the selected clip, Space plays or pauses."""
        table = getattr(self, "table", None)
        if table is not None and watched is table.viewport():
            if event.type() == QEvent.Type.Resize:
                self._fit_details_column()
            return False
        if watched is getattr(self, "table", None) and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
            if modifiers == Qt.KeyboardModifier.NoModifier:
                if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                    self.play_selected()
                    return True
                if event.key() == Qt.Key.Key_Space:
                    self.toggle_play()
                    return True
        return super().eventFilter(watched, event)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu(self.tr("&File"))
        file_menu.addAction(self.add_clips_action)
        file_menu.addAction(self.add_sound_action)
        file_menu.addSeparator()
        file_menu.addAction(self.demo_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)
        edit_menu = bar.addMenu(self.tr("&Edit"))
        edit_menu.addAction(self.undo_action)
        self.jobs_menu = bar.addMenu(self.tr("&Jobs"))
        for action in self._row_actions():
            self.jobs_menu.addAction(action)
        self.jobs_menu.addSeparator()
        self.jobs_menu.addAction(self.retry_all_action)
        view_menu = bar.addMenu(self.tr("&View"))
        for action in self.filter_actions.values():
            view_menu.addAction(action)
        tools = bar.addMenu(self.tr("&Tools"))
        tools.addAction(self.accounts_action)
        tools.addAction(self.settings_action)
        help_menu = bar.addMenu(self.tr("&Help"))
        self.help_actions = HelpActions(
            self, self.actions, opener=self.interactions.open_url, extra_keys=_preview_keys
        )
        self.help_actions.fill(
            help_menu, log_folder=self.log_folder_action, about=self.about_action
        )

    def _row_actions(self) -> list[QAction]:
        return [
            self.preview_action,
            self.reveal_action,
            self.copy_link_action,
            self.retry_action,
            self.resubmit_action,
            self.resolve_action,
            self.stop_action,
            self.cancel_action,
            self.remove_action,
        ]

    def _row_button_actions(self) -> list[QAction]:
        return [b.defaultAction() for b in self.row_buttons]

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.counts_label = QLabel()
        self.counts_label.setAccessibleName(self.tr("Job counts"))
        self.account_label = QLabel()
        self.account_label.setAccessibleName(self.tr("Account"))
        self.connection_label = QLabel()
        self.connection_label.setAccessibleName(self.tr("Connection"))
        status.addWidget(self.counts_label, 1)
        status.addPermanentWidget(self.account_label)
        status.addPermanentWidget(self.connection_label)

    def _wire(self) -> None:
        self.runner.job_added.connect(self._jobs_changed)
        self.runner.files_added.connect(self._files_added)
        self.runner.job_changed.connect(self._jobs_changed)
        self.runner.job_removed.connect(self._jobs_changed)
        self.runner.job_progress.connect(self._progress_changed)
        self.runner.batch_finished.connect(self._batch_finished)
        self.runner.connection_changed.connect(self._connection_changed)
        self.runner.store_trouble.connect(self._store_trouble)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.table.doubleClicked.connect(lambda _index: self.play_selected())
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.account_combo.currentIndexChanged.connect(self._update_status)
        self.account_combo.currentIndexChanged.connect(self._account_chosen)
        self.keep_sound_check.toggled.connect(self._keep_sound_toggled)
        self.proxy.rowsInserted.connect(self._jobs_changed)
        self.proxy.rowsRemoved.connect(self._jobs_changed)
        self.model.dataChanged.connect(self._rows_changed)

    # -- layout memory --------------------------------------------------------------------

    def _restore_layout(self) -> None:
        geometry = self._ui.value("window/geometry")
        if geometry is None or not self.restoreGeometry(geometry):
            screen = QGuiApplication.primaryScreen()
            available = screen.availableGeometry() if screen is not None else None
            width, height = 1180, 720
            if available is not None:
                width = min(width, int(available.width() * 0.9))
                height = min(height, int(available.height() * 0.9))
            self.resize(width, height)
        header_state = self._ui.value("window/columns")
        if header_state is not None:
            self._sizing_columns = True  # the saved widths are not the user's doing now
            try:
                self.table.horizontalHeader().restoreState(header_state)
            finally:
                self._sizing_columns = False
            self._column_modes()  # an older version's saved state had other ones
        splitter_state = self._ui.value("window/splitter")
        if splitter_state is not None:
            self.splitter.restoreState(splitter_state)
        else:
            # The list first; the preview a third (at least 300 px), growing with the window.
            preview = max(300, self.width() // 3)
            self.splitter.setSizes([self.width() - preview, preview])

    def _save_layout(self) -> None:
        self._ui.setValue("window/geometry", self.saveGeometry())
        self._ui.setValue("window/columns", self.table.horizontalHeader().saveState())
        self._ui.setValue("window/splitter", self.splitter.saveState())
        self._ui.sync()

    # -- adding clips ---------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        self._drop.enter(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        self._drop.enter(event)

    def dropEvent(self, event: QDropEvent) -> None:
        self._drop.drop(event)

    def _deliver_drop(self, decision: DropDecision) -> None:
        if decision.refusal:
            self.message_bar.show_message(decision.refusal, Level.WARNING)
            return
        self.add_paths(decision.paths)

    def choose_files(self) -> None:
        start = str(self._ui.value("dialogs/last_folder", str(Path.home()), type=str))
        paths = self.interactions.choose_files(self, Path(start))
        if paths:
            self._ui.setValue("dialogs/last_folder", str(paths[0].parent))
            self.add_paths(paths)

    def add_paths(self, paths: list[Path]) -> None:
        """Expand folders and look for clips added before (off the GUI thread), then hand the
        new clips to the runner. Clips already in the list, and this app's own results, are
        not queued again unless the user says so (one question)."""
        from kling_desktop.media.check import expand_inputs

        jobs = self.model.jobs()  # immutable snapshots: safe to read on the worker
        adding = self._adding_paths()

        def work() -> tuple[list[Path], list[str], Sorting]:
            files, notes = expand_inputs(paths)
            return files, notes, classify(files, jobs, pending=adding)

        def expanded(result: tuple[list[Path], list[str], Sorting]) -> None:
            files, notes, sorting = result
            if not self._alive():
                return
            if not files:
                self.message_bar.show_message(
                    " ".join(notes) if notes else self.tr("There were no clips to add."),
                    Level.WARNING,
                )
                return
            if sorting.duplicates and not sorting.new:
                # Nothing new at all: the user may mean it (a second take). Ask once.
                if notes:
                    self.message_bar.show_message(" ".join(notes), Level.WARNING)
                self._offer_again(sorting.duplicates)
                return
            if sorting.duplicates:
                self._say_not_added(sorting.duplicates, notes)
            elif notes:
                self.message_bar.show_message(" ".join(notes), Level.WARNING)
            self._queue_files(sorting.new)

        def failed(exc: BaseException) -> None:
            log.warning("Could not read the dropped clips: %r", exc)
            self.message_bar.show_message(
                self.tr("The clips could not be read."), Level.ERROR, details=_details_of(exc)
            )

        run_in_thread(work, expanded, failed)

    def _say_not_added(self, duplicates: list[Duplicate], notes: list[str]) -> None:
        """One plain sentence per clip held back (the first few), and "Add again…"."""
        shown = [d.sentence for d in duplicates[:3]]
        if len(duplicates) > 3:
            shown.append(self.tr("And %n more.", "", len(duplicates) - 3))
        head = (
            self.tr("Not added again:")
            if len(duplicates) == 1
            else self.tr("%n clip(s) not added again:", "", len(duplicates))
        )
        self.message_bar.show_message(
            " ".join([*notes, head, *shown]),
            Level.INFO,
            action=self.tr("Add again…"),
            on_action=lambda: self._offer_again(duplicates),
        )

    def _offer_again(self, duplicates: list[Duplicate]) -> None:
        """Ask "Add it again anyway?": the one question before a clip goes in a second time."""
        if self.interactions.confirm_duplicates(
            self, duplicates, auto_start=self.settings.auto_start
        ):
            if self.message_bar.isVisible() and self.message_bar.level is Level.INFO:
                self.message_bar.dismiss()
            self._queue_files([d.path for d in duplicates])

    def _queue_files(self, files: list[Path]) -> None:
        if not files:
            return
        if self._accounts_loading:
            # The account the clips go to is not known yet; they follow once it is.
            self._pending_files.extend(files)
            return
        self._add_files(files)

    def _adding_paths(self) -> list[Path]:
        """Clips handed to the runner (or waiting for the accounts) without a job yet."""
        now = time.monotonic()
        for key, since in list(self._adding.items()):
            if now - since > ADDING_FOR_S:
                del self._adding[key]
        return [Path(key) for key in self._adding] + list(self._pending_files)

    def _add_files(self, files: list[Path]) -> None:
        options = self.current_options()
        now = time.monotonic()
        for path in files:
            self._adding[str(path.expanduser().absolute())] = now  # as the runner stores it
        self.runner.add_files(files, options, start=self.settings.auto_start)
        log.info("Adding %d clip(s) to the list", len(files))
        if self.stack.currentWidget() is not self.jobs_page:
            self.stack.setCurrentWidget(self.jobs_page)

    def _accounts_settled(self) -> None:
        self._accounts_loading = False
        pending, self._pending_files = self._pending_files, []
        if pending:
            self._add_files(pending)

    def _keep_sound_toggled(self, keep: bool) -> None:
        """Remember the choice for next time (written off the GUI thread)."""
        self.settings.keep_original_sound = keep
        target = self.context.settings_file
        if target is None:  # the demo keeps its settings to itself
            return
        settings = self.settings
        run_in_thread(
            lambda: settings.save(target),
            None,
            lambda exc: log.warning("Could not save the settings: %s", exc),
        )

    def current_options(self) -> JobOptions:
        email = self.account_combo.currentData()
        return JobOptions(
            email=email if isinstance(email, str) else "",
            keep_original_sound=self.keep_sound_check.isChecked(),
            output_dir=self.settings.output_folder,
        )

    def add_sample_clip(self) -> None:
        from kling_desktop.gui.demo import make_sample_clip

        folder = self.context.paths.data_dir / "samples"
        run_in_thread(
            lambda: make_sample_clip(folder),
            lambda path: self.add_paths([path]),
            lambda exc: self.message_bar.show_message(str(exc), Level.ERROR),
        )

    # -- spending -------------------------------------------------------------------------

    def ready_jobs(self) -> list[Job]:
        return [j for j in self.model.jobs() if j.state is JobState.READY]

    def add_sound(self) -> None:
        ready = self.ready_jobs()
        if not ready:
            self.message_bar.show_message(
                self.tr("No clip is ready. Drop clips first, then press Add sound."), Level.INFO
            )
            return
        if self._token_pending:
            self.message_bar.show_message(
                self.tr("Still reading your token from the system keyring. Try again in a moment."),
                Level.INFO,
            )
            return
        if not self.context.client_source.has_token:
            self.message_bar.show_message(
                self.tr("Set up your useapi.net token first."),
                Level.WARNING,
                action=self.tr("Set up my token"),
                on_action=self.open_accounts,
                topic="token",
            )
            return
        request = self._spend_request(ready, paid_jobs_to_start)
        if not self.interactions.confirm_spend(self, request):
            return
        self.runner.start([j.id for j in ready])

    # -- selection and actions ------------------------------------------------------------

    def selected_jobs(self) -> list[Job]:
        rows = self.table.selectionModel().selectedRows()
        jobs = []
        for index in sorted(rows, key=lambda i: i.row()):
            job = index.data(JOB_ROLE)
            if isinstance(job, Job):
                jobs.append(self.model.job(job.id) or job)
        return jobs

    def _select_job(self, job_id: int | None) -> None:
        if job_id is None:
            return
        row = self.model.row_of(job_id)
        if row < 0:
            return
        index = self.proxy.mapFromSource(self.model.index(row, Column.NAME))
        if index.isValid():
            self.table.selectionModel().setCurrentIndex(
                index,
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )

    def select_job(self, job_id: int) -> None:
        self._select_job(job_id)

    def preview_selected(self) -> None:
        """Show the selected clip in the preview (its first frame; nothing plays)."""
        jobs = self.selected_jobs()
        if len(jobs) != 1:
            return
        job = jobs[0]
        self.preview.show_job(_result_of(job), job.input_path)

    def play_selected(self) -> None:
        """Enter, double-click, Play: the selected clip's result with its new sound, or the
        original while it has none."""
        jobs = self.selected_jobs()
        if len(jobs) != 1:
            return
        job = jobs[0]
        self.preview.play_job(_result_of(job), job.input_path)

    def toggle_play(self) -> None:
        """Space in the list: play or pause what the preview shows."""
        if self.selected_jobs():
            self.preview.toggle_play()

    def reveal_selected(self) -> None:
        jobs = self.selected_jobs()
        if len(jobs) != 1:
            return
        job = jobs[0]
        target = job.output_path if job.output_path and job.output_path.exists() else job.input_path
        self.interactions.reveal(target)

    def copy_result_link(self) -> None:
        links = [j.result_url for j in self.selected_jobs() if j.result_url]
        if links:
            QGuiApplication.clipboard().setText("\n".join(links))
            self.statusBar().showMessage(self.tr("Result link copied."), 3000)

    def retry_selected(self) -> None:
        """Retry at no new cost; a job that would need a new paid job is only pointed at
        "Send again (new paid job)…"."""
        jobs = self.selected_jobs()
        paid = []
        for job in jobs:
            kind = self.runner.retry_kind(job.id)
            if kind in _FREE_RETRIES:
                self._safely(self.runner.retry, job.id)
            elif kind is RetryKind.RESUBMIT:
                paid.append(job)
        if paid:
            self._say_needs_new_job(paid)

    def retry_all_failed(self) -> None:
        failed = [j for j in self.model.jobs() if j.state is JobState.FAILED]
        self._safely(self.runner.retry_all_failed)  # the runner retries only the free ones
        paid = [j for j in failed if self.runner.retry_kind(j.id) is RetryKind.RESUBMIT]
        if paid:
            self._say_needs_new_job(paid)

    def _say_needs_new_job(self, jobs: list[Job]) -> None:
        why = self.tr(
            "Kling failed or lost the first job, so only a new paid Kling job can add the sound."
        )
        head = (
            self.tr("%1 not retried:").replace("%1", _quoted(jobs[0].name))
            if len(jobs) == 1
            else self.tr("%n clip(s) not retried:", "", len(jobs))
        )
        self.message_bar.show_message(
            f"{head} {why}",
            Level.INFO,
            action=self.tr("Send again (new paid job)…"),
            on_action=lambda: self.resubmit_jobs([j.id for j in jobs]),
        )

    def resubmit_selected(self) -> None:
        self.resubmit_jobs([j.id for j in self.selected_jobs()])

    def resubmit_jobs(self, job_ids: list[int]) -> None:
        """A NEW paid Kling job for each job Kling failed or lost (or an uncertain one), once
        the user confirmed that cost."""
        jobs = [
            job
            for job in (self.runner.job(i) for i in job_ids)
            if job is not None and self.runner.retry_kind(job.id) is RetryKind.RESUBMIT
        ]
        if not jobs:
            return
        request = self._spend_request(jobs, paid_jobs_to_resend)
        if not self.interactions.confirm_resend(self, jobs, request):
            return
        for job in jobs:
            self._safely(self.runner.resubmit, job.id)

    def stop_tracking_selected(self) -> None:
        jobs = [j for j in self.selected_jobs() if j.state is JobState.PROCESSING]
        if jobs and self.interactions.confirm_stop_tracking(self, jobs):
            for job in jobs:
                self._safely(self.runner.stop_tracking, job.id)

    def cancel_selected(self) -> None:
        """Clips that have not reached Kling go back to Ready; nothing is spent."""
        jobs = [j for j in self.selected_jobs() if j.state in dialogs.CANCELLABLE]
        for job in jobs:
            self._safely(self.runner.cancel, job.id)
        if jobs:
            self.statusBar().showMessage(
                self.tr("%1 back to Ready; nothing was sent to Kling.").replace(
                    "%1", _quoted(jobs[0].name)
                )
                if len(jobs) == 1
                else self.tr("%n clip(s) back to Ready; nothing was sent to Kling.", "", len(jobs)),
                5000,
            )

    def remove_selected(self) -> None:
        """Jobs that never left the computer go at once; jobs Kling still runs, and finished
        history, after a question. Edit → Undo brings them back."""
        jobs = self.selected_jobs()
        if not jobs:
            return
        if any(j.state not in dialogs.LOCAL for j in jobs) and not (
            self.interactions.confirm_remove(self, jobs)
        ):
            return
        try:
            removed = self.runner.remove_many([j.id for j in jobs])
        except Exception as exc:
            log.warning("remove failed: %s", exc)
            self.message_bar.show_message(str(exc), Level.ERROR)
            return
        kept = [j for j in jobs if j.id not in {r.id for r in removed}]
        if removed:
            self._removed.append(list(removed))
            del self._removed[:-UNDO_DEPTH]
            self._label_undo()
        if len(removed) == 1:
            text = self.tr("Removed %1 from the list.").replace("%1", _quoted(removed[0].name))
        else:
            text = self.tr("Removed %n clip(s) from the list.", "", len(removed)) if removed else ""
        if len(kept) == 1:
            text += " " + self.tr(
                "%1 is being sent to Kling this instant and was kept; remove it once it is sent."
            ).replace("%1", _quoted(kept[0].name))
        elif kept:
            text += " " + self.tr(
                "%n clip(s) being sent to Kling this instant were kept; remove them once they "
                "are sent.",
                "",
                len(kept),
            )
        self.message_bar.show_message(
            text.strip(),
            Level.INFO,
            action=self.tr("Undo") if removed else "",
            on_action=self.undo_remove if removed else None,
        )

    def undo_remove(self) -> None:
        """Bring back the last removal (Edit → Undo)."""
        if not self._removed:
            return
        jobs = self._removed.pop()
        self._label_undo()
        self._safely(self.runner.restore, jobs)
        self.message_bar.show_message(
            self.tr("%1 back in the list.").replace("%1", _quoted(jobs[0].name))
            if len(jobs) == 1
            else self.tr("%n clip(s) back in the list.", "", len(jobs)),
            Level.SUCCESS,
        )

    def _label_undo(self) -> None:
        self.undo_action.setEnabled(bool(self._removed))
        if not self._removed:
            self.undo_action.setText(self.tr("&Undo remove"))
            return
        last = self._removed[-1]
        self.undo_action.setText(
            self.tr("&Undo remove of %1").replace("%1", _quoted(last[0].name))
            if len(last) == 1
            else self.tr("&Undo remove of %n clip(s)", "", len(last))
        )

    def _label_retry(self, kinds: set[RetryKind]) -> None:
        """Say what Retry would do for the selection (always free)."""
        label, tip = self.tr("&Retry"), self.tr("Pick the job up where it stopped, at no new cost")
        if len(kinds) == 1:
            kind = next(iter(kinds))
            label, tip = {
                RetryKind.CHECK: (
                    self.tr("&Retry: check again"),
                    self.tr("Check the clip again on this computer; nothing is sent"),
                ),
                RetryKind.SEND: (
                    self.tr("&Retry: send (already confirmed)"),
                    self.tr(
                        "Send the paid job you already confirmed, which never reached Kling; "
                        "no new job is added"
                    ),
                ),
                RetryKind.TRACK: (
                    self.tr("&Retry: track again"),
                    self.tr("Ask Kling about the same job again; nothing new is charged"),
                ),
                RetryKind.DOWNLOAD: (
                    self.tr("&Retry: download again"),
                    self.tr("Download the result again; it is already paid for"),
                ),
            }[kind]
        keys = self.retry_action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        self.retry_action.setText(label)
        self.retry_action.setToolTip(f"{tip} ({keys})")

    def _contextual_actions(self) -> tuple[QAction, ...]:
        """Row buttons shown only when they apply to the selection."""
        return (
            self.retry_action,
            self.resubmit_action,
            self.resolve_action,
            self.stop_action,
            self.cancel_action,
        )

    def resolve_selected(self) -> None:
        for job in self.selected_jobs():
            if job.state is not JobState.UNCERTAIN:
                continue
            request = self._spend_request([job], paid_jobs_to_resend)
            choice = self.interactions.resolve_uncertain(self, job, request)
            if choice is not None:
                self._safely(self.runner.resolve_uncertain, job.id, resubmit=choice)

    def set_filter(self, job_filter: JobFilter) -> None:
        self.proxy.set_job_filter(job_filter)
        for each, action in self.filter_actions.items():
            action.setChecked(each is job_filter)
        button = self.filter_buttons[job_filter]
        if not button.isChecked():
            button.setChecked(True)  # the group unchecks the others; toggled comes back here
        self._update_actions()

    def _safely(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Runner calls refuse illegal moves; say so instead of crashing the event loop."""
        try:
            fn(*args, **kwargs)
        except Exception as exc:
            log.warning("%s failed: %s", getattr(fn, "__name__", fn), exc)
            self.message_bar.show_message(str(exc), Level.ERROR, details=_details_of(exc))

    def _context_menu(self, pos: Any) -> None:
        if not self.table.indexAt(pos).isValid():
            return
        menu = QMenu(self)
        for action in self._row_actions():
            menu.addAction(action)
        menu.addSeparator()
        menu.addAction(self.retry_all_action)
        menu.popup(self.table.viewport().mapToGlobal(pos))

    # -- dialogs --------------------------------------------------------------------------

    def open_accounts(self) -> None:
        from kling_desktop.gui.accounts_pane import AccountsPane

        user_settings = self.settings
        if self.is_demo:
            # The pane saves the default account into the settings file: give it the user's
            # real settings, never the demo's.
            user_settings = Settings.load(app_paths().settings_file)
        api_url = user_settings.effective_api_url()
        source = self.context.client_source

        def client_for_token(token: str) -> KlingClient:
            if self.is_demo:
                from kling_desktop.api.client import KlingClient

                return KlingClient(api_url, token)
            return source.for_token(token)

        dialog = QDialog(self)
        dialog.setWindowTitle(self.tr("Accounts and token"))
        pane = AccountsPane(self.context.vault, user_settings, client_for_token, dialog)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
        buttons.rejected.connect(dialog.reject)
        layout = QVBoxLayout(dialog)
        layout.addWidget(pane)
        layout.addWidget(buttons)
        pane.token_changed.connect(self._token_changed)
        pane.default_account_changed.connect(self._default_account_changed)
        dialog.resize(720, 520)
        self.accounts_dialog = dialog
        self.accounts_pane = pane
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()

    def _token_changed(self, how: str = "saved") -> None:
        """The Accounts pane saved a token ("saved"), kept one for this run only ("session",
        nothing written) or removed it ("removed")."""
        if self.is_demo:
            # The demo never uses the user's token: say where it went, and only "saved" when
            # it was written.
            if how == "removed":
                if self.message_bar.topic == "token":
                    self.message_bar.dismiss()
                return
            text = (
                self.tr("Your token is saved. Leave the demo to use it.")
                if how == "saved"
                else self.tr(
                    "Your token is kept until you quit (nothing was written). Leave the demo to "
                    "use it."
                )
            )
            self.message_bar.show_message(
                text,
                Level.SUCCESS,
                action=self.tr("Leave the demo"),
                on_action=lambda: self.switch_mode(False),
                topic="token",
            )
            return
        vault = self.context.vault
        run_in_thread(vault.token, self._token_loaded)

    def _token_state_shown(self) -> None:
        """Messages about the token follow its state: once one is set up, a message saying
        there is none (or asking for one) goes."""
        if self._token_pending or not self.context.client_source.has_token:
            return
        if self.message_bar.isVisible() and (
            self.message_bar.topic == "token" or _says_no_token(self.message_bar.text)
        ):
            self.message_bar.dismiss()
        if self._connection is not None and _says_no_token(self._connection[1]):
            self._connection = None  # the runner says again once it has asked
        if _says_no_token(self.statusBar().currentMessage()):
            self.statusBar().clearMessage()

    def load_token(self, on_loaded: Callable[[], None] | None = None) -> None:
        """Read the token from the vault off the GUI thread (DESIGN §4.3), then use it.

        Until the answer the window offers no token set-up and says nothing about a missing
        token, and clips added meanwhile wait with the account choice. ``on_loaded`` runs once
        the client source has the token, before the runner is told (the launcher resumes the
        runner there, so resumed work finds its client at once).
        """
        self._token_pending = True
        self._on_token_loaded = on_loaded
        self.refresh_accounts()
        self._refresh_all()
        vault = self.context.vault

        def failed(exc: BaseException) -> None:
            log.warning("Could not read the API token: %s", exc)
            self._first_token(None)

        def start() -> None:
            # `vault.token()` inside the call: even looking it up may import the keyring.
            run_in_thread(lambda: vault.token(), self._first_token, failed)

        if self._painted or not self.isVisible():
            start()
        else:
            # The worker's imports would compete with the first paint for the GIL.
            self._after_paint.append(start)

    def _first_token(self, token: str | None) -> None:
        if not self._token_pending or self._closed or not self._alive():
            # Answered already (a token set in Accounts meanwhile wins over this older read),
            # or closed meanwhile (the stack is shut down: nothing to resume).
            return
        self._token_pending = False
        on_loaded, self._on_token_loaded = self._on_token_loaded, None
        self.context.client_source.set_token(token)
        if on_loaded is not None:
            try:
                on_loaded()
            except Exception as exc:
                log.exception("Could not resume the jobs")
                self.message_bar.show_message(
                    self.tr("Unfinished jobs could not be resumed: %1").replace("%1", str(exc)),
                    Level.ERROR,
                )
        # Anything that asked for a client before now must ask again.
        self.runner.client_changed()
        self.refresh_accounts()
        self._token_state_shown()
        self._refresh_all()

    def _token_loaded(self, token: str | None) -> None:
        if self._token_pending:
            self._first_token(token)  # the first answer, whichever read finishes first
            return
        self.context.client_source.set_token(token)
        self.runner.client_changed()
        self.refresh_accounts()
        self._token_state_shown()
        self._refresh_all()

    def _default_account_changed(self, email: str) -> None:
        if self.is_demo:
            return
        self.settings.default_email = email
        index = self.account_combo.findData(email)
        if index >= 0:
            self.account_combo.setCurrentIndex(index)

    def open_settings(self) -> None:
        from kling_desktop.gui.settings_dialog import SettingsDialog

        if self.is_demo:
            # What the demo runs with, greyed: readable, and why it cannot change here.
            dialog = SettingsDialog(
                self.settings,
                self,
                read_only=self.tr(
                    "The demo runs with these settings of its own: its results go to the "
                    "“%1” folder and nothing is sent to Kling. Leave the demo (File menu) to "
                    "change your own settings."
                ).replace("%1", Path(self.settings.output_folder).name),
            )
            dialog.finished.connect(dialog.deleteLater)
            self.settings_dialog = dialog
            dialog.open()
            return
        dialog = SettingsDialog(self.settings, self)
        dialog.saved.connect(self._settings_saved)
        dialog.finished.connect(dialog.deleteLater)
        self.settings_dialog = dialog
        dialog.open()

    def _settings_saved(self, _settings: object) -> None:
        source = self.context.client_source
        url = self.settings.effective_api_url()
        if url != source.base_url:
            source.base_url = url
            self.runner.client_changed()
            self.refresh_accounts()

    def open_log_folder(self) -> None:
        folder = app_paths().log_dir
        folder.mkdir(parents=True, exist_ok=True)
        open_folder(folder, self, opener=self.interactions.open_url)

    def show_about(self) -> None:
        self.help_actions.show_about()

    def toggle_demo(self) -> None:
        self.switch_mode(not self.is_demo)

    def switch_mode(self, demo: bool) -> None:
        if self._on_switch_mode is None:
            return
        # Leave the current handler first: the switch closes this window.
        switch = self._on_switch_mode
        QTimer.singleShot(0, lambda: switch(demo))

    # -- accounts combo -------------------------------------------------------------------

    def refresh_accounts(self) -> None:
        """Fetch ``GET /accounts`` off the GUI thread and fill the account choice."""
        factory = self.context.client_source.factory
        self.account_combo.clear()
        if self._token_pending:
            # load_token calls again with the answer; clips dropped meanwhile wait for it.
            self.account_combo.addItem(self.tr("Loading accounts…"), "")
            self.account_combo.setEnabled(False)
            self._accounts_loading = True
            self._update_status()
            return
        if not self.context.client_source.has_token:
            self.account_combo.addItem(self.tr("No token set up"), "")
            self.account_combo.setEnabled(False)
            self._update_status()
            self._accounts_settled()
            return
        self.account_combo.addItem(self.tr("Loading accounts…"), "")
        self.account_combo.setEnabled(False)
        self._accounts_loading = True

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
        self._accounts = accounts
        self.account_combo.clear()
        if not accounts:
            self.account_combo.addItem(self.tr("No Kling account at useapi.net"), "")
            self.account_combo.setEnabled(False)
            self.message_bar.show_message(
                self.tr("Your token has no Kling account yet. Add one in Accounts."),
                Level.WARNING,
                action=self.tr("Open accounts"),
                on_action=self.open_accounts,
            )
            self._update_status()
            self._accounts_settled()
            return
        for account in accounts:
            label = account.email
            if account.max_jobs:
                label += self.tr("  (%1 at once)").replace("%1", str(account.max_jobs))
            self.account_combo.addItem(label, account.email)
        preferred = self.settings.default_email
        index = self.account_combo.findData(preferred) if preferred else 0
        self.account_combo.setCurrentIndex(max(0, index))
        self.account_combo.setEnabled(True)
        self._update_status()
        self._accounts_settled()

    def _accounts_failed(self, exc: BaseException) -> None:
        if not self._alive():
            return
        self.account_combo.clear()
        fallback = self.settings.default_email
        self.account_combo.addItem(fallback or self.tr("Default account"), fallback)
        self.account_combo.setEnabled(False)
        details = _details_of(exc)
        log.warning("Could not list the Kling accounts: %s (%s)", exc, details)
        self.message_bar.show_message(
            self.tr("Your Kling accounts could not be listed.") + " " + str(exc),
            Level.WARNING,
            action=self.tr("Try again"),
            on_action=self.refresh_accounts,
            details=details,
        )
        self._update_status()
        self._accounts_settled()

    def _account_chosen(self, *_args: object) -> None:
        email = self.account_combo.currentData()
        if isinstance(email, str) and email and email not in self._balances:
            self._refresh_balances({email})

    def _refresh_balances(self, emails: set[str]) -> None:
        """Ask useapi.net for each account's credits (``GET /accounts/{email}``, off the GUI
        thread), for the status bar and the paid confirmations. The demo spends nothing."""
        if self.is_demo or self._token_pending or not self.context.client_source.has_token:
            return
        factory = self.context.client_source.factory
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
        self._balances[email] = total
        self._update_status()

    def _spend_request(self, jobs: list[Job], paid_jobs: Callable[[Job], int]) -> SpendRequest:
        """What the confirmation of a paid action shows: accounts, clips, jobs, credits."""
        return spend_request(
            jobs,
            paid_jobs,
            default_email=self.settings.default_email,
            balances=self._balances,
            demo=self.is_demo,
        )

    def _alive(self) -> bool:
        import shiboken6

        return shiboken6.isValid(self) and shiboken6.isValid(self.account_combo)

    # -- reacting to the runner -----------------------------------------------------------

    def _files_added(self, ids: list[int]) -> None:
        for job_id in ids:
            job = self.runner.job(job_id)
            if job is not None:
                self._adding.pop(str(job.input_path), None)
        if ids:
            self._select_job(ids[-1])

    def _jobs_changed(self, *args: object) -> None:
        self._refresh_soon(everything=True)
        changed = args[0] if args else None
        if isinstance(changed, Job):
            self._note_request_outcome(changed)
        if isinstance(changed, Job) and changed.state is JobState.DONE:
            selected = self.selected_jobs()
            if len(selected) == 1 and selected[0].id == changed.id:
                # The clip the user is looking at just got its sound: show the result.
                self.preview_selected()

    def _progress_changed(self, job_id: int, progress: Progress) -> None:
        self._refresh_soon(everything=False)  # the details line, for the selected clip
        self._note_request_outcome(self.model.job(job_id), progress)

    def _rows_changed(self, top: Any, bottom: Any, *_roles: object) -> None:
        """A row's status changed (or its clock ticked): the details under the list follow
        the selected row ("next try in 42 s" counts down there too)."""
        current = self.proxy.mapToSource(self.table.currentIndex())
        if current.isValid() and top.row() <= current.row() <= bottom.row():
            self._refresh_soon(everything=False)

    def _refresh_soon(self, *, everything: bool) -> None:
        """Refresh within REFRESH_INTERVAL_MS (not once per signal); see :meth:`_refresh_due`."""
        self._refresh_everything = self._refresh_everything or everything
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def _refresh_due(self) -> None:
        everything, self._refresh_everything = self._refresh_everything, False
        if everything:
            self._refresh_all()
        else:
            self._update_details()

    def _batch_finished(self, summary: BatchSummary) -> None:
        self.notifier.batch_finished(summary)
        # Kling charged what ran: ask for the credits again.
        emails = {j.email or self.settings.default_email for j in summary.done + summary.failed}
        self._balance_asked -= emails
        self._refresh_balances(emails)

    def _store_trouble(self, sentence: str) -> None:
        """The runner could not write the job list (locked by another program, disk full)."""
        if not sentence.rstrip().endswith("tries again."):
            # A change the user just made (adding, starting, removing, restoring clips) was
            # not written and is not retried by the runner: say so plainly.
            sentence += " " + self.tr(
                "Your last change to the list may not have been saved: check the list and do "
                "it again."
            )
        self.message_bar.show_message(sentence, Level.WARNING)

    def _connection_changed(self, online: bool, sentence: str) -> None:
        self._connection = (online, sentence)
        self._update_status()
        if not online and sentence and not _says_no_token(sentence):
            self.statusBar().showMessage(sentence, 10_000)

    def _note_request_outcome(self, job: Job | None, progress: Progress | None = None) -> None:
        """Online or offline follows the latest request's outcome, as the list shows it.

        The runner says when a poll fails or succeeds; an upload's bytes flowing, a submit
        answered or a download done say so too (the label must not read "Offline" while
        downloads run), and a "Connection problem" on a row says the opposite.
        """
        if job is None:
            return
        before = self._seen_states.get(job.id)
        self._seen_states[job.id] = job.state
        went_through = False
        if progress is not None:
            text = progress.text or ""
            if text == "Connection problem" or text.startswith(_OFFLINE_SENTENCES):
                self._connection = (False, text)
                self._update_status()
                return
            fraction = progress.fraction or 0.0
            went_through = job.state in _TRANSFERS and fraction > 0
        elif before is not None and before is not job.state:
            went_through = job.state in _AFTER_AN_ANSWER and before is not JobState.CHECKING
        if went_through and (self._connection is None or not self._connection[0]):
            self._connection = (True, "")
            self._update_status()

    def _selection_changed(self, *_args: object) -> None:
        self._update_actions()
        self._update_details()
        jobs = self.selected_jobs()
        if len(jobs) == 1:
            self.preview_selected()
        elif not jobs and self._preview is not None:
            self._preview.clear()  # type: ignore[attr-defined]  # its row went, or was let go

    def _refresh_all(self) -> None:
        has_jobs = self.model.rowCount() > 0
        if not has_jobs and self._token_pending:
            page = self.loading_page
        elif not has_jobs and not self.is_demo and not self.context.client_source.has_token:
            page = self.welcome
        else:
            page = self.jobs_page
        self.stack.setCurrentWidget(page)
        self.drop_zone.set_compact(has_jobs)
        self._fit_account_column()
        self._update_actions()
        self._update_details()
        self._update_status()

    def _update_actions(self) -> None:
        jobs = self.selected_jobs()
        single = len(jobs) == 1
        states = {j.state for j in jobs}
        kinds = {self.runner.retry_kind(j.id) for j in jobs}
        free = kinds & _FREE_RETRIES
        self.preview_action.setEnabled(single)
        self.reveal_action.setEnabled(single)
        self.copy_link_action.setEnabled(any(j.result_url for j in jobs))
        self.retry_action.setEnabled(bool(free))
        self._label_retry(free)
        self.resubmit_action.setEnabled(RetryKind.RESUBMIT in kinds)
        self.stop_action.setEnabled(JobState.PROCESSING in states)
        self.resolve_action.setEnabled(JobState.UNCERTAIN in states)
        self.cancel_action.setEnabled(bool(states & dialogs.CANCELLABLE))
        self.remove_action.setEnabled(bool(jobs))
        for button in self.row_buttons:
            action = button.defaultAction()
            if action in self._contextual_actions():
                button.setVisible(action.isEnabled())
        self.undo_action.setEnabled(bool(self._removed))
        all_jobs = self.model.jobs()
        self.retry_all_action.setEnabled(
            any(
                j.state is JobState.FAILED and self.runner.retry_kind(j.id) in _FREE_RETRIES
                for j in all_jobs
            )
        )
        ready = sum(1 for j in all_jobs if j.state is JobState.READY)
        self.add_sound_action.setEnabled(ready > 0)
        self.add_sound_button.setEnabled(ready > 0)
        self.add_sound_button.setText(
            self.tr("Add sound to %n clip(s)", "", ready) if ready else self.tr("Add sound")
        )

    def _update_details(self) -> None:
        jobs = self.selected_jobs()
        if len(jobs) != 1:
            self.details.setText(
                self.tr("%n clip(s) selected.", "", len(jobs))
                if jobs
                else self.tr("Select a clip to see its details and preview it.")
            )
            return
        job = jobs[0]
        progress = self.runner.progress(job.id)
        status = status_text(job, progress)
        lines = [
            f"<b>{html.escape(job.name, quote=False)}</b> — {html.escape(status, quote=False)}"
        ]
        if token_wait(job, progress):  # why it waits: a refused token, or none at all
            lines.append(html.escape(token_wait(job, progress), quote=False))
        if message_text(job):  # for a finished clip: where its result is
            lines.append(html.escape(message_text(job), quote=False))
        if job.state is JobState.READY:
            lines.append(self.tr("Ready. Nothing is sent until you press Add sound."))
        self.details.setText("<br>".join(lines))

    def _update_status(self, *_args: object) -> None:
        counts: dict[str, int] = {}
        for job in self.model.jobs():
            key = _count_group(job.state)
            counts[key] = counts.get(key, 0) + 1
        words: dict[str, Callable[[int], str]] = {
            "ready": lambda n: self.tr("%n ready", "", n),
            "active": lambda n: self.tr("%n in progress", "", n),
            "done": lambda n: self.tr("%n done", "", n),
            "attention": lambda n: self.tr("%n need(s) attention", "", n),
        }
        parts = [say(counts[key]) for key, say in words.items() if counts.get(key)]
        self.counts_label.setText(" · ".join(parts) if parts else self.tr("No clips yet"))
        email = self.account_combo.currentData()
        if self.is_demo:
            account = self.tr("Demo account")
        elif self._token_pending:
            account = ""
        elif not self.context.client_source.has_token:
            account = self.tr("No token")
        else:
            account = email if isinstance(email, str) and email else self.tr("Default account")
            credits = self._balances.get(email) if isinstance(email, str) else None
            if credits is not None:
                account += " · " + self.tr("%Ln credit(s)", "", credits)
        self.account_label.setText(account)
        if self._connection is None:
            self.connection_label.setText(self.tr("Simulator") if self.is_demo else "")
            return
        online, sentence = self._connection
        if online:
            label = self.tr("Simulator") if self.is_demo else self.tr("Connected")
        elif not self.context.client_source.has_token:
            label = ""  # the account label says "No token" already
        elif _says_no_token(sentence):
            label = self.tr("Token not accepted")
        else:
            label = self.tr("Offline")
        self.connection_label.setText(label)
        self.connection_label.setToolTip(sentence)

    # -- closing --------------------------------------------------------------------------

    def close_for_switch(self) -> None:
        """Close without asking (the launcher swaps modes or the app quits)."""
        self._closing_for_switch = True
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:
        # With clips at Kling: quit (they resume next time), keep working in the background
        # (tray or minimised), or cancel.
        if not self._closing_for_switch and not self.background.may_close():
            event.ignore()
            return
        self._closed = True
        self._save_layout()
        self.notifier.close()
        stop = getattr(self._preview, "clear", None)
        if callable(stop):
            stop()
        event.accept()
        super().closeEvent(event)
        self.closed.emit()


#: States a job reaches only once a request was answered (a submit, a poll, a download).
_AFTER_AN_ANSWER = frozenset({JobState.PROCESSING, JobState.DOWNLOADING, JobState.DONE})
#: States whose progress is bytes going over the network.
_TRANSFERS = frozenset({JobState.UPLOADING, JobState.DOWNLOADING})
#: How the errors for "no connection" begin (api.errors NetworkError and Timeout).
_OFFLINE_SENTENCES = (NetworkError.summary, Timeout.summary)

#: What Retry does: never a new paid job (that is "Send again (new paid job)…").
_FREE_RETRIES = frozenset({RetryKind.CHECK, RetryKind.SEND, RetryKind.TRACK, RetryKind.DOWNLOAD})


def _count_group(state: JobState) -> str:
    if state is JobState.READY:
        return "ready"
    if state is JobState.DONE:
        return "done"
    if state.is_active:
        return "active"
    return "attention"


def _quoted(name: str) -> str:
    return f"“{name}”"


def _result_of(job: Job) -> Path | None:
    return job.output_path if job.state is JobState.DONE else None


def _details_of(exc: BaseException) -> str:
    """The technical side of a failure, for "Details" (never the sentence itself)."""
    if isinstance(exc, ApiError):
        return exc.details
    return f"{type(exc).__name__}: {exc}"


def _says_no_token(text: str) -> bool:
    """A sentence about a missing or refused token (the runner's, the pipeline's, ours)."""
    lowered = text.casefold()
    return "token" in lowered and any(
        words in lowered
        for words in ("no useapi.net api token", "no working api token", "token first",
                      "did not accept the api token", "no token")
    )  # fmt: skip
