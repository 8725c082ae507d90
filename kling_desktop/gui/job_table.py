"""The job list's model: one row per job, fed by the runner's signals, and its filter proxy.

The model keeps one snapshot per job (the runner's ``Job`` values) plus the latest progress and
thumbnail; it never asks the runner for anything slow. Thumbnails are made on a pool thread.
Each column's text is one method of the model (``_name_text``, ``_state_text``…); the row
delegate is in :mod:`job_delegate`, the view in :mod:`job_view`.
"""

from __future__ import annotations

import bisect
import enum
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QCoreApplication,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
    QTimer,
)
from PySide6.QtGui import QGuiApplication, QImage, QPixmap, QStandardItem, QStandardItemModel

from kling_desktop.gui.job_texts import (
    format_duration,
    message_text,
    status_text,
    token_wait,
)
from kling_desktop.gui.parts_text import parts_line, plan_sentence, takes_line
from kling_desktop.jobs.model import Job, JobState
from kling_desktop.runner.engine import JobRunner, Progress
from kling_desktop.runner.worker import run_in_thread

AnyIndex = QModelIndex | QPersistentModelIndex

#: The job behind a row, for views and actions.
JOB_ROLE = Qt.ItemDataRole.UserRole + 1
#: A sortable value per column.
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
#: The :class:`Progress` of the row (state column).
PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 3

THUMB_SIZE = QSize(80, 45)


class Column(enum.IntEnum):
    THUMBNAIL = 0
    NAME = 1
    DURATION = 2
    ACCOUNT = 3
    STATE = 4
    MESSAGE = 5


def _headers() -> dict[Column, str]:
    def tr(text: str) -> str:
        return QCoreApplication.translate("JobTableModel", text)

    return {
        Column.THUMBNAIL: "",
        Column.NAME: tr("Clip"),
        Column.DURATION: tr("Length"),
        Column.ACCOUNT: tr("Account"),
        Column.STATE: tr("Status"),
        Column.MESSAGE: tr("Details"),
    }


class JobFilter(enum.Enum):
    ALL = "all"
    ACTIVE = "active"
    DONE = "done"
    FAILED = "failed"

    def accepts(self, state: JobState) -> bool:
        if self is JobFilter.ALL:
            return True
        if self is JobFilter.ACTIVE:
            # Ready clips wait for "Add sound": they are work still to do.
            return state.is_active or state is JobState.READY
        if self is JobFilter.DONE:
            return state is JobState.DONE
        return state in _NEEDS_ATTENTION


_NEEDS_ATTENTION = frozenset(
    {JobState.FAILED, JobState.REJECTED, JobState.UNCERTAIN, JobState.STOPPED}
)


ThumbnailMaker = Callable[[Path], Path | None]


def default_thumbnail_maker(cache_dir: Path) -> ThumbnailMaker | None:
    """``media.thumbs.thumbnail`` bound to the cache folder.

    The import (PyAV, ~85 ms) happens on the pool thread that makes the first thumbnail, not
    while the window is being built.
    """

    def make(path: Path) -> Path | None:
        from kling_desktop.media.thumbs import thumbnail

        return thumbnail(path, cache_dir)

    return make


#: What a cell allows: selecting it (never editing, dragging or dropping).
_CELL_FLAGS = (
    Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemNeverHasChildren
)


