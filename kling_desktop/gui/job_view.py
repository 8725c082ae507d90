"""The list of jobs as the window shows it: the table view (its columns, its keys) and the
row of view filters above it."""

from __future__ import annotations

import time
from collections.abc import Sequence

from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QPoint,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QRadioButton,
    QStyle,
    QTableView,
    QToolButton,
    QWidget,
)

from kling_desktop.gui.job_delegate import JobDelegate
from kling_desktop.gui.job_table import (
    JOB_ROLE,
    SORT_ROLE,
    AnyIndex,
    Column,
    JobFilter,
    JobTableModel,
)
from kling_desktop.jobs.model import Job

#: The columns of a fixed or user-given width (the others share what is left).
_SIZED_COLUMNS = (Column.THUMBNAIL, Column.DURATION, Column.ACCOUNT, Column.STATE)


class JobTableView(QTableView):
    """The jobs, one row each: Enter plays the selected clip, Space plays or pauses (Tab
    leaves the list; the arrow keys move inside it). Columns are sized for what they hold,
    and a list too narrow for all of them leaves out Details rather than scroll sideways."""

    #: Enter: play the selected clip.
    play_requested = Signal()
    #: Space: play or pause what the preview shows.
    toggle_requested = Signal()

    def __init__(
        self,
        model: JobTableModel,
        proxy: QSortFilterProxyModel,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._jobs = model
        self.setObjectName("jobTable")
        self.setAccessibleName(self.tr("Jobs"))
        self.setAccessibleDescription(
            self.tr("Enter plays the selected clip, Space plays or pauses, Delete removes it")
        )
        self.setTabKeyNavigation(False)
        self.setModel(proxy)
        self._delegate = JobDelegate(self, model)
        self.setItemDelegate(self._delegate)
        self.setSortingEnabled(True)
        self.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setAlternatingRowColors(True)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.verticalHeader().hide()
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.verticalHeader().setDefaultSectionSize(max(self.fontMetrics().height() + 10, 53))
        self._account_sized_by_user = False
        self._sizing_columns = False
        self._size_columns()
        self.horizontalHeader().sectionResized.connect(self._section_resized)
        self._menu_actions: list[QAction | None] = []
        self.customContextMenuRequested.connect(self._context_menu)
        # During a burst of row changes (a drop of 50 clips: checks, uploads, progress) the
        # list is redrawn at most every REPAINT_MS; the model's rows are current at once.
        self._last_change = 0.0
        # The rows and columns (top, bottom, left, right) of changes not yet drawn.
        self._held: tuple[int, int, int, int] | None = None
        self._repaint = QTimer(self)
        self._repaint.setSingleShot(True)
        self._repaint.timeout.connect(self._draw_held)
        model.shown_rows = self.shown_source_rows
        # Remove takes the selected rows away; the keyboard's place (the current row, which
        # Qt moves to a neighbour) becomes the selection, so Delete again removes the next.
        proxy.rowsRemoved.connect(
            lambda *_: QTimer.singleShot(0, self, self._select_current_if_none)
        )

    def _select_current_if_none(self) -> None:
        current = self.currentIndex()
        if current.isValid() and not self.selectionModel().hasSelection():
            self.selectionModel().select(
                current,
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )

    def set_menu_actions(self, actions: list[QAction | None]) -> None:
        """What a right click on a row offers (None: a separator)."""
        self._menu_actions = actions

    def _context_menu(self, pos: QPoint) -> None:
        if not self.indexAt(pos).isValid():
            return
        menu = QMenu(self.window())
        for action in self._menu_actions:
            if action is None:
                menu.addSeparator()
            else:
                menu.addAction(action)
        menu.popup(self.viewport().mapToGlobal(pos))

    def selected_jobs(self) -> list[Job]:
        """The selected rows' jobs, top to bottom, as the model has them now."""
        jobs = []
        for index in sorted(self.selectionModel().selectedRows(), key=lambda i: i.row()):
            job = index.data(JOB_ROLE)
            if isinstance(job, Job):
                jobs.append(self._jobs.job(job.id) or job)
        return jobs

    def select_job(self, job_id: int) -> None:
        """Make ``job_id``'s row the current and only selected one (if it is shown)."""
        row = self._jobs.row_of(job_id)
        if row < 0:
            return
        index = self.model().mapFromSource(self._jobs.index(row, Column.NAME))  # type: ignore[attr-defined]
        if index.isValid():
            self.selectionModel().setCurrentIndex(
                index,
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )

    def keyPressEvent(self, event: QKeyEvent) -> None:
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if modifiers == Qt.KeyboardModifier.NoModifier:
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
                self.play_requested.emit()
                return
            if event.key() == Qt.Key.Key_Space:
                self.toggle_requested.emit()
                return
        super().keyPressEvent(event)

    def moveCursor(
        self, cursorAction: QAbstractItemView.CursorAction, modifiers: Qt.KeyboardModifier
    ) -> QModelIndex:
        """Home and End go to the first and last job, as in any list (a table would only go
        to the first and last column of a row, which shows nothing when rows are selected)."""
        action = QAbstractItemView.CursorAction
        if cursorAction in (action.MoveHome, action.MoveEnd):
            rows = self.model().rowCount()
            if rows:
                row = 0 if cursorAction is action.MoveHome else rows - 1
                column = max(0, self.currentIndex().column())
                return self.model().index(row, column)
        return super().moveCursor(cursorAction, modifiers)

    #: During a burst of changes, the list is redrawn at most this often (4 times a second).
    REPAINT_MS = 250

    def dataChanged(
        self,
        topLeft: QModelIndex | QPersistentModelIndex,
        bottomRight: QModelIndex | QPersistentModelIndex,
        roles: Sequence[int] = (),
    ) -> None:
        """A change is drawn at once, unless another came less than :attr:`REPAINT_MS` ago:
        then the changes are drawn together when that time is up."""
        now = time.monotonic()
        held = self._held
        if held is None and now - self._last_change >= self.REPAINT_MS / 1000:
            self._last_change = now
            super().dataChanged(topLeft, bottomRight, list(roles))
            return
        cells = (topLeft.row(), bottomRight.row(), topLeft.column(), bottomRight.column())
        if held is not None:
            cells = (
                min(held[0], cells[0]),
                max(held[1], cells[1]),
                min(held[2], cells[2]),
                max(held[3], cells[3]),
            )
        self._held = cells
        if not self._repaint.isActive():
            wait = self.REPAINT_MS / 1000 - (now - self._last_change)
            self._repaint.start(max(0, round(wait * 1000)))

    def _draw_held(self) -> None:
        held, self._held = self._held, None
        if held is None:
            return
        self._last_change = time.monotonic()
        model = self.model()
        last_row, last_column = model.rowCount() - 1, model.columnCount() - 1
        top, bottom = min(held[0], last_row), min(held[1], last_row)
        left, right = min(held[2], last_column), min(held[3], last_column)
        if top < 0 or left < 0:
            return
        # Rows may have moved or gone meanwhile (sorting, removal): the held rows and columns
        # as they are now (the cells of them the view shows are what it redraws).
        super().dataChanged(model.index(top, left), model.index(bottom, right), [])

    def shown_source_rows(self) -> set[int] | None:
        """The model rows this list shows now (on screen) and the current one: the ones whose
        clocks must tick. None when every row should (the list is not built yet)."""
        proxy = self.model()
        if not isinstance(proxy, QSortFilterProxyModel):
            return None
        rows: set[int] = set()
        current = self.currentIndex()
        if current.isValid():
            rows.add(proxy.mapToSource(current).row())
        if not self.isVisible():
            return rows
        viewport = self.viewport()
        first = self.rowAt(0)
        if first < 0:
            return rows
        last = self.rowAt(viewport.height() - 1)
        if last < 0:
            last = proxy.rowCount() - 1
        for row in range(first, last + 1):
            rows.add(proxy.mapToSource(proxy.index(row, 0)).row())
        return rows

    def viewportEvent(self, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Paint:
            # Which row wears the focus ring, asked once per repaint rather than per cell.
            self._delegate.begin_paint(self)
            try:
                return super().viewportEvent(event)
            finally:
                self._delegate.end_paint()
        if kind == QEvent.Type.Resize:
            self.fit_details_column()
        return super().viewportEvent(event)

    # -- columns --------------------------------------------------------------------------

    def _size_columns(self) -> None:
        """Column widths for what the columns hold: the Status column fits its longest
        everyday texts ("Upload interrupted · next try in 59 s"); Length fits its header with
        the sort arrow; Clip and Details share what is left (no sideways scrolling)."""
        header = self.horizontalHeader()
        header.setSectionsMovable(True)
        header.setHighlightSections(False)
        self._column_modes()
        metrics = self.fontMetrics()

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
        header = self.horizontalHeader()
        arrow = header.style().pixelMetric(QStyle.PixelMetric.PM_HeaderMarkSize, None, header)
        margin = header.style().pixelMetric(QStyle.PixelMetric.PM_HeaderMargin, None, header)
        length = str(self._jobs.headerData(Column.DURATION, Qt.Orientation.Horizontal) or "")
        header.setMinimumSectionSize(
            header.fontMetrics().horizontalAdvance(length) + max(arrow, 12) + 6 * margin + 8
        )
        header.setSectionResizeMode(Column.THUMBNAIL, QHeaderView.ResizeMode.Fixed)
        for column in (Column.NAME, Column.MESSAGE):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        for column in (Column.DURATION, Column.ACCOUNT, Column.STATE):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(False)  # the Status column keeps its width when last

    def restore_columns(self, state: object) -> None:
        """The column layout saved last time (``QHeaderView.saveState``)."""
        self._sizing_columns = True  # the saved widths are not the user's doing now
        try:
            self.horizontalHeader().restoreState(state)  # type: ignore[arg-type]
        finally:
            self._sizing_columns = False
        self._column_modes()  # an older version's saved state had other ones

    def _sized_columns_width(self) -> int:
        header = self.horizontalHeader()
        return sum(
            header.sectionSize(column)
            for column in _SIZED_COLUMNS
            if not header.isSectionHidden(column)
        )

    def wanted_width(self) -> int:
        """The width the list needs for its columns and a readable clip name."""
        char = self.fontMetrics().averageCharWidth()
        frame = self.width() - self.viewport().width()  # frame and scroll bar
        return self._sized_columns_width() + char * 18 + frame + 4  # and the clip's name

    def fit_details_column(self) -> None:
        """A list too narrow for every column (a 1024 px window) leaves out its Details
        column rather than scroll sideways: the selected row's details are under the list,
        and every row's in its tooltip."""
        self.fit_account_column()
        header = self.horizontalHeader()
        others = self._sized_columns_width()
        char = self.fontMetrics().averageCharWidth()
        # Room for a clip's name and a sentence of details, side by side.
        narrow = self.viewport().width() - others < char * (18 + 30)
        if header.isSectionHidden(Column.MESSAGE) != narrow:
            header.setSectionHidden(Column.MESSAGE, narrow)

    def fit_account_column(self) -> None:
        """The Account column as wide as the longest account in the list, up to a share of
        the list's width (a narrow window elides a long one; a wide one shows it whole).
        Once the user sizes the column, it stays as they left it."""
        if self._account_sized_by_user:
            return
        metrics = self.fontMetrics()
        emails = {j.email for j in self._jobs.jobs() if j.email} or {"name@example.com"}
        wanted = max(metrics.horizontalAdvance(e) for e in emails) + 28
        cap = max(metrics.averageCharWidth() * 18, int(self.viewport().width() * 0.22))
        header = self.horizontalHeader()
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


class FilterBar(QWidget):
    """ "Show: All / To do / Done / Failed" as radio buttons (Tab enters the group, the arrow
    keys choose), one per filter action, and "Retry all failed"."""

    #: The user chose a view (``JobFilter``).
    chosen = Signal(object)

    def __init__(
        self,
        filter_actions: dict[JobFilter, QAction],
        retry_all: QAction,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        filters = QHBoxLayout(self)
        filters.setContentsMargins(0, 0, 0, 0)
        filters.setSpacing(10)
        filters.addWidget(QLabel(self.tr("Show:")))
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: dict[JobFilter, QRadioButton] = {}
        for job_filter, action in filter_actions.items():
            button = QRadioButton(action.text())
            keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
            tip = self.tr("Show: %1 (%2)").replace("%1", action.text()).replace("%2", keys)
            button.setToolTip(tip)
            button.setAccessibleName(self.tr("Show: %1").replace("%1", action.text()))
            button.setChecked(action.isChecked())
            button.toggled.connect(
                lambda on, job_filter=job_filter: self.chosen.emit(job_filter) if on else None
            )
            self.group.addButton(button)
            self.buttons[job_filter] = button
            filters.addWidget(button)
        filters.addStretch(1)
        self.retry_all_button = QToolButton()
        self.retry_all_button.setDefaultAction(retry_all)
        self.retry_all_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.retry_all_button.setAccessibleName(self.tr("Retry all failed, at no new cost"))
        filters.addWidget(self.retry_all_button)

    def focus_widgets(self) -> list[QWidget]:
        return [*self.buttons.values(), self.retry_all_button]

    def show_filter(self, job_filter: JobFilter) -> None:
        button = self.buttons[job_filter]
        if not button.isChecked():
            button.setChecked(True)  # the group unchecks the others; toggled comes back


class JobFilterProxy(QSortFilterProxyModel):
    """Sorts by :data:`SORT_ROLE` and shows all / active / done / failed jobs."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._filter = JobFilter.ALL
        self.setSortRole(SORT_ROLE)
        self.setDynamicSortFilter(True)

    @property
    def job_filter(self) -> JobFilter:
        return self._filter

    def set_job_filter(self, job_filter: JobFilter) -> None:
        if job_filter is self._filter:
            return
        self.beginFilterChange()
        self._filter = job_filter
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: AnyIndex) -> bool:
        model = self.sourceModel()
        if not isinstance(model, JobTableModel):
            return True
        job = model.job_at(source_row)
        return job is not None and self._filter.accepts(job.state)
