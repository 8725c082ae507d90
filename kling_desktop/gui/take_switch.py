"""The preview's version switch: the result, the clip's other takes, the original, and
"Use this take".

Each version has an id: :attr:`SourceSwitch.RESULT`, :attr:`SourceSwitch.ORIGINAL`, or
``TAKE + k`` for take *k* (0-based) when it is not the result. The pane
(:class:`~kling_desktop.gui.preview.PreviewPane`) chooses the file that plays; this row only
shows which one is on and says when the user picks another.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QButtonGroup, QHBoxLayout, QToolButton, QVBoxLayout, QWidget

#: Kling's takes a clip may have (Settings: 1–4).
MAX_TAKES = 4


class SourceSwitch(QWidget):
    """With sound (result) · Take 2 · Take 3 · Original · Use this take."""

    RESULT, ORIGINAL, TAKE = 0, 1, 10

    #: The user pressed a version's button (its id).
    chosen = Signal(int)
    #: "Use this take": make take k (0-based) the result.
    use_take = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._result_take = 0
        self.result_button = self._button(
            self.tr("With sound (result)"), self.tr("Play the clip with Kling's new sound")
        )
        self.take_buttons = [
            self._button(
                self.tr("Take %1").replace("%1", str(k + 1)),
                self.tr("Play take %1 of Kling's sound (key %1)").replace("%1", str(k + 1)),
            )
            for k in range(MAX_TAKES)
        ]
        self.original_button = self._button(
            self.tr("Original"), self.tr("Play the clip as it was dropped")
        )
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.group.addButton(self.result_button, self.RESULT)
        self.group.addButton(self.original_button, self.ORIGINAL)
        for k, button in enumerate(self.take_buttons):
            self.group.addButton(button, self.TAKE + k)
            button.hide()
        self.use_button = QToolButton(self)
        self.use_button.setText(self.tr("Use this take"))
        self.use_button.setAccessibleName(self.tr("Use this take"))
        self.use_button.setToolTip(
            self.tr(
                "Make the take on show the result (free: remixed on this computer); the "
                "other takes stay beside it as files"
            )
        )
        self.use_button.hide()
        self.use_button.clicked.connect(self._use)
        self.group.idClicked.connect(self.chosen)

        # One row for a clip of one take; with several, the takes fill the first row and the
        # original and "Use this take" go to a second (a preview ~300 px wide holds no more).
        self._row = QHBoxLayout()
        self._row.addWidget(self.result_button)
        for button in self.take_buttons:
            self._row.addWidget(button)
        self._row.addWidget(self.original_button)
        self._row.addStretch(1)
        self._second = QWidget(self)
        self._second_row = QHBoxLayout(self._second)
        self._second_row.setContentsMargins(0, 0, 0, 0)
        self._second_row.addStretch(1)
        self._second_row.addWidget(self.use_button)
        self._second.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(self._row)
        layout.addWidget(self._second)

    def _button(self, text: str, tip: str) -> QToolButton:
        button = QToolButton(self)
        button.setText(text)
        button.setCheckable(True)
        button.setToolTip(tip)
        button.setAccessibleName(text)
        button.setAccessibleDescription(tip)
        return button

    @property
    def buttons(self) -> list[QToolButton]:
        """Every control in Tab order (hidden ones are skipped by Tab)."""
        return [self.result_button, *self.take_buttons, self.original_button, self.use_button]

    def set_versions(
        self,
        *,
        result: bool,
        original: bool,
        takes: Sequence[bool] = (),
        result_take: int = 0,
    ) -> None:
        """Which versions there are: the result, the original, and per take whether its file
        is there (``takes`` empty or of one: a clip of one take)."""
        self._result_take = result_take
        several = len(takes) > 1
        self.result_button.setEnabled(result)
        self.original_button.setEnabled(original)
        name = (
            self.tr("Take %1 (result)").replace("%1", str(result_take + 1))
            if several
            else self.tr("With sound (result)")
        )
        # "Take 1 ✓": short enough for four takes in a row; the name says it in full.
        mark = self.tr("Take %1 ✓").replace("%1", str(result_take + 1))
        self.result_button.setText(mark if several else name)
        self.result_button.setAccessibleName(name)
        self.result_button.setToolTip(
            self.tr("Play take %1, the result (key %1)").replace("%1", str(result_take + 1))
            if several
            else self.tr("Play the clip with Kling's new sound")
        )
        # The takes stay in take order: the result's button takes its take's place.
        self._row.removeWidget(self.result_button)
        self._row.insertWidget(result_take if several else 0, self.result_button)
        if several and self._second.isHidden():
            self._second_row.insertWidget(0, self.original_button)
        elif not several and not self._second.isHidden():
            self._row.insertWidget(1 + MAX_TAKES, self.original_button)
        self._second.setVisible(several)
        for k, button in enumerate(self.take_buttons):
            shown = several and k < len(takes) and k != result_take
            button.setVisible(shown)
            button.setEnabled(shown and takes[k])
        self.use_button.setVisible(several)
        self._follow()

    def take_id(self, take: int) -> int:
        """The id of take ``take`` (0-based): the result's own take is :attr:`RESULT`."""
        return self.RESULT if take == self._result_take else self.TAKE + take

    def take_of(self, which: int) -> int | None:
        """The take (0-based) a version id stands for; None for the original."""
        if which == self.RESULT:
            return self._result_take
        if self.TAKE <= which < self.TAKE + MAX_TAKES:
            return which - self.TAKE
        return None

    def select(self, which: int) -> None:
        button = self.group.button(which)
        if button is not None:
            button.setChecked(True)
        self._follow()

    def current(self) -> int:
        return self.group.checkedId()

    def clear(self) -> None:
        """Nothing on show: every version off and greyed."""
        for button in self.buttons:
            button.setEnabled(False)
        # An exclusive group always keeps one button checked: lift that to check neither.
        self.group.setExclusive(False)
        for each in self.group.buttons():
            each.setChecked(False)
        self.group.setExclusive(True)
        self.set_versions(result=False, original=False)

    def _follow(self) -> None:
        """ "Use this take" applies to a take on show that is not the result already."""
        take = self.take_of(self.current())
        self.use_button.setEnabled(take is not None and self.current() != self.RESULT)

    def _use(self) -> None:
        take = self.take_of(self.current())
        if take is not None and self.current() != self.RESULT:
            self.use_take.emit(take)
