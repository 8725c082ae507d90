"""How a row of the job list is painted: the thumbnail, a progress bar, the focus ring."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QIcon, QPainter, QPalette, QPixmap
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

from kling_desktop.gui.job_table import JOB_ROLE, PROGRESS_ROLE, THUMB_SIZE, Column
from kling_desktop.jobs.model import Job, JobState
from kling_desktop.runner.engine import Progress

AnyIndex = QModelIndex | QPersistentModelIndex


class JobDelegate(QStyledItemDelegate):
    """Paints the thumbnail scaled into its cell, a progress bar under active states, and a
    clear ring around the current row while the list has the keyboard's focus."""

    #: The focus ring's width, in pixels.
    RING = 2

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width(), max(size.height(), THUMB_SIZE.height() + 8))

    def initStyleOption(self, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        super().initStyleOption(option, index)
        job = index.data(JOB_ROLE)
        if index.column() == Column.MESSAGE and isinstance(job, Job) and job.state is JobState.DONE:
            option.textElideMode = Qt.TextElideMode.ElideMiddle  # the path keeps its file name
        # The style's own (faint, one-cell) focus frame gives way to the row ring below.
        option.state &= ~QStyle.StateFlag.State_HasFocus

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        column = index.column()
        if column == Column.THUMBNAIL:
            self._paint_thumbnail(painter, option, index)
        elif column == Column.STATE:
            self._paint_state(painter, option, index)
        else:
            super().paint(painter, option, index)
        self._paint_focus(painter, option, index)

    def _paint_focus(
        self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex
    ) -> None:
        """A ring around the whole current row: in the text colour on a selected row (dark on
        a light palette's highlight, light on a dark one's), else in the highlight colour."""
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
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
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

    def _background(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""
        opt.icon = QIcon()
        widget = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)

    def _paint_thumbnail(
        self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex
    ) -> None:
        self._background(painter, option, index)
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        rect: QRect = option.rect.adjusted(4, 4, -4, -4)
        if isinstance(pixmap, QPixmap) and not pixmap.isNull():
            scaled = pixmap.size().scaled(rect.size(), Qt.AspectRatioMode.KeepAspectRatio)
            target = QRect(0, 0, scaled.width(), scaled.height())
            target.moveCenter(rect.center())
            painter.save()
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            painter.drawPixmap(target, pixmap)
            painter.restore()
        else:
            # A quiet placeholder frame in the palette's mid tone (works in light and dark).
            painter.save()
            palette: QPalette = option.palette
            painter.setPen(palette.color(QPalette.ColorRole.Mid))
            box = QRect(0, 0, min(rect.width(), THUMB_SIZE.width()), rect.height())
            box.moveCenter(rect.center())
            painter.drawRect(box)
            painter.restore()

    def _paint_state(
        self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex
    ) -> None:
        job = index.data(JOB_ROLE)
        progress = index.data(PROGRESS_ROLE)
        if not isinstance(job, Job) or not job.state.is_active:
            super().paint(painter, option, index)
            return
        self._background(painter, option, index)
        widget: QWidget | None = option.widget
        style = widget.style() if widget is not None else QApplication.style()
        rect: QRect = option.rect.adjusted(4, 6, -4, -6)
        bar = QStyleOptionProgressBar()
        bar.rect = rect
        bar.state = QStyle.StateFlag.State_Enabled | QStyle.StateFlag.State_Horizontal
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
            str(index.data(Qt.ItemDataRole.DisplayRole) or ""),
            Qt.TextElideMode.ElideRight,
            max(0, rect.width() - 8),
        )
        bar.textVisible = True
        bar.textAlignment = Qt.AlignmentFlag.AlignCenter
        style.drawControl(QStyle.ControlElement.CE_ProgressBar, bar, painter, widget)
