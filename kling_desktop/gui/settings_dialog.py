"""Settings dialog: edits a copy of :class:`Settings`; OK writes it back and saves it.

Labels come from the settings' own declarations (``Settings.label``), so a setting is named
once. Saving runs off the GUI thread; the dialog closes only once the file is written, and
shows the reason inline if it can't be.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import Any

import shiboken6
from PySide6.QtCore import QEvent, Signal, Slot
from PySide6.QtGui import QGuiApplication, QPalette, QShowEvent
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from kling_desktop.api.client import validate_base_url
from kling_desktop.api.errors import ApiError, InsecureUrl
from kling_desktop.gui.settings_saver import SettingsSaver
from kling_desktop.gui.sound_panel import LOUDNESS_PRESETS
from kling_desktop.paths import app_paths
from kling_desktop.settings import API_URL_ENV, DEFAULT_API_URL, Settings

log = logging.getLogger(__name__)


def base_url_problem(url: str) -> str:
    """Empty when ``url`` is a usable API base URL; otherwise the sentence saying why not.

    The rule (DESIGN §4.5): https always; plain http only to this computer (127.0.0.1,
    localhost), which is how the simulator and the demo run.
    """
    try:
        validate_base_url(url)
    except ApiError as exc:  # InvalidUrl or InsecureUrl
        # Their str() quotes "the service"; this check is local, so say it plainly.
        insecure = isinstance(exc, InsecureUrl)  # its summary and hint already say it all
        detail = f" ({exc.server_text})" if exc.server_text and not insecure else ""
        return f"{exc.summary}{detail} {exc.hint}".strip()
    return ""


def _meta(name: str, key: str, default: float) -> float:
    for f in dataclasses.fields(Settings):
        if f.name == name:
            return float(f.metadata.get(key, default))
    raise KeyError(name)


class SettingsDialog(QDialog):
    """Preferences. ``settings`` is changed (and saved) only when the user presses OK.

    Args:
        settings: the settings to show and edit.
        read_only: when not empty, why nothing can be changed here (the demo): the fields show
            greyed, this sentence is on top, and the only button closes the dialog.
    """

    #: Emitted with the settings object after it was updated and written to disk.
    saved = Signal(object)
    _read_only = ""  # (Qt sends events while the constructor still runs)

    def __init__(
        self,
        settings: Settings,
        parent: QWidget | None = None,
        *,
        read_only: str = "",
        saver: SettingsSaver | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Settings"))
        self._settings = settings
        #: Writes the settings (the window's, or one for the user's settings file).
        self._saver = saver or SettingsSaver(settings, app_paths().settings_file, self)
        self._draft = dataclasses.replace(settings)
        self._saving = False
        self._read_only = read_only
        self.folder_dialog: QFileDialog | None = None
        self._build()
        self._load(self._draft)
        self._validate()
        if read_only:
            self._show_read_only(read_only)

    @property
    def read_only(self) -> bool:
        return bool(self._read_only)

    def _show_read_only(self, why: str) -> None:
        """Every field greyed (still readable), the reason on top, one Close button."""
        self._readable_greys()
        keep = (self.read_only_note, self.buttons)
        for child in self.findChildren(QWidget):
            if child.parentWidget() is self and child not in keep:
                child.setEnabled(False)
        self.read_only_note.setText(why)
        self.read_only_note.setVisible(True)
        self.buttons.setStandardButtons(QDialogButtonBox.StandardButton.Close)
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Close)

    # -- layout --------------------------------------------------------------------------------

    def _build(self) -> None:
        label = Settings.label

        output_box = QGroupBox(self.tr("Where results are saved"), self)
        self.next_to_original = QRadioButton(self.tr("Next to the original clip"), output_box)
        self.in_folder = QRadioButton(self.tr("In this folder:"), output_box)
        self.output_group = QButtonGroup(self)
        self.output_group.addButton(self.next_to_original)
        self.output_group.addButton(self.in_folder)
        self.folder_edit = QLineEdit(output_box)
        self.folder_edit.setAccessibleName(label("output_folder"))
        self.folder_edit.setPlaceholderText(str(app_paths().default_output_dir))
        self.browse_button = QPushButton(self.tr("Browse…"), output_box)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.in_folder)
        folder_row.addWidget(self.folder_edit, 1)
        folder_row.addWidget(self.browse_button)
        output_layout = QVBoxLayout(output_box)
        output_layout.addWidget(self.next_to_original)
        output_layout.addLayout(folder_row)

        self.prefer_clean_master = QCheckBox(label("prefer_clean_master"), self)
        self.auto_start = QCheckBox(label("auto_start"), self)
        self.auto_start.setToolTip(
            self.tr(
                "Each dropped or opened clip starts a paid Kling job at once, without the "
                "Add sound confirmation. When off, nothing is sent until you press Add sound "
                "and confirm."
            )
        )
        self.notifications = QCheckBox(label("notifications"), self)

        self.poll_interval = QDoubleSpinBox(self)
        self.poll_interval.setRange(_meta("poll_interval_s", "minimum", 2.0), 600.0)
        self.poll_interval.setDecimals(0)
        self.poll_interval.setSuffix(self.tr(" s"))
        self.poll_interval.setAccessibleName(label("poll_interval_s"))
        self.concurrency = QSpinBox(self)
        self.concurrency.setRange(
            int(_meta("concurrency", "minimum", 1)), int(_meta("concurrency", "maximum", 16))
        )
        self.concurrency.setAccessibleName(label("concurrency"))

        clips_box = self._new_clips_box()

        general = QFormLayout()
        general.addRow(self.prefer_clean_master)
        general.addRow(self.auto_start)
        general.addRow(self.notifications)
        general.addRow(label("poll_interval_s"), self.poll_interval)
        general.addRow(label("concurrency"), self.concurrency)

        advanced = QGroupBox(self.tr("Advanced"), self)
        self.api_url = QLineEdit(advanced)
        self.api_url.setAccessibleName(label("api_url"))
        self.api_url.setPlaceholderText(DEFAULT_API_URL)
        self.api_url.setMinimumWidth(
            self.api_url.fontMetrics().horizontalAdvance(DEFAULT_API_URL) + 24
        )
        self.reset_url_button = QPushButton(self.tr("Default"), advanced)
        self.reset_url_button.setToolTip(DEFAULT_API_URL)
        url_row = QHBoxLayout()
        url_row.addWidget(self.api_url, 1)
        url_row.addWidget(self.reset_url_button)
        self.url_error = QLabel(advanced)
        self.url_error.setWordWrap(True)
        self.url_error.setAccessibleName(self.tr("API address problem"))
        self.url_error.setVisible(False)
        self.env_note = QLabel(advanced)
        self.env_note.setWordWrap(True)
        override = os.environ.get(API_URL_ENV, "").strip()
        self.env_note.setText(
            self.tr("{env} is set, so {url} is used while it is.").format(
                env=API_URL_ENV, url=override
            )
        )
        self.env_note.setVisible(bool(override))
        self.first_poll_delay = QDoubleSpinBox(advanced)
        self.first_poll_delay.setRange(_meta("first_poll_delay_s", "minimum", 0.0), 600.0)
        self.first_poll_delay.setDecimals(0)
        self.first_poll_delay.setSuffix(self.tr(" s"))
        self.slot_wait_limit = QDoubleSpinBox(advanced)
        self.slot_wait_limit.setRange(_meta("slot_wait_limit_s", "minimum", 60.0), 7 * 86400.0)
        self.slot_wait_limit.setDecimals(0)
        self.slot_wait_limit.setSingleStep(300)
        self.slot_wait_limit.setSuffix(self.tr(" s"))
        advanced_form = QFormLayout(advanced)
        advanced_form.addRow(label("api_url"), url_row)
        advanced_form.addRow(self.url_error)
        advanced_form.addRow(self.env_note)
        advanced_form.addRow(label("first_poll_delay_s"), self.first_poll_delay)
        advanced_form.addRow(label("slot_wait_limit_s"), self.slot_wait_limit)

        self.save_error = QLabel(self)
        self.save_error.setWordWrap(True)
        self.save_error.setVisible(False)

        self.read_only_note = QLabel(self)
        self.read_only_note.setObjectName("readOnlyNote")
        self.read_only_note.setWordWrap(True)
        self.read_only_note.setAccessibleName(self.tr("Why these settings cannot be changed"))
        self.read_only_note.setVisible(False)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)

        layout = QVBoxLayout(self)
        layout.addWidget(self.read_only_note)
        layout.addWidget(output_box)
        layout.addLayout(general)
        layout.addWidget(clips_box)
        layout.addWidget(advanced)
        layout.addWidget(self.save_error)
        layout.addWidget(self.buttons)

        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.browse_button.clicked.connect(self.browse)
        self.reset_url_button.clicked.connect(lambda: self.api_url.setText(DEFAULT_API_URL))
        self.api_url.textChanged.connect(self._validate)
        self.folder_edit.textChanged.connect(self._validate)
        self.output_group.buttonToggled.connect(lambda *_: self._validate())

    def _new_clips_box(self) -> QGroupBox:
        """The defaults a clip added from now on gets (each clip keeps its own, changed in
        the window's Sound panel)."""
        label = Settings.label
        box = QGroupBox(self.tr("New clips (each can be changed in the Sound panel)"), self)
        self.max_length = QDoubleSpinBox(box)
        self.max_length.setRange(
            _meta("max_length_s", "minimum", 21.0), _meta("max_length_s", "maximum", 3600.0)
        )
        self.max_length.setDecimals(0)
        self.max_length.setSingleStep(30)
        self.max_length.setSuffix(self.tr(" s"))
        self.max_length.setToolTip(
            self.tr("Longer clips are split into parts of at most 20 s, each a paid Kling job")
        )
        self.takes = QSpinBox(box)
        self.takes.setRange(int(_meta("takes", "minimum", 1)), int(_meta("takes", "maximum", 4)))
        self.sound_volume = self._percent(box)
        self.original_volume = self._percent(box)
        self.loudness = QComboBox(box)  # the presets (a number of its own: the Sound panel)
        for text, lufs in LOUDNESS_PRESETS:
            self.loudness.addItem(self.tr(text), 0.0 if lufs is None else lufs)
        self.loudness.setToolTip(self.tr("−14 LUFS for streaming platforms, −23 for broadcast"))
        self.export_audio = QComboBox(box)
        self.export_audio.addItem(self.tr("No"), "")
        from kling_desktop.media.sound import available_exports  # PyAV: with the dialog

        for fmt in available_exports():
            self.export_audio.addItem(fmt.upper(), fmt)
        # Made after the fields above, as they are shown: Tab follows the order of making.
        self.duck = QCheckBox(label("duck"), box)
        self.duck_sound = QCheckBox(label("duck_sound"), box)
        # One direction at a time: ticking one unticks the other.
        self.duck.toggled.connect(lambda on: self.duck_sound.setChecked(False) if on else None)
        self.duck_sound.toggled.connect(lambda on: self.duck.setChecked(False) if on else None)
        self.keep_takes = QCheckBox(label("keep_takes"), box)
        self.keep_original_sound = QCheckBox(label("keep_original_sound"), box)
        form = QFormLayout(box)
        for name, field in (
            ("max_length_s", self.max_length),
            ("takes", self.takes),
            ("sound_volume", self.sound_volume),
            ("original_volume", self.original_volume),
            ("loudness_lufs", self.loudness),
            ("export_audio", self.export_audio),
        ):
            field.setAccessibleName(label(name))
            form.addRow(label(name), field)
        form.addRow(self.duck)
        form.addRow(self.duck_sound)
        form.addRow(self.keep_takes)
        form.addRow(self.keep_original_sound)
        return box

    def _percent(self, parent: QWidget) -> QSpinBox:
        spin = QSpinBox(parent)
        spin.setRange(0, 200)
        spin.setSingleStep(5)
        spin.setSuffix(" %")
        return spin

    # -- values --------------------------------------------------------------------------------

    def _load(self, s: Settings) -> None:
        self.next_to_original.setChecked(not s.output_folder)
        self.in_folder.setChecked(bool(s.output_folder))
        self.folder_edit.setText(s.output_folder)
        self.prefer_clean_master.setChecked(s.prefer_clean_master)
        self.keep_original_sound.setChecked(s.keep_original_sound)
        self.auto_start.setChecked(s.auto_start)
        self.notifications.setChecked(s.notifications)
        self.poll_interval.setValue(s.poll_interval_s)
        self.concurrency.setValue(s.concurrency)
        self.api_url.setText(s.api_url)
        self.first_poll_delay.setValue(s.first_poll_delay_s)
        self.slot_wait_limit.setValue(s.slot_wait_limit_s)
        self.max_length.setValue(s.max_length_s)
        self.takes.setValue(s.takes)
        self.sound_volume.setValue(round(s.sound_volume * 100))
        self.original_volume.setValue(round(s.original_volume * 100))
        self.duck.setChecked(s.duck)
        self.duck_sound.setChecked(s.duck_sound and not s.duck)
        self.keep_takes.setChecked(s.keep_takes)
        if self.loudness.findData(s.loudness_lufs) < 0:  # a number set by hand elsewhere
            self.loudness.addItem(f"{s.loudness_lufs:.1f} LUFS", s.loudness_lufs)
        self.loudness.setCurrentIndex(self.loudness.findData(s.loudness_lufs))
        self.export_audio.setCurrentIndex(max(0, self.export_audio.findData(s.export_audio)))

    def values(self) -> dict[str, Any]:
        """What the dialog would write, by setting name."""
        folder = self.folder_edit.text().strip() if self.in_folder.isChecked() else ""
        return {
            "output_folder": folder,
            "prefer_clean_master": self.prefer_clean_master.isChecked(),
            "keep_original_sound": self.keep_original_sound.isChecked(),
            "auto_start": self.auto_start.isChecked(),
            "notifications": self.notifications.isChecked(),
            "poll_interval_s": float(self.poll_interval.value()),
            "concurrency": int(self.concurrency.value()),
            "api_url": self.api_url.text().strip().rstrip("/"),
            "first_poll_delay_s": float(self.first_poll_delay.value()),
            "slot_wait_limit_s": float(self.slot_wait_limit.value()),
            "max_length_s": float(self.max_length.value()),
            "takes": int(self.takes.value()),
            "sound_volume": self.sound_volume.value() / 100,
            "original_volume": self.original_volume.value() / 100,
            "duck": self.duck.isChecked(),
            "duck_sound": self.duck_sound.isChecked(),
            "keep_takes": self.keep_takes.isChecked(),
            "loudness_lufs": float(self.loudness.currentData()),
            "export_audio": str(self.export_audio.currentData()),
        }

    @Slot()
    def _validate(self) -> None:
        if self._read_only:
            return
        problem = base_url_problem(self.api_url.text())
        self.url_error.setText(problem)
        if self.url_error.isVisibleTo(self) != bool(problem):
            self.url_error.setVisible(bool(problem))
            self._fit_height()
        folder_missing = self.in_folder.isChecked() and not self.folder_edit.text().strip()
        self.folder_edit.setEnabled(self.in_folder.isChecked())
        self.browse_button.setEnabled(self.in_folder.isChecked())
        self.ok_button.setEnabled(not problem and not folder_missing and not self._saving)
        if folder_missing:
            self.ok_button.setToolTip(
                self.tr("Choose the folder for results, or save them next to the original.")
            )
        elif problem:
            self.ok_button.setToolTip(problem)
        else:
            self.ok_button.setToolTip("")

    def _fit_height(self) -> None:
        """Grow to show a wrapped message in full (word-wrapped labels need height-for-width)."""
        layout = self.layout()
        if layout is None or not self.isVisible():
            return
        layout.activate()
        needed = layout.totalHeightForWidth(self.width()) if layout.hasHeightForWidth() else -1
        needed = max(needed, layout.totalMinimumSize().height())
        if needed > self.height():
            self.resize(self.width(), needed)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._fit_height()

    def _readable_greys(self) -> None:
        """Greyed, but in the palette's placeholder grey: a style's disabled text is often too
        faint to read, and these fields are here to be read."""
        # Only these roles are set: every other colour follows the application's palette.
        palette = QPalette()
        readable = QGuiApplication.palette().color(
            QPalette.ColorGroup.Active, QPalette.ColorRole.PlaceholderText
        )
        roles = (
            QPalette.ColorRole.WindowText,
            QPalette.ColorRole.Text,
            QPalette.ColorRole.ButtonText,
        )
        current = self.palette()
        if all(current.color(QPalette.ColorGroup.Disabled, r) == readable for r in roles):
            return  # already (and no new PaletteChange to answer)
        for role in roles:
            palette.setColor(QPalette.ColorGroup.Disabled, role, readable)
        self.setPalette(palette)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if self._read_only and event.type() == QEvent.Type.PaletteChange:
            self._readable_greys()  # light to dark (or back): greys of the new palette

    @Slot()
    def browse(self) -> None:
        """Pick the results folder (non-blocking dialog)."""
        start = self.folder_edit.text().strip() or str(app_paths().default_output_dir)
        dialog = QFileDialog(self, self.tr("Save results in"), start)
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.fileSelected.connect(self._folder_chosen)
        self.folder_dialog = dialog
        dialog.open()

    @Slot(str)
    def _folder_chosen(self, folder: str) -> None:
        if folder:
            self.in_folder.setChecked(True)
            self.folder_edit.setText(folder)

    # -- accept --------------------------------------------------------------------------------

    def accept(self) -> None:
        """Write the draft into the settings and save it; close once the file is written."""
        if self._read_only:
            self.reject()
            return
        self._validate()
        if not self.ok_button.isEnabled():
            return
        edited = self.values()
        for name, value in edited.items():
            setattr(self._draft, name, value)
        # The saver starts from the live settings, so a change made elsewhere meanwhile (the
        # default account, in the accounts pane) is kept.
        self._saving = True
        self.save_error.setVisible(False)
        self._validate()

        def saved(_: None) -> None:
            if not shiboken6.isValid(self):
                return
            for name, value in edited.items():
                setattr(self._settings, name, value)
            self._saving = False
            self.saved.emit(self._settings)
            super(SettingsDialog, self).accept()

        def failed(exc: BaseException) -> None:
            if not shiboken6.isValid(self):
                return
            self._saving = False
            self.save_error.setText(
                self.tr("The settings could not be saved: {why}").format(why=exc)
            )
            self.save_error.setVisible(True)
            self._fit_height()
            self._validate()

        self._saver.save(saved, failed, **edited)
