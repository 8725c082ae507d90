"""The main window: drop clips, choose the options, press "Add sound", watch the list.

It composes and wires; it does no work of its own. Its parts, each in its own module:
:class:`WindowActions` (every action, its label and when it applies) and :class:`JobCommands`
(what they do to the jobs), :class:`Session` (the token, the accounts and the clips queued
behind them), :class:`ClipIntake` (adding clips), :class:`WindowStatus` (the status bar),
:class:`OptionsStrip` with its :class:`AccountPicker`, :class:`WelcomePanel`, the list
(:class:`JobTableView`, :class:`FilterBar`) and the preview. All work goes through the
:class:`JobRunner` (DESIGN §3), anything slow through :func:`run_in_thread`, and questions to
the user and calls into the desktop through :class:`Interactions`, which tests replace.
"""

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QMainWindow,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kling_desktop import APP_NAME
from kling_desktop.gui.actions import WindowActions, build_menus
from kling_desktop.gui.background import Background
from kling_desktop.gui.clip_intake import ClipIntake
from kling_desktop.gui.desktop_notify import DesktopNotifications
from kling_desktop.gui.focus import FocusRing
from kling_desktop.gui.interactions import Interactions
from kling_desktop.gui.job_commands import JobCommands
from kling_desktop.gui.job_table import JobFilter, JobTableModel, default_thumbnail_maker
from kling_desktop.gui.job_view import JobFilterProxy
from kling_desktop.gui.jobs_page import JobsPage, restore_layout, save_layout
from kling_desktop.gui.notify import Level, MessageBar, Notifier
from kling_desktop.gui.runner_news import RunnerNews
from kling_desktop.gui.selection import SelectionFollower
from kling_desktop.gui.session import Session
from kling_desktop.gui.settings_saver import SettingsSaver
from kling_desktop.gui.sound_commands import SoundCommands, new_clip_options
from kling_desktop.gui.status_bar import WindowStatus
from kling_desktop.gui.timing import AfterFirstPaint, Coalescer
from kling_desktop.gui.tool_dialogs import ToolDialogs
from kling_desktop.gui.welcome import WelcomePanel
from kling_desktop.jobs.model import Job, JobOptions

if TYPE_CHECKING:
    from kling_desktop.gui.launch import AppContext
    from kling_desktop.gui.preview import PreviewPane

__all__ = ["REFRESH_INTERVAL_MS", "Interactions", "MainWindow"]

log = logging.getLogger(__name__)

#: Where an older version kept "Don't ask again" for the paid confirmation; removed at start
#: (the only opt-out now is the Settings choice that names its cost).
_OLD_SKIP_SPEND_CONFIRM = "confirm/skip_spend"
#: Runner news (job changes, progress) refresh the actions, details and counts at most this
#: often; the table's own rows update at once.
REFRESH_INTERVAL_MS = 50


