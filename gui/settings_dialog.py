"""Settings: the model (picked from the released Dia models or a folder) and codec, device and precision, batch
size, default sampling for new projects (per model family: the form shows the picked model's parameters), export
defaults and the autosave interval."""

from __future__ import annotations

import dataclasses

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from gui import theme
from gui.model_info import local_model_info
from gui.model_picker import ModelPicker
from gui.sampling_form import ModelSamplingForm
from gui.settings import AppSettings, EngineSettings, ExportDefaults
from projects.model import LOUDNESS_PRESETS


def _with_browse_button(edit: QLineEdit, label: str, browse) -> QHBoxLayout:
    """A path field with its browse button beside it."""
    button = QPushButton(label)
    button.clicked.connect(browse)
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(button)
    return row


def _combo(items: list[tuple[str, str]], current: str) -> QComboBox:
    combo = QComboBox()
    for label, value in items:
        combo.addItem(label, value)
    index = combo.findData(current)
    combo.setCurrentIndex(max(0, index))
    return combo


class SettingsDialog(QDialog):
    def __init__(self, settings: AppSettings, parent: QWidget | None = None, current_model: str | None = None):
        """`current_model`: the open project's model, shown in the picker (a change applies to the project and
        to new projects)."""
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.settings = settings
        engine, export = settings.engine(), settings.export()
        if current_model is not None:
            engine = dataclasses.replace(engine, model=current_model)
        self._shown = engine

        self.model_picker = ModelPicker(engine.model)
        self.model_picker.changed.connect(self._model_changed)
        self.codec_edit = QLineEdit(engine.codec)
        self.codec_edit.setToolTip("'auto' = the model family's codec (Dia 1.6B: the official 44.1 kHz DAC; Dia2: "
                                   "kyutai/mimi at 24 kHz); or a codec weights file or folder")
        codec_row = _with_browse_button(self.codec_edit, "File…", self._browse_codec)
        self.device_combo = _combo([("Automatic (CUDA when present)", ""), ("CUDA", "cuda"), ("CPU", "cpu"),
                                    ("Apple MPS", "mps")], engine.device)
        self.dtype_combo = _combo([("Automatic (bfloat16 on CUDA)", ""), ("float32", "float32"),
                                   ("bfloat16", "bfloat16"), ("float16", "float16")], engine.dtype)
        self.batch_spin = QSpinBox()
        self.batch_spin.setRange(1, 64)
        self.batch_spin.setValue(engine.batch_size)
        self.batch_spin.setToolTip("How many lines go to the engine together; more is faster on a big GPU")
        engine_box = QGroupBox("Model")
        f = QFormLayout(engine_box)
        f.addRow("Model", self.model_picker)
        f.addRow("Audio codec", codec_row)
        f.addRow("Device", self.device_combo)
        f.addRow("Precision", self.dtype_combo)
        f.addRow("Lines per batch", self.batch_spin)

        self._family_values: dict[str, dict] = {}  # edited defaults of each family shown in this dialog
        self.sampling_box = QGroupBox()
        QVBoxLayout(self.sampling_box)
        self.sampling_form: ModelSamplingForm | None = None
        self._show_sampling(engine.model)
        sampling_box = self.sampling_box

        self.preset_combo = _combo([(f"{k} ({v:g} LUFS)", k) for k, v in LOUDNESS_PRESETS.items()],
                                   export.loudness_preset)
        self.format_combo = _combo([("WAV", "wav"), ("FLAC", "flac")], export.format)
        self.autosave_spin = QSpinBox()
        self.autosave_spin.setRange(2, 600)
        self.autosave_spin.setSuffix(" s")
        self.autosave_spin.setValue(settings.autosave_seconds())
        other_box = QGroupBox("Export and safety")
        f = QFormLayout(other_box)
        f.addRow("Loudness preset", self.preset_combo)
        f.addRow("Format", self.format_combo)
        f.addRow("Autosave every", self.autosave_spin)

        note = QLabel("A model change applies to the open project (its lines turn stale; every take is kept) and "
                      "to new projects; the model loads on the next Generate.")
        note.setWordWrap(True)
        note.setStyleSheet(f"color: {theme.TEXT_DIM.name()};")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for w in (engine_box, sampling_box, other_box, note, buttons):
            layout.addWidget(w)

    def _show_sampling(self, model_id: str) -> None:
        """The default-sampling form for the family of `model_id` (values kept per family while the dialog is open)."""
        self._keep_form_values()
        info = local_model_info(model_id)
        family = info.family if info is not None else ""
        values = self._family_values.get(family) or (self.settings.sampling_defaults(family) if family else {})
        form = ModelSamplingForm(info, values)
        layout = self.sampling_box.layout()
        if self.sampling_form is not None:
            layout.removeWidget(self.sampling_form)
            self.sampling_form.deleteLater()
        layout.addWidget(form)
        self.sampling_form = form
        self.sampling_box.setTitle(f"Default sampling for new {info.family_name} projects" if info else
                                   "Default sampling for new projects")

    def _keep_form_values(self) -> None:
        form = self.sampling_form
        if form is not None and form.family:
            self._family_values[form.family] = form.values()

    def _model_changed(self, model_id: str) -> None:
        self._show_sampling(model_id)

    def _browse_codec(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "DAC weights", "", "DAC weights (*.pth);;All files (*)")
        if path:
            self.codec_edit.setText(path)

    def engine_settings(self) -> EngineSettings:
        return EngineSettings(model=self.model_picker.model_id() or EngineSettings.model,
                              codec=self.codec_edit.text().strip() or "auto", device=self.device_combo.currentData(),
                              dtype=self.dtype_combo.currentData(), batch_size=self.batch_spin.value())

    def apply(self) -> bool:
        """Store the settings; returns whether the engine must be reloaded."""
        engine = self.engine_settings()
        changed = engine != self._shown
        self.settings.set_engine(engine)
        self._keep_form_values()
        for family, values in self._family_values.items():
            self.settings.set_sampling_defaults(family, values)
        self.settings.set_export(ExportDefaults(self.preset_combo.currentData(), self.format_combo.currentData()))
        self.settings.q.setValue("autosave_seconds", self.autosave_spin.value())
        return changed
