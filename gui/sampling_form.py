"""The sampling parameters of the model's family as a form (`ModelSamplingForm`), shared by the settings
(defaults for new projects), the project's sampling dialog and a line's own sampling in the inspector."""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel, QSpinBox, QVBoxLayout,
                               QWidget)

from dia_engine import ModelInfo
from gui import theme
from projects.sampling import STORED_FIELDS, canonical, form_fields


class ModelSamplingForm(QWidget):
    """One spin box per parameter the model's family reads, showing the family's default where a value is unset,
    plus max tokens (0 = automatic). Without a model description it says why no fields are shown."""

    changed = Signal()  # any field changed by the user

    def __init__(self, info: ModelInfo | None, values: Mapping[str, object] | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.info = info
        self.spins: dict[str, QSpinBox | QDoubleSpinBox] = {}
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        if info is None:
            self.note = QLabel("The sampling parameters appear once the model is on this machine "
                               "(they differ between Dia 1.6B and Dia2).")
            self.note.setWordWrap(True)
            form.addRow(self.note)
            return
        for spec in form_fields(info):
            default = getattr(info.default_sampling, spec.name)
            if spec.kind is int:
                spin = QSpinBox()
                spin.setRange(int(spec.minimum), int(spec.maximum))
            else:
                spin = QDoubleSpinBox()
                spin.setRange(spec.minimum, spec.maximum)
                spin.setDecimals(2)
                spin.setSingleStep(spec.step)
            spin.setToolTip(f"{spec.help[0].upper()}{spec.help[1:]} ({info.family_name} default: {default:g})")
            self.spins[spec.name] = spin
            form.addRow(spec.label, spin)
        tokens = QSpinBox()
        tokens.setRange(0, info.max_frames)
        tokens.setSpecialValueText("automatic")
        tokens.setToolTip(f"Frames per line including the voice prompt ({info.frames_per_second:g} ≈ 1 s, at most "
                          f"{info.max_frames}); automatic estimates from the text")
        self.spins["max_tokens"] = tokens
        form.addRow("Max tokens", tokens)
        self.set_values(values or {})
        for spin in self.spins.values():
            spin.valueChanged.connect(self.changed)

    @property
    def family(self) -> str:
        """The family whose parameters the form shows ("" without a model description)."""
        return self.info.family if self.info is not None else ""

    def values(self) -> dict[str, object]:
        """Every stored field: None where the value is the family's default (or max tokens is automatic)."""
        if self.info is None:
            return {name: None for name in STORED_FIELDS}
        shown = {name: (round(spin.value(), 2) if isinstance(spin, QDoubleSpinBox) else spin.value())
                 for name, spin in self.spins.items()}
        return canonical(self.info, shown)

    def set_values(self, values: Mapping[str, object]) -> None:
        """Show `values` (unset ones at the family's default) without emitting `changed`."""
        if self.info is None:
            return
        for name, spin in self.spins.items():
            value = values.get(name)
            if value is None:
                value = 0 if name == "max_tokens" else getattr(self.info.default_sampling, name)
            spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(False)


class ProjectSamplingDialog(QDialog):
    """The project's sampling parameters: they apply to every line (changing them makes takes stale)."""

    def __init__(self, sampling, info: ModelInfo | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Project sampling")
        self.form = ModelSamplingForm(info, sampling.model_dump())
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
