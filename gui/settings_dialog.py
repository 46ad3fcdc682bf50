"""Settings: where the model and codec come from, device and dtype, batch size, default sampling for new
projects, export defaults and the autosave interval."""

from __future__ import annotations

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from gui import theme
from gui.sampling_form import SamplingForm
from gui.settings import AppSettings, EngineSettings, ExportDefaults, SamplingDefaults
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
    def __init__(self, settings: AppSettings, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.settings = settings
        engine, sampling, export = settings.engine(), settings.sampling(), settings.export()

        self.model_edit = QLineEdit(engine.model)
        self.model_edit.setToolTip("A Hugging Face repo id (downloaded once into the hub cache) or a local folder")
        model_row = _with_browse_button(self.model_edit, "Folder…", self._browse_model)
        self.codec_edit = QLineEdit(engine.codec)
        self.codec_edit.setToolTip("'auto' = the official 44.1 kHz DAC; or a DAC weights.pth file")
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
        f.addRow("Model", model_row)
        f.addRow("Audio codec", codec_row)
        f.addRow("Device", self.device_combo)
        f.addRow("Precision", self.dtype_combo)
        f.addRow("Lines per batch", self.batch_spin)

        self.sampling_form = SamplingForm(sampling.cfg_scale, sampling.temperature, sampling.top_p,
                                          sampling.cfg_filter_top_k, sampling.max_tokens)
        sampling_box = QGroupBox("Default sampling for new projects")
        QVBoxLayout(sampling_box).addWidget(self.sampling_form)

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

        note = QLabel("Model changes apply to the next generation (the model is reloaded).")
        note.setStyleSheet(f"color: {theme.TEXT_DIM.name()};")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for w in (engine_box, sampling_box, other_box, note, buttons):
            layout.addWidget(w)

    def _browse_model(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Dia model folder", self.model_edit.text())
        if folder:
            self.model_edit.setText(folder)

    def _browse_codec(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "DAC weights", "", "DAC weights (*.pth);;All files (*)")
        if path:
            self.codec_edit.setText(path)

    def engine_settings(self) -> EngineSettings:
        return EngineSettings(model=self.model_edit.text().strip() or EngineSettings.model,
                              codec=self.codec_edit.text().strip() or "auto", device=self.device_combo.currentData(),
                              dtype=self.dtype_combo.currentData(), batch_size=self.batch_spin.value())

    def apply(self) -> bool:
        """Store the settings; returns whether the engine must be reloaded."""
        engine = self.engine_settings()
        changed = engine != self.settings.engine()
        self.settings.set_engine(engine)
        values = self.sampling_form.values()
        values["max_tokens"] = values["max_tokens"] or 0
        self.settings.set_sampling(SamplingDefaults(**values))
        self.settings.set_export(ExportDefaults(self.preset_combo.currentData(), self.format_combo.currentData()))
        self.settings.q.setValue("autosave_seconds", self.autosave_spin.value())
        return changed
