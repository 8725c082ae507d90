"""Every action of the window (menus, shortcuts, the row buttons), its label and when it applies.

The actions are built here unconnected; the window connects each to what does it. They are
added to the window, so their shortcuts work wherever its focus is (unless a narrower context
is given), and the Help's shortcut list reads them from there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QCoreApplication, QObject, Qt, QUrl
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QMainWindow, QMenu, QStyle, QToolButton, QWidget

from kling_desktop.gui import dialogs, plurals
from kling_desktop.gui.help import HelpActions, Shortcut, native_keys
from kling_desktop.gui.job_table import JobFilter
from kling_desktop.jobs.model import Job, JobState
from kling_desktop.jobs.policy import RetryKind

#: What Retry does: never a new paid job (that is "Send again (new paid job)…").
FREE_RETRIES = frozenset({RetryKind.CHECK, RetryKind.SEND, RetryKind.TRACK, RetryKind.DOWNLOAD})


def quoted(name: str) -> str:
    return f"“{name}”"


class WindowActions(QObject):
    """The window's actions, one attribute each, and how they follow the selection."""

    def __init__(self, window: QWidget, *, demo: bool) -> None:
        super().__init__(window)
        self._window = window
        SP = QStyle.StandardPixmap
        table_only = Qt.ShortcutContext.WidgetWithChildrenShortcut
        self.add_clips_action = self._action(
            self.tr("&Add clips…"), QKeySequence.StandardKey.Open, icon=SP.SP_DialogOpenButton
        )
        self.add_sound_action = self._action(
            self.tr("Add &sound"), "Ctrl+Return", icon=SP.SP_MediaPlay,
            tip=self.tr("Send the ready clips to Kling (paid)"),
        )  # fmt: skip
        self.preview_action = self._action(self.tr("&Play"), None, icon=SP.SP_MediaPlay)
        self.preview_action.setToolTip(
            self.tr("Play the clip with its new sound, or the original before it has one (Enter)")
        )
        self.reveal_action = self._action(
            self.tr("Show in &folder"), "Ctrl+Shift+O", icon=SP.SP_DirOpenIcon
        )
        self.copy_link_action = self._action(self.tr("&Copy result link"), "Ctrl+Shift+C")
        # Retry never spends: it checks, sends what was already confirmed, tracks or
        # downloads again. Its label says which (label_retry); a new paid job is the
        # separate "Send again (new paid job)…".
        self.retry_action = self._action(
            self.tr("&Retry"), "Ctrl+R", icon=SP.SP_BrowserReload,
            tip=self.tr("Pick the job up where it stopped, at no new cost"),
        )  # fmt: skip
        self.retry_all_action = self._action(
            self.tr("Retry a&ll failed (no new cost)"), "Ctrl+Shift+R",
            tip=self.tr(
                "Track, download or send again what failed — never a new paid Kling job"
            ),
        )  # fmt: skip
        self.resubmit_action = self._action(
            self.tr("Send a&gain (new paid job)…"), None, icon=SP.SP_ArrowForward,
            tip=self.tr(
                "Start a new paid Kling job for a clip Kling failed or lost (asks first)"
            ),
        )  # fmt: skip
        # Its button keeps the "…" (Qt drops it from an action's icon text): a question follows.
        self.resubmit_action.setIconText(self.tr("Send again (new paid job)…"))
        self.cancel_action = self._action(
            self.tr("Ca&ncel (back to Ready)"), "Esc",
            icon=SP.SP_DialogCancelButton, context=table_only,
            tip=self.tr("Take back clips that have not reached Kling yet; nothing is spent"),
        )  # fmt: skip
        self.stop_action = self._action(
            self.tr("S&top tracking… (Kling still runs and charges it)"),
            "Ctrl+Shift+T",
            icon=SP.SP_MediaStop,
        )
        self.resolve_action = self._action(
            self.tr("Resol&ve…"), "Ctrl+Shift+U", icon=SP.SP_MessageBoxQuestion,
            tip=self.tr("Decide what to do with a job whose submit has no known outcome"),
        )  # fmt: skip
        self.remove_action = self._action(
            self.tr("Re&move from list"), QKeySequence.StandardKey.Delete,
            icon=SP.SP_TrashIcon, context=table_only,
            tip=self.tr("Remove from the list (files are kept; Edit → Undo brings it back)"),
        )  # fmt: skip
        self.undo_action = self._action(self.tr("&Undo remove"), QKeySequence.StandardKey.Undo)
        self.undo_action.setEnabled(False)
        self.accounts_action = self._action(self.tr("&Accounts and token…"), "Ctrl+Shift+A")
        self.settings_action = self._action(
            self.tr("&Settings…"), QKeySequence.StandardKey.Preferences
        )
        if self.settings_action.shortcut().isEmpty():
            self.settings_action.setShortcut(QKeySequence("Ctrl+,"))
        self.log_folder_action = self._action(self.tr("Open &log folder"))
        self.about_action = self._action(self.tr("&About Kling Desktop"))
        self.quit_action = self._action(self.tr("&Quit"), QKeySequence.StandardKey.Quit)
        self.demo_action = self._action(
            self.tr("Leave the &demo") if demo else self.tr("Try the &demo")
        )
        # The selected clip's sound: its options panel, and its takes in the preview.
        self.sound_options_action = self._action(
            self.tr("Sound &options"), "Ctrl+L",
            tip=self.tr("Set the sound of the selected clips: levels, loudness, takes, export"),
        )  # fmt: skip
        self.take_actions = [self._take_action(k) for k in range(4)]
        self.original_action = self._action(
            self.tr("Play the o&riginal"), "0",
            tip=self.tr("Play the selected clip as it was dropped, for comparison"),
        )  # fmt: skip
        self.use_take_action = self._action(
            self.tr("&Use this take (free)"), "Ctrl+U",
            tip=self.tr(
                "Make the take on show the result: remixed on this computer, nothing is paid"
            ),
        )  # fmt: skip
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
            action = self._action(labels[job_filter], f"Ctrl+{number}")
            action.setCheckable(True)
            self.filter_action_group.addAction(action)
            self.filter_actions[job_filter] = action
        self.filter_actions[JobFilter.ALL].setChecked(True)

    def _take_action(self, take: int) -> QAction:
        """Keys 1–4: play take ``take`` (0-based) of the selected clip."""
        number = str(take + 1)
        return self._action(
            self.tr("Play take &%1").replace("%1", number),
            number,
            tip=self.tr("Play take %1 of the selected clip in the preview").replace("%1", number),
        )

    def _action(
        self,
        text: str,
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
        *,
        icon: QStyle.StandardPixmap | None = None,
        tip: str = "",
        context: Qt.ShortcutContext = Qt.ShortcutContext.WindowShortcut,
    ) -> QAction:
        action = QAction(text, self._window)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(context)
        if icon is not None:
            action.setIcon(self._window.style().standardIcon(icon))
        if tip or shortcut is not None:
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            plain = text.replace("&", "").replace("…", "")
            action.setToolTip(f"{tip or plain} ({keys})" if keys else tip)
        self._window.addAction(action)
        return action

    def row_actions(self) -> list[QAction]:
        """What can be done to the selected rows (the Jobs menu, the context menu)."""
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

    def contextual_actions(self) -> tuple[QAction, ...]:
        """Row buttons shown only when they apply to the selection."""
        return (
            self.retry_action,
            self.resubmit_action,
            self.resolve_action,
            self.stop_action,
            self.cancel_action,
        )

    def follow(
        self,
        selected: Sequence[Job],
        every_job: Sequence[Job],
        retry_kind: Callable[[int], RetryKind | None],
        *,
        can_undo: bool,
    ) -> None:
        """Enable what applies to ``selected`` (and, for the list-wide actions, every job)."""
        single = len(selected) == 1
        states = {j.state for j in selected}
        kinds = {retry_kind(j.id) for j in selected}
        free = {kind for kind in kinds if kind in FREE_RETRIES}
        self.preview_action.setEnabled(single)
        self.reveal_action.setEnabled(single)
        self.copy_link_action.setEnabled(any(j.result_url for j in selected))
        self.retry_action.setEnabled(bool(free))
        self.label_retry(free)
        self.resubmit_action.setEnabled(RetryKind.RESUBMIT in kinds)
        self.stop_action.setEnabled(JobState.PROCESSING in states)
        self.resolve_action.setEnabled(JobState.UNCERTAIN in states)
        self.cancel_action.setEnabled(bool(states & dialogs.CANCELLABLE))
        self.remove_action.setEnabled(bool(selected))
        self.undo_action.setEnabled(can_undo)
        self.retry_all_action.setEnabled(
            any(j.state is JobState.FAILED and retry_kind(j.id) in FREE_RETRIES for j in every_job)
        )
        self.add_sound_action.setEnabled(any(j.state is JobState.READY for j in every_job))
        self.sound_options_action.setEnabled(bool(selected))
        self.follow_takes(selected[0] if single else None)

    def follow_takes(self, job: Job | None) -> None:
        """Keys 1–4 play the takes a selected clip has, 0 its original."""
        done = job is not None and job.state is JobState.DONE
        takes = job.options.takes if job is not None and done else 0
        for k, action in enumerate(self.take_actions):
            action.setEnabled(k < max(takes, 1) and done)
        self.original_action.setEnabled(job is not None)
        self.use_take_action.setEnabled(takes > 1)

    def label_retry(self, kinds: set[RetryKind]) -> None:
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

    def label_undo(self, last: Sequence[Job] | None) -> None:
        """Say what Edit → Undo brings back (``last``: the latest removal, if any)."""
        self.undo_action.setEnabled(bool(last))
        if not last:
            self.undo_action.setText(self.tr("&Undo remove"))
            return
        self.undo_action.setText(
            self.tr("&Undo remove of %1").replace("%1", quoted(last[0].name))
            if len(last) == 1
            else self.tr("&Undo remove of %n clip(s)", "", len(last))
        )


