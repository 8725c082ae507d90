"""The sound of the selected clip or clips: Kling's level, the clip's own level, ducking,
loudness, takes, sound export and Kling's own mix.

The panel lays out and says what the user changed (:attr:`SoundPanel.edited`, one option at a
time, as ``JobOptions`` fields); :class:`~kling_desktop.gui.sound_commands.SoundCommands`
decides what that does (writes a waiting clip's options, remixes a done one for free).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSlider,
    QSpinBox,
    QWidget,
)

from kling_desktop.jobs import parts
from kling_desktop.jobs.model import Job, JobOptions, JobState

S = JobState

#: Options that may change until the clip is sent (they change what is sent or paid).
BEFORE_SENDING = frozenset({"takes", "keep_original_sound"})
#: Options that change only how the result sounds: also for a clip at work or done.
SOUND = parts.SOUND_OPTIONS - {"take"}  # which take: chosen in the preview
#: Ducking: which sound gives way to the other (JobOptions duck / duck_sound).
DUCKING = (
    ("Off", (False, False)),
    ("The clip's sound under Kling's", (True, False)),
    ("Kling's sound under the clip's (dialogue)", (False, True)),
)
#: States whose every option may still change.
NOT_SENT = frozenset({S.CHECKING, S.READY, S.REJECTED})

#: The loudness presets: (label, LUFS); None is off.
LOUDNESS_PRESETS: tuple[tuple[str, float | None], ...] = (
    ("Off (as made)", None),
    ("−14 LUFS streaming", -14.0),
    ("−16 LUFS", -16.0),
    ("−23 LUFS broadcast", -23.0),
)
CUSTOM = "custom"


def editable(job: Job) -> frozenset[str]:
    """The options of ``job`` the panel lets the user change now."""
    if job.state in NOT_SENT and not job.requests:
        return BEFORE_SENDING | SOUND
    if job.state is S.DONE or job.requests:
        return SOUND  # remixed for free once done; used when put together before that
    return frozenset()


class LevelControl(QWidget):
    """A level 0–200 % as a slider and a spin box that follow each other."""

    changed = Signal(float)  # 0..2

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.spin = QSpinBox(self)
        for control in (self.slider, self.spin):
            control.setRange(0, 200)
            control.setSingleStep(5)
            control.setAccessibleName(name)
            control.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.slider.setPageStep(25)
        self.spin.setSuffix(" %")
        self.slider.setToolTip(name)
        self.spin.setToolTip(name)
        self.slider.valueChanged.connect(self._moved)
        self.spin.valueChanged.connect(self._moved)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.slider, 1)
        row.addWidget(self.spin)

    def value(self) -> float:
        return self.spin.value() / 100

    def set_value(self, level: float) -> None:
        """Show ``level`` (0..2) without saying it changed."""
        percent = round(level * 100)
        for control in (self.slider, self.spin):
            control.blockSignals(True)
            control.setValue(percent)
            control.blockSignals(False)

    def _moved(self, percent: int) -> None:
        for control in (self.slider, self.spin):
            if control.value() != percent:
                control.blockSignals(True)
                control.setValue(percent)
                control.blockSignals(False)
        self.changed.emit(percent / 100)


class SoundPanel(QGroupBox):
    """The sound options of the selected clips. ``edited`` carries ``{field: value}``."""

    edited = Signal(dict)
    #: What :meth:`show_status` said (a remix under way, done, or failed).
    status_shown = Signal(str)

    def __init__(self, exports: Sequence[str] = ("wav",), parent: QWidget | None = None) -> None:
        super().__init__(self.tr("Sound"), parent)
        self.setObjectName("soundPanel")
        self.setAccessibleName(self.tr("Sound of the selected clips"))
        self._filling = False
        self.heading = QLabel(self)
        self.heading.setWordWrap(True)
        # Two lines always (a wrapped label in a form gets one line's height otherwise).
        self.heading.setMinimumHeight(self.fontMetrics().lineSpacing() * 2 + 2)
        self.heading.setAccessibleName(self.tr("Which clips these options are for"))

        self.sound_level = LevelControl(self.tr("Kling's sound level"), self)
        self.original_level = LevelControl(self.tr("The clip's own sound level"), self)
        self.duck_combo = QComboBox(self)
        self.duck_combo.setAccessibleName(self.tr("Ducking"))
        # Its longest choice would widen the panel (and squeeze the list at 1024 px): the
        # closed box may elide it, the open list shows it whole.
        self.duck_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.duck_combo.setMinimumContentsLength(16)
        for text, _ in DUCKING:
            self.duck_combo.addItem(self.tr(text))
        self.duck_combo.setToolTip(
            self.tr(
                "Ducking: one sound is lowered while the other plays — the clip's own sound "
                "under Kling's, or Kling's sound under the clip's (to keep dialogue clear)"
            )
        )
        self.keep_takes_check = QCheckBox(self.tr("Keep the other takes &beside it"), self)
        self.keep_takes_check.setAccessibleName(self.tr("Keep the other takes beside the result"))
        self.keep_takes_check.setToolTip(
            self.tr("Saved as <name>.sound.take2.mp4 …; unticked, only the chosen take is kept")
        )

        self.loudness_combo = QComboBox(self)
        self.loudness_combo.setAccessibleName(self.tr("Loudness"))
        for label, value in LOUDNESS_PRESETS:
            self.loudness_combo.addItem(self.tr(label), value)
        self.loudness_combo.addItem(self.tr("Custom"), CUSTOM)
        self.loudness_spin = QDoubleSpinBox(self)
        self.loudness_spin.setRange(-70.0, -1.0)
        self.loudness_spin.setDecimals(1)
        self.loudness_spin.setSingleStep(0.5)
        self.loudness_spin.setSuffix(" LUFS")
        self.loudness_spin.setValue(-14.0)
        self.loudness_spin.setAccessibleName(self.tr("Custom loudness"))

        self.export_combo = QComboBox(self)
        self.export_combo.setAccessibleName(self.tr("Export sound"))
        self.export_combo.addItem(self.tr("No"), "")
        self._export_wanted: str | None = None
        self.set_exports(exports)
        self.export_combo.setToolTip(
            self.tr("Also save the sound alone beside the result (<name>.sound.wav)")
        )

        self.takes_spin = QSpinBox(self)
        self.takes_spin.setRange(1, 4)
        self.takes_spin.setAccessibleName(self.tr("Takes"))
        self.takes_spin.setToolTip(
            self.tr("Kling makes this many takes to choose from; each take is a paid Kling job")
        )
        self.takes_note = QLabel(self)
        self._parts = 1  # paid requests per take of the clips shown (a long clip: its parts)
        self.keep_check = QCheckBox(self.tr("Keep original sound (Kling's &mix)"), self)
        self.keep_check.setAccessibleName(self.tr("Keep original sound (Kling's own mix)"))
        self._keep_tip = self.tr(
            "Kling mixes the clip's own sound into its result; the levels here then apply to "
            "that mix"
        )
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setMinimumHeight(self.fontMetrics().lineSpacing() + 2)
        self.status.setAccessibleName(self.tr("Sound status"))
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        takes_row = QHBoxLayout()
        takes_row.addWidget(self.takes_spin)
        takes_row.addWidget(self.takes_note, 1)
        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.addRow(self.heading)
        form.addRow(self._label(self.tr("K&ling's sound:"), self.sound_level.slider),
                    self.sound_level)  # fmt: skip
        form.addRow(self._label(self.tr("Clip's &own sound:"), self.original_level.slider),
                    self.original_level)  # fmt: skip
        form.addRow(self._label(self.tr("D&ucking:"), self.duck_combo), self.duck_combo)
        form.addRow(self._label(self.tr("Lou&dness:"), self.loudness_combo), self.loudness_combo)
        self.custom_label = self._label(self.tr("&Custom:"), self.loudness_spin)
        form.addRow(self.custom_label, self.loudness_spin)
        form.addRow(self._label(self.tr("E&xport sound:"), self.export_combo), self.export_combo)
        form.addRow(self._label(self.tr("Ta&kes:"), self.takes_spin), takes_row)
        self.takes_note.setToolTip(self.tr("Each take is a paid Kling job (per part)"))
        form.addRow(self.keep_takes_check)
        form.addRow(self.keep_check)
        form.addRow(self.status)

        self.sound_level.changed.connect(lambda v: self._emit(sound_volume=v))
        self.original_level.changed.connect(lambda v: self._emit(original_volume=v))
        self.duck_combo.currentIndexChanged.connect(lambda _i: self._ducking_changed())
        self.keep_takes_check.toggled.connect(lambda on: self._emit(keep_takes=on))
        self.loudness_combo.currentIndexChanged.connect(lambda _i: self._loudness_changed())
        self.loudness_spin.valueChanged.connect(lambda _v: self._loudness_changed())
        self.export_combo.currentIndexChanged.connect(
            lambda _i: self._emit(export_audio=self.export_combo.currentData())
        )
        self.takes_spin.valueChanged.connect(lambda n: self._emit(takes=n))
        self.takes_spin.valueChanged.connect(lambda _n: self._count_paid())
        self.keep_check.toggled.connect(self._keep_toggled)
        # A spin box's own text field is what the keyboard (and a screen reader) lands on.
        for spin in (self.sound_level.spin, self.original_level.spin, self.loudness_spin,
                     self.takes_spin):  # fmt: skip
            edit = spin.findChild(QLineEdit)
            if edit is not None:
                edit.setAccessibleName(spin.accessibleName())
        self.show_jobs([])

    def set_exports(self, exports: Sequence[str]) -> None:
        """The sound formats this build can export, added to the choices (the window learns
        of MP3 after its first paint: knowing asks PyAV). What the shown clips chose stays
        chosen, and is shown once its format is there."""
        self._filling = True
        try:
            for fmt in exports:
                if self.export_combo.findData(fmt) < 0:
                    self.export_combo.addItem(fmt.upper(), fmt)
            wanted = self._export_wanted
            found = -1 if wanted is None else self.export_combo.findData(wanted)
            if found >= 0:
                self.export_combo.setCurrentIndex(found)
        finally:
            self._filling = False

    def _label(self, text: str, buddy: QWidget) -> QLabel:
        label = QLabel(text, self)
        label.setBuddy(buddy)
        return label

    def focus_widgets(self) -> list[QWidget]:
        """Its controls in Tab order."""
        return [
            self.sound_level.slider,
            self.sound_level.spin,
            self.original_level.slider,
            self.original_level.spin,
            self.duck_combo,
            self.loudness_combo,
            self.loudness_spin,
            self.export_combo,
            self.takes_spin,
            self.keep_takes_check,
            self.keep_check,
        ]

    # -- showing -----------------------------------------------------------------------

    def show_jobs(self, jobs: Sequence[Job]) -> None:
        """Show the options of ``jobs`` (the first one's values) and allow what may change."""
        allowed: frozenset[str] = frozenset().union(*(editable(j) for j in jobs))
        options = jobs[0].options if jobs else JobOptions()
        self._parts = sum(_parts_of(job) for job in jobs) or 1
        self._fill(options)
        self._allow(allowed, options)
        self._count_paid()
        self.heading.setText(self._heading(jobs, allowed))

    def _count_paid(self) -> None:
        """Beside Takes: what "Add sound" would cost (takes × parts, for the clips shown)."""
        paid = self._parts * self.takes_spin.value()
        self.takes_note.setText(self.tr("= %n paid Kling job(s)", "", paid))

    def _fill(self, options: JobOptions) -> None:
        self._filling = True
        try:
            self.sound_level.set_value(options.sound_volume)
            self.original_level.set_value(options.original_volume)
            self.duck_combo.setCurrentIndex(1 if options.duck else 2 if options.duck_sound else 0)
            self.keep_takes_check.setChecked(options.keep_takes)
            lufs = options.loudness_lufs
            index = next(
                (i for i, (_, v) in enumerate(LOUDNESS_PRESETS) if v == lufs),
                len(LOUDNESS_PRESETS),
            )
            self.loudness_combo.setCurrentIndex(index)
            if index == len(LOUDNESS_PRESETS) and lufs is not None:
                self.loudness_spin.setValue(lufs)
            self._export_wanted = options.export_audio
            found = self.export_combo.findData(options.export_audio)
            self.export_combo.setCurrentIndex(max(found, 0))
            self.takes_spin.setValue(options.takes)
            self.keep_check.setChecked(options.keep_original_sound)
        finally:
            self._filling = False

    def _allow(self, allowed: frozenset[str], options: JobOptions) -> None:
        sound = bool(allowed & SOUND)
        controls: tuple[QWidget, ...] = (
            self.sound_level,
            self.original_level,
            self.duck_combo,
            self.loudness_combo,
            self.export_combo,
            self.keep_takes_check,
        )
        for control in controls:
            control.setEnabled(sound)
        self._show_custom()
        self.takes_spin.setEnabled("takes" in allowed)
        self.takes_note.setEnabled("takes" in allowed)
        self.keep_check.setEnabled("keep_original_sound" in allowed)
        later = self.tr("Only before the clip is sent to Kling")
        self.takes_spin.setToolTip(
            self.tr("Kling makes this many takes to choose from; each take is a paid Kling job")
            if self.takes_spin.isEnabled()
            else later
        )
        self.keep_check.setToolTip(self._keep_tip if self.keep_check.isEnabled() else later)

    def _heading(self, jobs: Sequence[Job], allowed: frozenset[str]) -> str:
        if not jobs:
            return self.tr("Select a clip to set its sound.")
        name = (
            f"“{html.escape(jobs[0].name, quote=False)}”"
            if len(jobs) == 1
            else self.tr("%n clip(s)", "", len(jobs))
        )
        if not allowed:
            why = self.tr("At Kling now: its sound can change once it is done.")
        elif all(j.state is S.DONE for j in jobs):
            why = self.tr("Changes are free: the result is remixed on this computer.")
        elif allowed & BEFORE_SENDING:
            why = self.tr("Used when you press Add sound.")
        else:
            why = self.tr("Used when the result is put together; free.")
        return f"<b>{name}</b> — {why}"

    def show_status(self, text: str) -> None:
        """Say how a change went ("Remixing… (free)"); the window repeats it where it is
        always in view (the panel may be scrolled)."""
        self.status.setText(text)
        if text:  # clearing the panel's line leaves the window's status bar alone
            self.status_shown.emit(text)

    # -- what the user changed -----------------------------------------------------------

    def _emit(self, **field: Any) -> None:
        if not self._filling:
            self.edited.emit(field)

    def _ducking_changed(self) -> None:
        duck, duck_sound = DUCKING[max(0, self.duck_combo.currentIndex())][1]
        self._emit(duck=duck, duck_sound=duck_sound)

    def _loudness_changed(self) -> None:
        data = self.loudness_combo.currentData()
        custom = data == CUSTOM
        self._show_custom()
        self._emit(loudness_lufs=float(self.loudness_spin.value()) if custom else data)

    def _show_custom(self) -> None:
        """The custom loudness shows only when "Custom" is chosen."""
        custom = self.loudness_combo.currentData() == CUSTOM
        self.loudness_spin.setVisible(custom)
        self.custom_label.setVisible(custom)
        self.loudness_spin.setEnabled(custom and self.loudness_combo.isEnabled())

    def _keep_toggled(self, keep: bool) -> None:
        self._emit(keep_original_sound=keep)


def _parts_of(job: Job) -> int:
    """Paid requests per take for ``job``: its plan's parts (1 for a clip sent whole)."""
    plan = parts.plan_of(job)
    return plan.paid_jobs if plan is not None and plan.ok else 1