class JobTableModel(QStandardItemModel):
    """One row per job, in the order the runner reported them.

    Its rows, indexes and flags are Qt's own (a ``QStandardItemModel`` with a flags-only item
    per cell); what the cells say is this class's :meth:`data`. A repaint of the list asks for
    each cell's index and flags in C++ then, without calling into Python (which, while the
    check and upload threads want the GIL, costs a wait for it each time).
    """

    def __init__(
        self,
        runner: JobRunner,
        *,
        thumbnail_maker: ThumbnailMaker | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(0, len(Column), parent)
        # The Python rows follow a removal before the proxy and the views hear of it.
        self.rowsRemoved.connect(self._rows_removed)
        self._removing: int | None = None
        self._runner = runner
        self._thumbnail_maker = thumbnail_maker
        self._ids: list[int] = []
        # Per-event work stays O(1) however long the list (a drop sends hundreds of signals):
        # the row of each job, and the jobs whose clock ticks.
        self._rows: dict[int, int] = {}
        self._timed_ids: set[int] = set()
        self._jobs: dict[int, Job] = {}
        self._progress: dict[int, Progress] = {}
        self._thumbs: dict[int, QPixmap] = {}
        self._thumb_pending: set[int] = set()
        self._headers = _headers()
        self._texts: dict[Column, Callable[[Job], str]] = {
            Column.NAME: self._name_text,
            Column.DURATION: self._duration_text,
            Column.ACCOUNT: self._account_text,
            Column.STATE: self._state_text,
            Column.MESSAGE: self._message_text,
        }
        # Ticks the "Adding sound · 0:42" clocks; runs only while something is processing.
        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self._tick)
        #: The rows a view shows now (and the current one), for the clocks; None: all.
        self.shown_rows: Callable[[], set[int] | None] | None = None
        runner.job_added.connect(self._on_added)
        runner.job_changed.connect(self._on_changed)
        runner.job_removed.connect(self._on_removed)
        runner.job_progress.connect(self._on_progress)
        for job in runner.jobs():
            self._on_added(job)

    # -- reading --------------------------------------------------------------------------

    def job_at(self, row: int) -> Job | None:
        if 0 <= row < len(self._ids):
            return self._jobs[self._ids[row]]
        return None

    def job(self, job_id: int) -> Job | None:
        return self._jobs.get(job_id)

    def jobs(self) -> list[Job]:
        return [self._jobs[i] for i in self._ids]

    def row_of(self, job_id: int) -> int:
        return self._rows.get(job_id, -1)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(Column):
            return None
        column = Column(section)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._headers[column]
        if role == Qt.ItemDataRole.ToolTipRole and column is Column.THUMBNAIL:
            return self.tr("Thumbnail")
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        job = self.job_at(index.row())
        if job is None:
            return None
        column = Column(index.column())
        if role == JOB_ROLE:
            return job
        if role == PROGRESS_ROLE:
            return self._progress.get(job.id, Progress())
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(job, column)
        if role == SORT_ROLE:
            return self._sort_key(job, column)
        if role == Qt.ItemDataRole.DecorationRole and column is Column.THUMBNAIL:
            return self._thumbs.get(job.id)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(job, column)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            if column is Column.THUMBNAIL:
                return self.tr("Thumbnail of %s") % job.name
            return self._display(job, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column is Column.DURATION:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, job: Job, column: Column) -> str:
        """The text of ``column`` for ``job``: one method per column."""
        text = self._texts.get(column)
        return text(job) if text is not None else ""

    def display_text(self, job: Job, column: int) -> str:
        """What ``column`` shows for ``job`` (the delegate paints it without ``data()``)."""
        text = self._texts.get(column)  # type: ignore[call-overload]  # an int is a Column
        return text(job) if text is not None else ""

    def thumbnail(self, job_id: int) -> QPixmap | None:
        return self._thumbs.get(job_id)

    def progress_of(self, job_id: int) -> Progress:
        return self._progress.get(job_id) or Progress()

    def _name_text(self, job: Job) -> str:
        return job.name

    def _duration_text(self, job: Job) -> str:
        return format_duration(job.duration_s)

    def _account_text(self, job: Job) -> str:
        return job.email or self.tr("Any")

    def _state_text(self, job: Job) -> str:
        return status_text(job, self._progress.get(job.id, Progress()))

    def _message_text(self, job: Job) -> str:
        """Where the result is (and which take it is); for a ready clip, what preparing it
        does and costs; for a clip of parts at work, where each part is."""
        if job.requests and job.state.is_active:
            return self.parts_text(job)
        if job.state is JobState.READY:  # what happens first, then the check's warnings
            texts = [plan_sentence(job, self.paid_to_start(job.id)), message_text(job)]
        else:
            texts = [message_text(job), takes_line(job)]
        return " · ".join(text for text in texts if text)

    def paid_to_start(self, job_id: int) -> int:
        """Paid Kling jobs "Add sound" starts for this ready clip."""
        return self._runner.paid_to_start(job_id)

    def detail_lines(self, job: Job) -> list[str]:
        """What the details under the list (and a row's tooltip) say beyond the status."""
        lines = [self._message_text(job)]
        if job.requests and not job.state.is_active:
            lines.append(self.parts_text(job))
        return [line for line in lines if line]

    def parts_text(self, job: Job) -> str:
        """ "3 parts: Part 1 ✓ · Part 2 Adding sound · …" for a clip of parts, else ""."""
        if not job.requests:
            return ""
        return parts_line(job, self._runner.requests_of(job.id), self._runner.progress)

    def _sort_key(self, job: Job, column: Column) -> Any:
        if column is Column.DURATION:
            return job.duration_s or 0.0
        if column is Column.STATE:
            return list(JobState).index(job.state)
        if column is Column.THUMBNAIL:
            return job.created_at
        return self._display(job, column).casefold()

    def _tooltip(self, job: Job, column: Column) -> str | None:
        if column is Column.NAME:
            return str(job.input_path)
        if column in (Column.STATE, Column.MESSAGE):
            progress = self._progress.get(job.id, Progress())
            parts = [status_text(job, progress)]
            if token_wait(job, progress):
                parts.append(token_wait(job, progress))
            return "\n".join([*parts, *self.detail_lines(job)])
        return None

    # -- runner signals -------------------------------------------------------------------

    def _on_added(self, job: Job) -> None:
        if job.id in self._jobs:
            self._on_changed(job)
            return
        # In id order: a job brought back by Undo returns to its place, a new one goes last.
        row = bisect.bisect(self._ids, job.id)
        self._ids.insert(row, job.id)
        for later in range(row, len(self._ids)):
            self._rows[self._ids[later]] = later
        self._jobs[job.id] = job
        self._progress[job.id] = self._runner.progress(job.id)
        items = []
        for _ in Column:
            item = QStandardItem()
            item.setFlags(_CELL_FLAGS)
            items.append(item)
        self.insertRow(row, items)
        self._request_thumbnail(job)
        self._update_clock(job.id)

    def _on_changed(self, job: Job) -> None:
        if job.id not in self._jobs:
            self._on_added(job)
            return
        old = self._jobs[job.id]
        self._jobs[job.id] = job
        if old.state is not job.state:
            # A new state starts with fresh progress; the engine reports more if it has it.
            self._progress[job.id] = self._runner.progress(job.id)
        self._emit_row(job.id, self._first_changed(old, job))
        self._update_clock(job.id)

    def _first_changed(self, old: Job, new: Job) -> Column:
        """The first column whose cell may differ between ``old`` and ``new``: the status and
        the details always may (they are last), the others only when their text changed.
        Fewer cells changed: less for the filter proxy and the view to redo."""
        if old.input_path != new.input_path:
            return Column.THUMBNAIL
        for column in (Column.NAME, Column.DURATION, Column.ACCOUNT):
            if self._texts[column](old) != self._texts[column](new):
                return column
        return Column.STATE

    def _on_removed(self, job_id: int) -> None:
        row = self.row_of(job_id)
        if row < 0:
            return
        self._removing = job_id
        try:
            self.removeRows(row, 1)
        finally:
            self._removing = None
        self._update_clock(job_id)

    def _rows_removed(self, _parent: AnyIndex, first: int, _last: int) -> None:
        """The job's row is gone from Qt's rows: from this model's too (first, before the
        proxy and the views are told)."""
        job_id = self._removing
        if job_id is None:
            return
        del self._ids[first]
        del self._rows[job_id]
        for later in range(first, len(self._ids)):
            self._rows[self._ids[later]] = later
        self._jobs.pop(job_id, None)
        self._progress.pop(job_id, None)
        self._thumbs.pop(job_id, None)

    def _on_progress(self, job_id: int, progress: Progress) -> None:
        job = self._jobs.get(job_id)
        if job is None:
            return
        if not job.requests and self._progress.get(job_id) == progress:
            return  # the same news again (each task list repeats it for every job at work)
        self._progress[job_id] = progress
        self._update_clock(job_id)
        row = self.row_of(job_id)
        # A clip of parts names each part's progress in its details too.
        last = Column.MESSAGE if job.requests else Column.STATE
        self.dataChanged.emit(self.index(row, Column.STATE), self.index(row, last))

    def _emit_row(self, job_id: int, first: Column = Column.THUMBNAIL) -> None:
        row = self.row_of(job_id)
        if row >= 0:
            self.dataChanged.emit(self.index(row, first), self.index(row, len(Column) - 1))

    def _timed(self, job_id: int) -> bool:
        job = self._jobs.get(job_id)
        progress = self._progress.get(job_id, Progress())
        if job is not None and job.state is JobState.UNCERTAIN and progress.until is not None:
            return True  # it keeps looking for its task: count down to the next look
        if job is None or not job.state.is_active:
            return False
        return (
            progress.since is not None
            or progress.until is not None
            or job.state is JobState.PROCESSING
        )

    def _update_clock(self, job_id: int) -> None:
        """Note whether ``job_id`` (just added, changed, removed) ticks; run the clock if any do."""
        if self._timed(job_id):
            self._timed_ids.add(job_id)
        else:
            self._timed_ids.discard(job_id)
        if self._timed_ids and not self._clock.isActive():
            self._clock.start()
        elif not self._timed_ids and self._clock.isActive():
            self._clock.stop()

    def _tick(self) -> None:
        """The clocks move: the status cells of the ticking rows a view shows (or, with no
        view, all of them) change, in as few ranges as they make. 200 processing rows in a
        list that shows 12 redo 12 cells a second, not 200 (the filter proxy checks every row
        of a range again)."""
        rows = [self._rows[job_id] for job_id in self._timed_ids]
        shown = self.shown_rows() if self.shown_rows is not None else None
        if shown is not None:
            rows = [row for row in rows if row in shown]
        rows.sort()
        start = 0
        for n in range(1, len(rows) + 1):
            if n == len(rows) or rows[n] != rows[n - 1] + 1:
                self.dataChanged.emit(
                    self.index(rows[start], Column.STATE), self.index(rows[n - 1], Column.STATE)
                )
                start = n

    # -- thumbnails -----------------------------------------------------------------------

    def _request_thumbnail(self, job: Job) -> None:
        maker = self._thumbnail_maker
        if maker is None or job.id in self._thumb_pending or job.id in self._thumbs:
            return
        self._thumb_pending.add(job.id)
        path = job.input_path
        job_id = job.id
        # Scaled here, off the GUI thread, to the size the list shows it at (in the screen's
        # pixels): the delegate then draws it as it is.
        app = QGuiApplication.instance()
        ratio = max(1.0, app.devicePixelRatio()) if isinstance(app, QGuiApplication) else 1.0

        def make() -> QImage | None:
            # QImage (not QPixmap) may be built off the GUI thread.
            made = maker(path)
            if made is None:
                return None
            image = QImage(str(made))
            if image.isNull():
                return None
            scaled = image.scaled(
                round(THUMB_SIZE.width() * ratio),
                round(THUMB_SIZE.height() * ratio),
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
            scaled.setDevicePixelRatio(ratio)
            return scaled

        def done(image: QImage | None) -> None:
            self._thumb_pending.discard(job_id)
            if image is None or job_id not in self._jobs:
                return
            self._thumbs[job_id] = QPixmap.fromImage(image)
            row = self.row_of(job_id)
            index = self.index(row, Column.THUMBNAIL)
            self.dataChanged.emit(index, index)

        def failed(_exc: BaseException) -> None:
            # A missing thumbnail is cosmetic: the row shows without one.
            self._thumb_pending.discard(job_id)

        run_in_thread(make, done, failed, owner=self)  # a closed window gets no late picture