def build_menus(
    window: QMainWindow,
    a: WindowActions,
    *,
    opener: Callable[[QUrl], bool],
) -> tuple[QMenu, HelpActions]:
    """File, Edit, Jobs, View, Tools and Help on ``window``'s menu bar; returns the Jobs menu
    and the Help menu's actions."""
    bar = window.menuBar()
    file_menu = bar.addMenu(window.tr("&File"))
    file_menu.addAction(a.add_clips_action)
    file_menu.addAction(a.add_sound_action)
    file_menu.addSeparator()
    file_menu.addAction(a.demo_action)
    file_menu.addSeparator()
    file_menu.addAction(a.quit_action)
    edit_menu = bar.addMenu(window.tr("&Edit"))
    edit_menu.addAction(a.undo_action)
    jobs_menu = bar.addMenu(window.tr("&Jobs"))
    for action in a.row_actions():
        jobs_menu.addAction(action)
    jobs_menu.addSeparator()
    jobs_menu.addAction(a.retry_all_action)
    view_menu = bar.addMenu(window.tr("&View"))
    for action in a.filter_actions.values():
        view_menu.addAction(action)
    sound_menu = bar.addMenu(window.tr("&Sound"))
    sound_menu.addAction(a.sound_options_action)
    sound_menu.addSeparator()
    for action in (*a.take_actions, a.original_action, a.use_take_action):
        sound_menu.addAction(action)
    tools = bar.addMenu(window.tr("&Tools"))
    tools.addAction(a.accounts_action)
    tools.addAction(a.settings_action)
    help_menu = bar.addMenu(window.tr("&Help"))
    help_actions = HelpActions(window, window.actions, opener=opener, extra_keys=_preview_keys)
    help_actions.fill(help_menu, log_folder=a.log_folder_action, about=a.about_action)
    return jobs_menu, help_actions


