"""The five sampling parameters as a form, shared by the settings (defaults for new projects) and the
project's sampling dialog."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from gui import theme


class SamplingForm(QWidget):
    changed = Signal()  # any field changed by the user

    def __init__(self, cfg_scale: float, temperature: float, top_p: float, top_k: int, max_tokens: int | None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.cfg_spin = self._float(cfg_scale, 0, 10, 0.1, "How strongly the text steers the audio (Dia: 3)")
        self.temperature_spin = self._float(temperature, 0, 3, 0.05, "Randomness; 0 = always the likeliest token")
        self.top_p_spin = self._float(top_p, 0.01, 1, 0.01, "Nucleus sampling: keep the likeliest tokens up to p")
        self.top_k_spin = QSpinBox()
        self.top_k_spin.setRange(1, 1024)
        self.top_k_spin.setValue(top_k)
        self.top_k_spin.setToolTip("Guided top-k filter of the conditional logits (Dia: 45)")
        self.max_tokens_spin = QSpinBox()
        self.max_tokens_spin.setRange(0, 3072)
        self.max_tokens_spin.setSpecialValueText("automatic")
        self.max_tokens_spin.setValue(max_tokens or 0)
        self.max_tokens_spin.setToolTip("Decoder steps per line including the voice prompt (86 ≈ 1 s); "
                                        "automatic estimates from the text")
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("CFG scale", self.cfg_spin)
        form.addRow("Temperature", self.temperature_spin)
        form.addRow("Top-p", self.top_p_spin)
        form.addRow("CFG filter top-k", self.top_k_spin)
        form.addRow("Max tokens", self.max_tokens_spin)
        for spin in self._spins():
            spin.valueChanged.connect(self.changed)

    def _spins(self):
        return (self.cfg_spin, self.temperature_spin, self.top_p_spin, self.top_k_spin, self.max_tokens_spin)

    @staticmethod
    def _float(value: float, lo: float, hi: float, step: float, tip: str) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(lo, hi)
        spin.setDecimals(2)
        spin.setSingleStep(step)
        spin.setValue(value)
        spin.setToolTip(tip)
        return spin

    def values(self) -> dict:
        """cfg_scale, temperature, top_p, cfg_filter_top_k, max_tokens (None = automatic)."""
        return {"cfg_scale": round(self.cfg_spin.value(), 2), "temperature": round(self.temperature_spin.value(), 2),
                "top_p": round(self.top_p_spin.value(), 2), "cfg_filter_top_k": self.top_k_spin.value(),
                "max_tokens": self.max_tokens_spin.value() or None}

    def set_values(self, sampling) -> None:
        """Show `sampling` without emitting `changed` (fields already showing their value are left alone)."""
        if self.values() == {**sampling.model_dump(), "max_tokens": sampling.max_tokens or None}:
            return
        values = (sampling.cfg_scale, sampling.temperature, sampling.top_p, sampling.cfg_filter_top_k,
                  sampling.max_tokens or 0)
        for spin, value in zip(self._spins(), values):
            spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(False)


class ProjectSamplingDialog(QDialog):
    """The project's sampling parameters: they apply to every line (changing them makes takes stale)."""

    def __init__(self, sampling, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Project sampling")
        self.form = SamplingForm(sampling.cfg_scale, sampling.temperature, sampling.top_p,
                                 sampling.cfg_filter_top_k, sampling.max_tokens)
        note = QLabel("These apply to every line of the project. Lines generated with other values become stale.")
        note.setWordWrap(True)
        note.setStyleSheet(f"color: {theme.TEXT_DIM.name()};")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addWidget(note)
        layout.addWidget(buttons)