class MainWindow(QMainWindow):
    """Drop zone, options, job table, details and preview, with menus and status bar."""

    #: After the window closed for good (the launcher then shuts the stack down).
    closed = Signal()

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
        self._interactions = interactions or Interactions()
        self._on_switch_mode = on_switch_mode
        self._ui = context.ui_state
        self._closing_for_switch = False
        self._closed = False
        # One refresh per REFRESH_INTERVAL_MS however many runner signals arrive: during a
        # drop of 50 clips they come by the hundred, and a refresh looks at every job.
        self._refresh = Coalescer(REFRESH_INTERVAL_MS, parent=self)
        self._refresh.everything_due.connect(lambda: self._refresh_all())
        self._refresh.details_due.connect(lambda: self._update_details())
        self._ui.remove(_OLD_SKIP_SPEND_CONFIRM)
        #: The one writer of the settings this window changes (none in the demo).
        self.settings_saver = SettingsSaver(self.settings, context.settings_file, parent=self)

        # Most desktops add " — Kling Desktop" (the application's display name) to a title that
        # does not end with it: end with it, once.
        self.setWindowTitle(
            self.tr("Demo — %1").replace("%1", APP_NAME) if self.is_demo else APP_NAME
        )
        self.setAcceptDrops(True)

        self.model = JobTableModel(
            self.runner,
            thumbnail_maker=default_thumbnail_maker(context.paths.thumbnail_dir),
            parent=self,
        )
        self.proxy = JobFilterProxy(self)
        self.proxy.setSourceModel(self.model)

        self.acts = WindowActions(self, demo=self.is_demo)
        self._build_central()
        self.session = Session(
            context, self.account_combo, self.message_bar, open_accounts=self.open_accounts,
            leave_demo=lambda: self.switch_mode(False), parent=self,
        )  # fmt: skip
        self.intake = ClipIntake(
            self, context, self.session, self.interactions, self.message_bar,
            jobs=self.model.jobs, job_options=self.current_options, added=self._show_jobs_page,
        )  # fmt: skip
        self.commands = JobCommands(
            self, context, self.session, self.interactions, self.acts, self.message_bar,
            self.statusBar(), selected=self.selected_jobs, jobs=self.model.jobs,
            open_accounts=self.open_accounts,
        )  # fmt: skip
        self.tools = ToolDialogs(self, context, self.interactions, self.acts, self.settings_saver)
        self._connect_actions()
        self.jobs_menu, self.help_actions = build_menus(
            self, self.acts, opener=self.interactions.open_url
        )
        self.status = WindowStatus(
            self.statusBar(), demo=lambda: self.is_demo, has_token=lambda: self.session.has_token
        )
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
            demo=self.is_demo,
        )
        self.news = RunnerNews(self)
        self.follower = SelectionFollower(self)
        self._wire()
        # After the window's own reactions: a finished remix plays once the result is shown.
        self.sound = SoundCommands(
            self.runner, self.jobs_page.sound_panel, selected=self.selected_jobs, parent=self
        )
        self.sound.remixed.connect(self.follower.remixed)
        self.jobs_page.sound_panel.status_shown.connect(
            lambda text: self.statusBar().showMessage(text, 5000)
        )
        self._restore_layout()
        self._refresh_all()
        self.session.refresh_accounts()
        self._painted = False
        self._after_paint: list[Callable[[], None]] = []
        AfterFirstPaint(self, self._first_paint_done)

    # -- properties -----------------------------------------------------------------------

    @property
    def interactions(self) -> Interactions:
        """Every question and call into the desktop (tests set their own)."""
        return self._interactions

    @interactions.setter
    def interactions(self, interactions: Interactions) -> None:
        self._interactions = interactions
        for part in (self.intake, self.commands, self.tools):
            part.interactions = interactions

    @property
    def is_demo(self) -> bool:
        return self.context.demo is not None

    @property
    def preview(self) -> PreviewPane:
        """The preview pane, built on first use (or just after the window first painted)."""
        return self.jobs_page.preview

    def _first_paint_done(self) -> None:
        """What waits for the window to be on screen: the token read, then the preview pane."""
        self._painted = True
        waiting, self._after_paint = self._after_paint, []
        for start in waiting:
            start()
        if not self._closed and self._alive():
            self.jobs_page.load_exports()
            _ = self.jobs_page.preview

    def _alive(self) -> bool:
        import shiboken6

        return shiboken6.isValid(self) and shiboken6.isValid(self.account_combo)

    # -- building -------------------------------------------------------------------------

    def _connect_actions(self) -> None:
        a = self.acts
        # JobCommands and ToolDialogs connected theirs; these are the window's own.
        slots: list[tuple[Any, Callable[[], Any]]] = [
            (a.add_clips_action, self.intake.choose_files),
            (a.preview_action, self.play_selected),
            (a.about_action, lambda: self.help_actions.show_about()),
            (a.quit_action, self.close),
            (a.demo_action, lambda: self.switch_mode(not self.is_demo)),
        ]
        for action, slot in slots:
            action.triggered.connect(slot)
        for job_filter, action in a.filter_actions.items():
            action.triggered.connect(functools.partial(self.set_filter, job_filter))

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

        self.jobs_page = page = JobsPage(self.model, self.proxy, self.acts)
        # The parts the window wires (and tests reach) by their own names.
        self.drop_zone = page.drop_zone
        self.options = page.options
        self.account_combo = page.options.account_combo
        self.filter_bar = page.filter_bar
        self.table = page.table
        self.table.set_menu_actions([*self.acts.row_actions(), None, self.acts.retry_all_action])
        self.details = page.details
        self.splitter = page.splitter

        self.welcome = WelcomePanel()
        # Shown (empty) while the token is being read and the list is empty: it is not yet
        # known whether the welcome panel or the drop zone is the right first thing to show.
        self.loading_page = QWidget()
        self.loading_page.setObjectName("loadingPage")

        self.stack = QStackedWidget()
        self.stack.addWidget(page)
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.loading_page)
        outer.addWidget(self.stack, 1)
        self.setCentralWidget(central)

        # A clear ring around whatever has the keyboard's focus (styles draw it faintly); the
        # preview draws its own around its controls.
        self.focus_ring = FocusRing(central)
        self.focus_ring.watch(
            *page.focus_chain(),
            *self.demo_bar.focus_widgets(),
            *self.message_bar.focus_widgets(),
            self.welcome.set_up_button,
            self.welcome.demo_button,
        )
        self._set_tab_order()

    def _set_tab_order(self) -> None:
        """Tab walks the window as it reads: the messages, then the page (the drop zone, the
        options, the view filters, the list, the preview's controls, the row's actions)."""
        chain: list[QWidget] = [
            *self.demo_bar.focus_widgets(),
            *self.message_bar.focus_widgets(),
            *self.jobs_page.focus_chain(),
        ]
        for before, after in itertools.pairwise(chain):
            QWidget.setTabOrder(before, after)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        QTimer.singleShot(0, self, self.jobs_page.balance_split)  # once the layout has the new size

    def _wire(self) -> None:
        self.news.connect_to()
        self.session.token_settled.connect(self._token_settled)
        self.tools.token_changed.connect(self.session.token_changed)
        self.tools.default_account_changed.connect(self.session.default_account_changed)
        self.tools.api_url_changed.connect(self.session.refresh_accounts)
        self.jobs_page.preview_built.connect(self._set_tab_order)
        self.welcome.set_up.connect(self.open_accounts)
        self.welcome.try_demo.connect(lambda: self.switch_mode(True))
        self.drop_zone.dropped.connect(self.intake.deliver_drop)
        self.drop_zone.add_clicked.connect(self.intake.choose_files)
        self.filter_bar.chosen.connect(self.set_filter)
        self.session.accounts_changed.connect(self._update_status)
        self.table.selectionModel().selectionChanged.connect(self.follower.changed)
        self.table.doubleClicked.connect(lambda _index: self.play_selected())
        self.table.play_requested.connect(self.play_selected)
        self.table.toggle_requested.connect(self.toggle_play)
        self.account_combo.currentIndexChanged.connect(self._update_status)
        self.follower.connect_sound_actions(self.acts)

    # -- layout memory --------------------------------------------------------------------

    def _restore_layout(self) -> None:
        restore_layout(self, self.jobs_page, self._ui)

    def _save_layout(self) -> None:
        save_layout(self, self.jobs_page, self._ui)

    # -- adding clips ---------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        self.intake.drop.enter(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        self.intake.drop.enter(event)

    def dropEvent(self, event: QDropEvent) -> None:
        self.intake.drop.drop(event)

    def add_paths(self, paths: list[Path]) -> None:
        """Add clips (files or folders); see :meth:`ClipIntake.add_paths`."""
        self.intake.add_paths(paths)

    def add_sample_clip(self) -> None:
        self.intake.add_sample_clip()

    def _show_jobs_page(self) -> None:
        if self.stack.currentWidget() is not self.jobs_page:
            self.stack.setCurrentWidget(self.jobs_page)

    def current_options(self) -> JobOptions:
        """The options a clip added now gets: the chosen account, the Settings' defaults."""
        return new_clip_options(
            self.settings,
            email=self.account_combo.current_email(),
            keep_original_sound=self.settings.keep_original_sound,
            output_dir=self.settings.output_folder,
        )

    # -- selection and the preview --------------------------------------------------------

    def selected_jobs(self) -> list[Job]:
        return self.table.selected_jobs()

    def select_job(self, job_id: int | None) -> None:
        if job_id is not None:
            self.table.select_job(job_id)

    def preview_selected(self) -> None:
        """Show the selected clip in the preview (its first frame; nothing plays)."""
        self.follower.preview_selected()

    def play_selected(self) -> None:
        """Enter, double-click, Play: the selected clip's result, or its original."""
        self.follower.play_selected()

    def toggle_play(self) -> None:
        """Space in the list: play or pause what the preview shows."""
        self.follower.toggle_play()

    def set_filter(self, job_filter: JobFilter) -> None:
        self.proxy.set_job_filter(job_filter)
        for each, action in self.acts.filter_actions.items():
            action.setChecked(each is job_filter)
        self.filter_bar.show_filter(job_filter)
        self._update_actions()

    # -- dialogs --------------------------------------------------------------------------

    def open_accounts(self) -> None:
        self.tools.open_accounts()

    def open_settings(self) -> None:
        self.tools.open_settings()

    def load_token(self, on_loaded: Callable[[], None] | None = None) -> None:
        """Read the token from the vault off the GUI thread (DESIGN §4.3), then use it.

        Until the answer the window offers no token set-up and says nothing about a missing
        token, and clips added meanwhile wait with the account choice. ``on_loaded`` runs once
        the client source has the token, before the runner is told (the launcher resumes the
        runner there, so resumed work finds its client at once).
        """
        self.session.begin_token_read(on_loaded)
        self._refresh_all()
        if self._painted or not self.isVisible():
            self.session.read_token()
        else:
            # The worker's imports would compete with the first paint for the GIL.
            self._after_paint.append(self.session.read_token)

    def _token_settled(self) -> None:
        """What was said about a missing or refused token goes once one is set up."""
        if not self.session.token_pending and self.session.has_token:
            self.status.forget_token_trouble()
        self._refresh_all()

    def switch_mode(self, demo: bool) -> None:
        if self._on_switch_mode is None:
            return
        # Leave the current handler first: the switch closes this window.
        switch = self._on_switch_mode
        QTimer.singleShot(0, lambda: switch(demo))

    # -- what the window shows ------------------------------------------------------------

    def _refresh_all(self) -> None:
        has_jobs = self.model.rowCount() > 0
        if not has_jobs and self.session.token_pending:
            page = self.loading_page
        elif not has_jobs and not self.is_demo and not self.session.has_token:
            page = self.welcome
        else:
            page = self.jobs_page
        self.stack.setCurrentWidget(page)
        if page is self.jobs_page and self._focus_unplaced(has_jobs):
            # The keyboard starts in the list (or, while it is empty, on the drop zone,
            # where Enter chooses clips), not nowhere; the first clips take it to the list.
            (self.table if has_jobs else self.drop_zone).setFocus(Qt.FocusReason.OtherFocusReason)
        self.drop_zone.set_compact(has_jobs)
        self.table.fit_account_column()
        self._update_actions()
        self._update_details()
        self._update_status()

    def _focus_unplaced(self, has_jobs: bool) -> bool:
        """No control of the window has the keyboard yet (or only the empty list's drop
        zone, now that there are clips)."""
        focus = self.focusWidget()
        return focus is None or (has_jobs and focus is self.drop_zone)

    def _update_actions(self) -> None:
        self.follower.update_actions()

    def _update_details(self) -> None:
        self.follower.update_details()

    def refresh_soon(self, *, everything: bool) -> None:
        """Refresh the actions, details and counts (or only the details) in a moment."""
        self._refresh.soon(everything=everything)

    def update_status(self) -> None:
        self._update_status()

    def _update_status(self, *_args: object) -> None:
        account = self.session.account_text(self.account_combo.current_email())
        self.status.show(self.model.jobs(), account)

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
        self.session.close()
        self._save_layout()
        self.notifier.close()
        self.jobs_page.clear_preview()
        event.accept()
        super().closeEvent(event)
        self.closed.emit()