def _preview_keys() -> list[Shortcut]:
    """The list's and the preview's own keys, for the shortcut list (the preview is
    imported late)."""
    with plurals.suspended():  # importing it loads QtMultimedia
        from kling_desktop.gui.preview import keyboard_keys

    return [*_list_keys(), *keyboard_keys()]


def _list_keys() -> list[Shortcut]:
    def tr(text: str) -> str:
        return QCoreApplication.translate("JobTableView", text)

    group = tr("The list (when it has the focus)")
    return [
        Shortcut(group, tr("Play the selected clip (its result, else the original)"), "Enter"),
        Shortcut(group, tr("Play or pause"), native_keys("Space")),
        Shortcut(group, tr("Previous or next clip"), native_keys("Up", "Down")),
        Shortcut(group, tr("First or last clip"), native_keys("Home", "End")),
        Shortcut(group, tr("Select several"), native_keys("Shift+Up", "Shift+Down")),
    ]


class RowButtons(QWidget):
    """The selected row's actions as buttons under the list; the contextual ones show only
    while they apply (eight buttons would not fit)."""

    def __init__(self, actions: WindowActions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._contextual = actions.contextual_actions()
        row_actions = QHBoxLayout(self)
        row_actions.setContentsMargins(0, 0, 0, 0)
        row_actions.setSpacing(4)
        self.buttons: list[QToolButton] = []
        shown = (
            actions.preview_action,
            actions.reveal_action,
            actions.retry_action,
            actions.resubmit_action,
            actions.resolve_action,
            actions.stop_action,
            actions.cancel_action,
            actions.remove_action,
        )
        for action in shown:
            row_button = QToolButton()
            row_button.setDefaultAction(action)
            row_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            row_button.setAutoRaise(True)
            row_button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # on Tab too, on every style
            row_button.setAccessibleName(action.iconText().replace("&", "").replace("…", ""))
            row_button.setVisible(action not in self._contextual)
            self.buttons.append(row_button)
            row_actions.addWidget(row_button)
        row_actions.addStretch(1)
        # The full "(Kling still runs and charges it)" is in the menus and the tooltip.
        stop = actions.stop_action
        stop_button = self.buttons[shown.index(stop)]
        stop_button.setText(self.tr("Stop tracking…"))
        stop_button.setAccessibleName(self.tr("Stop tracking"))
        stop.changed.connect(lambda: stop_button.setText(self.tr("Stop tracking…")))
        retry = actions.retry_action
        retry_button = self.buttons[shown.index(retry)]
        retry.changed.connect(lambda: retry_button.setAccessibleName(retry.text().replace("&", "")))

    def follow_actions(self) -> None:
        """Show the contextual buttons whose actions apply now."""
        for button in self.buttons:
            action = button.defaultAction()
            if action in self._contextual:
                button.setVisible(action.isEnabled())
