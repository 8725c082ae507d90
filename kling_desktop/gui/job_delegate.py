"""How a row of the job list is painted: the thumbnail, a progress bar, the focus ring.

A repaint of the list paints every visible cell, and during a drop of 50 clips the list repaints
several times a second while the check and upload threads want the GIL: each cell is painted
from the model's own Python (its job and texts), not through ``initStyleOption``'s many
``data()`` calls across the proxy, and a thumbnail is scaled once for its cell, not at every
paint. Anything unusual (a right-to-left layout, a text of several lines, no model) is painted
the standard way.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QFontMetricsF, QImage, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionProgressBar,
    QStyleOptionViewItem,
    QTableView,
    QWidget,
)

from kling_desktop.gui.job_table import JOB_ROLE, PROGRESS_ROLE, THUMB_SIZE, Column, JobTableModel
from kling_desktop.jobs.model import Job, JobState
from kling_desktop.runner.engine import Progress

AnyIndex = QModelIndex | QPersistentModelIndex

_SELECTED = QStyle.StateFlag.State_Selected
_ENABLED = QStyle.StateFlag.State_Enabled
_ACTIVE = QStyle.StateFlag.State_Active
_HAS_FOCUS = QStyle.StateFlag.State_HasFocus
_HAS_DISPLAY = QStyleOptionViewItem.ViewItemFeature.HasDisplay
_RIGHT_TO_LEFT = Qt.LayoutDirection.RightToLeft
_LEFT_MIDDLE = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT_MIDDLE = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_VERTICAL = Qt.AlignmentFlag.AlignVertical_Mask
#: Thumbnails scaled for their cell, kept at most this many (a list of 500 clips holds 500).
_SCALED_KEPT = 1000
#: A cell the style paints a panel behind: selected, or under the mouse.
_MARKED = (_SELECTED | QStyle.StateFlag.State_MouseOver).value
#: Elided texts kept (by text, elision and width) for the font in "font".
_ELIDED_KEPT = 2000
_ELIDED: dict[object, str] = {}


_PLAIN_PANEL: dict[tuple[int, str], bool] = {}


def _draws_plain_panel(style: QStyle, view: QWidget | None) -> bool:
    """Whether ``style`` paints anything behind a cell that is neither selected nor under the
    mouse (Fusion does not: such cells skip the panel). Found out once per style by drawing
    one into a transparent image."""
    key = (id(style), style.name())
    found = _PLAIN_PANEL.get(key)
    if found is None:
        image = QImage(16, 16, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(0)
        opt = QStyleOptionViewItem()
        opt.rect = QRect(0, 0, 16, 16)
        opt.state = _ENABLED | _ACTIVE
        opt.features = _HAS_DISPLAY
        if view is not None:
            opt.palette = view.palette()
        painter = QPainter(image)
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, None)
        painter.end()
        found = _PLAIN_PANEL[key] = any(
            image.pixel(x, y) != 0 for x in range(16) for y in range(16)
        )
    return found


class _PaintKit:
    """What every cell of one repaint shares: the style, font, colours, text margins,
    alignment and elision (read from the view once, not from each cell's option)."""

    rtl_or_unusual = QStyle.StateFlag.State_Editing.value

    def __init__(self, view: QWidget | None) -> None:
        self.view = view
        self.style = view.style() if view is not None else QApplication.style()
        self.palette = view.palette() if view is not None else QApplication.palette()
        self.font = view.font() if view is not None else QApplication.font()
        self.metrics = QFontMetrics(self.font)
        exact = QFontMetricsF(self.font)
        self.line_height = round(exact.ascent() + exact.descent())
        self.align = _LEFT_MIDDLE
        self.elide = Qt.TextElideMode.ElideRight
        if isinstance(view, QAbstractItemView):
            self.elide = view.textElideMode()
        self.plain_panel = _draws_plain_panel(self.style, view)
        self._colours: dict[int, QColor] = {}
        self._margins: dict[tuple[int, int], tuple[int, int, int, int]] = {}
        # Kept from one repaint to the next while the font stays (most texts do not change).
        key = self.font.key()
        if _ELIDED.get("font") != key:
            _ELIDED.clear()
            _ELIDED["font"] = key
        self._elided = _ELIDED

    def colour(self, state: int) -> QColor:
        """The text colour of a cell in ``state`` (as ``CE_ItemViewItem`` picks it)."""
        key = state & (_ENABLED.value | _ACTIVE.value | _SELECTED.value)
        colour = self._colours.get(key)
        if colour is None:
            group = (
                QPalette.ColorGroup.Normal
                if state & _ENABLED.value
                else QPalette.ColorGroup.Disabled
            )
            if group == QPalette.ColorGroup.Normal and not state & _ACTIVE.value:
                group = QPalette.ColorGroup.Inactive
            role = (
                QPalette.ColorRole.HighlightedText
                if state & _SELECTED.value
                else QPalette.ColorRole.Text
            )
            colour = self._colours[key] = self.palette.color(group, role)
        return colour

    def text_margins(self, option: QStyleOptionViewItem) -> tuple[int, int, int, int]:
        """How a cell's text rectangle sits in the cell (the style's, plus its text margin)."""
        cell = option.rect
        key = (cell.width(), cell.height())
        margins = self._margins.get(key)
        if margins is None:
            opt = QStyleOptionViewItem(option)
            opt.features |= _HAS_DISPLAY
            opt.text = "x"
            rect = self.style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, self.view)
            margin = (
                self.style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, self.view) + 1
            )
            margins = self._margins[key] = (
                rect.left() - cell.left() + margin,
                rect.top() - cell.top(),
                rect.right() - cell.right() - margin,
                rect.bottom() - cell.bottom(),
            )
        return margins

    def elided(self, text: str, mode: Qt.TextElideMode, width: int) -> str:
        key = (text, mode, width)
        elided = self._elided.get(key)
        if elided is None:
            if len(self._elided) >= _ELIDED_KEPT:
                font = self._elided["font"]
                self._elided.clear()
                self._elided["font"] = font
            elided = self._elided[key] = self.metrics.elidedText(text, mode, width)
        return elided


