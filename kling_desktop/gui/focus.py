"""A focus ring that keyboard users can see, on any style and in light and dark palettes.

Styles draw keyboard focus faintly (Fusion tints a button's frame by one pixel). The ring here
is drawn on top of the watched widgets' container, just outside the focused widget's edges, in
the palette's highlight colour with a contrasting inner line: it stands out on the window's
own colour in a light palette and in a dark one. A click shows no ring (as on the web); Tab,
Shift+Tab and shortcuts do.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, Qt
from PySide6.QtGui import QFocusEvent, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QWidget

#: Focus moves that show the ring: the keyboard's.
KEYBOARD_REASONS = frozenset(
    {
        Qt.FocusReason.TabFocusReason,
        Qt.FocusReason.BacktabFocusReason,
        Qt.FocusReason.ShortcutFocusReason,
        Qt.FocusReason.OtherFocusReason,
    }
)


class FocusRing(QWidget):
    """A ring around whichever watched widget has the keyboard's focus.

    Args:
        container: the widget the ring is drawn in; the watched widgets are inside it.
    """

    MARGIN = 2
    WIDTH = 2

    def __init__(self, container: QWidget) -> None:
        super().__init__(container)
        self.setObjectName("focusRing")
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._target: QWidget | None = None
        self._keyboard = False
        self.hide()

    @property
    def target(self) -> QWidget | None:
        """The widget the ring is around, or None while it is hidden."""
        return self._target if self.isVisible() else None

    def watch(self, *widgets: QWidget) -> None:
        for widget in widgets:
            widget.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind == QEvent.Type.FocusIn and isinstance(watched, QWidget):
            assert isinstance(event, QFocusEvent)
            reason = event.reason()
            if reason == Qt.FocusReason.MouseFocusReason:
                self._keyboard = False
            elif reason in KEYBOARD_REASONS:
                self._keyboard = True
            # Otherwise (the window activated again, a menu closed) as it was.
            self._target = watched
            self._place()
        elif kind == QEvent.Type.FocusOut and watched is self._target:
            self.hide()
        elif watched is self._target and kind in (
            QEvent.Type.Move,
            QEvent.Type.Resize,
            QEvent.Type.Show,
            QEvent.Type.Hide,
            QEvent.Type.EnabledChange,
        ):
            self._place()
        return False

    def _place(self) -> None:
        target = self._target
        container = self.parentWidget()
        if (
            target is None
            or container is None
            or not self._keyboard
            or not target.hasFocus()
            or not target.isVisible()
        ):
            self.hide()
            return
        top_left = target.mapTo(container, QPoint(0, 0))
        m = self.MARGIN
        self.setGeometry(QRect(top_left, target.size()).adjusted(-m, -m, m, m))
        self.raise_()
        self.show()
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        palette = self.palette()
        half = self.WIDTH / 2
        outer = self.rect().toRectF().adjusted(half, half, -half, -half)
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Highlight), self.WIDTH))
        painter.drawRoundedRect(outer, 3, 3)
        # A hairline in the base colour inside it keeps the ring apart from a button or field
        # whose own colour is close to the highlight.
        inset = self.WIDTH - 0.5
        inner = outer.adjusted(inset, inset, -inset, -inset)
        painter.setPen(QPen(palette.color(QPalette.ColorRole.Base), 1))
        painter.drawRoundedRect(inner, 2, 2)
        painter.end()