class JobDelegate(QStyledItemDelegate):
    """Paints the thumbnail scaled into its cell, a progress bar under active states, and a
    clear ring around the current row while the list has the keyboard's focus."""

    #: The focus ring's width, in pixels.
    RING = 2

    def __init__(self, parent: QWidget | None = None, model: JobTableModel | None = None) -> None:
        super().__init__(parent)
        self._model = model
        #: The proxy row that wears the focus ring during this paint (-1: none; None: ask
        #: the view for each cell). :class:`JobTableView` sets it before each repaint.
        self.ring_row: int | None = None
        self._scaled: dict[tuple[int, int, int, int, float], QPixmap] = {}
        self._kit: _PaintKit | None = None

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width(), max(size.height(), THUMB_SIZE.height() + 8))

    def initStyleOption(self, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        super().initStyleOption(option, index)
        job = index.data(JOB_ROLE)
        if index.column() == Column.MESSAGE and isinstance(job, Job) and job.state is JobState.DONE:
            option.textElideMode = Qt.TextElideMode.ElideMiddle  # the path keeps its file name
        # The style's own (faint, one-cell) focus frame gives way to the row ring below.
        option.state &= ~_HAS_FOCUS

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        column = index.column()
        job = self._job(index)
        if job is None:
            self._paint_standard(painter, option, index, column)
        elif column == Column.THUMBNAIL:
            self._paint_thumbnail(painter, option, job)
        elif column == Column.STATE and job.state.is_active:
            self._paint_state(painter, option, job)
        elif not self._paint_text(painter, option, job, column):
            self._paint_standard(painter, option, index, column)
        self._paint_focus(painter, option, index)

    def _job(self, index: AnyIndex) -> Job | None:
        """The row's job, read from the model in Python (no ``data()`` round trip)."""
        model = self._model
        if model is None:
            return None
        shown = index.model()
        if shown is not model:
            index = shown.mapToSource(index)  # type: ignore[attr-defined]  # the filter proxy
        return model.job_at(index.row())

    def _paint_standard(
        self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex, column: int
    ) -> None:
        job = index.data(JOB_ROLE)
        if column == Column.THUMBNAIL:
            self._background(painter, option)
            pixmap = index.data(Qt.ItemDataRole.DecorationRole)
            self._draw_thumbnail(painter, option, pixmap, -1)
        elif column == Column.STATE and isinstance(job, Job) and job.state.is_active:
            self._paint_state(painter, option, job, index)
        else:
            super().paint(painter, option, index)

    def _paint_focus(
        self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex
    ) -> None:
        """A ring around the whole current row: in the text colour on a selected row (dark on
        a light palette's highlight, light on a dark one's), else in the highlight colour."""
        ring = self.ring_row
        if ring is not None:
            if ring != index.row():
                return
            view = option.widget
        else:
            view = option.widget
            if not isinstance(view, QAbstractItemView) or not view.hasFocus():
                return
            current = view.currentIndex()
            if not current.isValid() or current.row() != index.row():
                return
        header = view.horizontalHeader() if isinstance(view, QTableView) else None
        visual = header.visualIndex(index.column()) if header is not None else index.column()
        last = (header.count() - header.hiddenSectionCount() - 1) if header is not None else 0
        rect: QRect = option.rect
        width = self.RING
        palette: QPalette = option.palette
        selected = bool(option.state & _SELECTED)
        colour = palette.color(
            QPalette.ColorRole.Text if selected else QPalette.ColorRole.Highlight
        )
        painter.save()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawRect(rect.left(), rect.top(), rect.width(), width)
        painter.drawRect(rect.left(), rect.bottom() - width + 1, rect.width(), width)
        if visual == 0:
            painter.drawRect(rect.left(), rect.top(), width, rect.height())
        if visual == last:
            painter.drawRect(rect.right() - width + 1, rect.top(), width, rect.height())
        painter.restore()

    def _style(self, option: QStyleOptionViewItem) -> QStyle:
        widget = option.widget
        return widget.style() if widget is not None else QApplication.style()

    def _background(self, painter: QPainter, option: QStyleOptionViewItem) -> None:
        """The cell's panel (selection, hover) as the style draws it for a cell with text,
        without the text. ``option`` is the view's for this one cell (no text nor icon in
        it: this delegate never fills them in), changed in place: a copy of it would be one
        more wait for the GIL while other threads run."""
        option.features |= _HAS_DISPLAY
        option.state &= ~_HAS_FOCUS
        self._style(option).drawControl(
            QStyle.ControlElement.CE_ItemViewItem, option, painter, option.widget
        )

    def begin_paint(self, view: QAbstractItemView) -> None:
        """A repaint of ``view`` begins: what is the same for all its cells is read once."""
        current = view.currentIndex()
        self.ring_row = current.row() if view.hasFocus() and current.isValid() else -1
        self._kit = _PaintKit(view)

    def end_paint(self) -> None:
        self.ring_row = None
        self._kit = None

    def _panel(self, painter: QPainter, option: QStyleOptionViewItem) -> None:
        """The style's panel behind a cell, when it draws one there (selected, hovered, or a
        style that paints plain cells too)."""
        kit = self._kit
        if kit is None or kit.plain_panel or option.state.value & _MARKED:
            self._background(painter, option)

    def _paint_text(
        self, painter: QPainter, option: QStyleOptionViewItem, job: Job, column: int
    ) -> bool:
        """A plain text cell, as ``CE_ItemViewItem`` lays it out (its margins, alignment,
        colours, elision); False when the standard way should paint it."""
        model = self._model
        if model is None:
            return False
        kit = self._kit or _PaintKit(option.widget)
        state = option.state.value
        if state & kit.rtl_or_unusual:
            return False
        text = model.display_text(job, column)
        if "\n" in text or option.direction == _RIGHT_TO_LEFT:
            return False
        if state & _MARKED or kit.plain_panel:  # the style's panel (selection, hover)
            self._background(painter, option)
            state = option.state.value
        if not text:
            return True
        rect = option.rect.adjusted(*kit.text_margins(option))  # (option.rect is the cell's own)
        if column == Column.MESSAGE and job.state is JobState.DONE:
            mode = Qt.TextElideMode.ElideMiddle  # the path keeps its file name
        else:
            mode = kit.elide
        align = _RIGHT_MIDDLE if column == Column.DURATION else kit.align
        # One line, placed as the style places it (centred by its whole-pixel height).
        line = kit.line_height
        rect.setTop(rect.top() + (rect.height() - line) // 2)
        rect.setHeight(line)
        align = (align & ~_VERTICAL) | Qt.AlignmentFlag.AlignTop
        painter.save()
        painter.setFont(kit.font)
        painter.setPen(kit.colour(state))
        painter.drawText(rect, align, kit.elided(text, mode, rect.width()))
        painter.restore()
        return True

    def _paint_thumbnail(self, painter: QPainter, option: QStyleOptionViewItem, job: Job) -> None:
        self._panel(painter, option)
        model = self._model
        pixmap = model.thumbnail(job.id) if model is not None else None
        self._draw_thumbnail(painter, option, pixmap, job.id)

    def _draw_thumbnail(
        self, painter: QPainter, option: QStyleOptionViewItem, pixmap: object, job_id: int
    ) -> None:
        rect: QRect = option.rect.adjusted(4, 4, -4, -4)
        if isinstance(pixmap, QPixmap) and not pixmap.isNull():
            scaled = pixmap.size().scaled(rect.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, scaled.width(), scaled.height())
            target.moveCenter(rect.center())
            ratio = painter.device().devicePixelRatioF() if painter.device() else 1.0
            ready = self._scaled_pixmap(pixmap, target.size(), ratio, job_id)
            painter.drawPixmap(target.topLeft(), ready)
        else:
            # A quiet placeholder frame in the palette's mid tone (works in light and dark).
            painter.save()
            palette: QPalette = option.palette
            painter.setPen(palette.color(QPalette.ColorRole.Mid))
            box = QRect(0, 0, min(rect.width(), THUMB_SIZE.width()), rect.height())
            box.moveCenter(rect.center())
            painter.drawRect(box)
            painter.restore()

    def _scaled_pixmap(self, pixmap: QPixmap, size: QSize, ratio: float, job_id: int) -> QPixmap:
        """``pixmap`` smoothly scaled to ``size`` (device pixels for ``ratio``), once per
        thumbnail and cell size."""
        width, height = round(size.width() * ratio), round(size.height() * ratio)
        if (pixmap.width(), pixmap.height()) == (width, height) and (
            pixmap.devicePixelRatio() == ratio
        ):
            return pixmap  # made at this size (the model scales thumbnails on a pool thread)
        key = (job_id, pixmap.cacheKey(), size.width(), size.height(), ratio)
        scaled = self._scaled.get(key)
        if scaled is None:
            if len(self._scaled) >= _SCALED_KEPT:
                self._scaled.clear()
            scaled = pixmap.scaled(
                width,
                height,
                Qt.AspectRatioMode.IgnoreAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
            scaled.setDevicePixelRatio(ratio)
            self._scaled[key] = scaled
        return scaled

    def _paint_state(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        job: Job,
        index: AnyIndex | None = None,
    ) -> None:
        model = self._model
        if index is None and model is not None:
            progress: object = model.progress_of(job.id)
            text = model.display_text(job, Column.STATE)
        elif index is not None:
            progress = index.data(PROGRESS_ROLE)
            text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        else:
            return
        self._panel(painter, option)
        widget: QWidget | None = option.widget
        style = self._style(option)
        rect: QRect = option.rect.adjusted(4, 6, -4, -6)
        bar = QStyleOptionProgressBar()
        bar.rect = rect
        bar.state = _ENABLED | QStyle.StateFlag.State_Horizontal
        bar.direction = option.direction
        bar.palette = option.palette
        bar.fontMetrics = option.fontMetrics
        bar.minimum = 0
        bar.maximum = 1000
        fraction = progress.fraction if isinstance(progress, Progress) else None
        # A job with no measurable progress shows an empty bar with its text: a static
        # "busy" bar would look frozen in a delegate that is not animated.
        bar.progress = round(max(0.0, min(1.0, fraction or 0.0)) * 1000)
        # One line, elided: a wrapped bar label is unreadable (the tooltip has it in full).
        bar.text = option.fontMetrics.elidedText(
            text, Qt.TextElideMode.ElideRight, max(0, rect.width() - 8)
        )
        bar.textVisible = True
        bar.textAlignment = Qt.AlignmentFlag.AlignCenter
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, widget)
