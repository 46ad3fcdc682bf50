"""The model picker: the released Dia models and a local folder, each with its size and whether it is downloaded
(`projects.catalogue`), and a line saying what the chosen model is."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from gui import theme
from projects.catalogue import ModelChoice, choices, released

LOCAL = "__local__"  # the "a local folder…" row: asks for a folder


class ModelPicker(QWidget):
    changed = Signal(str)  # the chosen model id (hub repo id or folder)

    def __init__(self, current: str, parent: QWidget | None = None, cache_dir: str | None = None):
        super().__init__(parent)
        self._cache_dir = cache_dir
        self._choices: list[ModelChoice] = []
        self.combo = QComboBox()
        self.combo.setToolTip("The model this project is generated with; a change marks every line stale "
                              "(its takes are kept)")
        self.browse_button = QPushButton("Folder…")
        self.browse_button.setToolTip("Use a model in a folder of your own (config.json and weights)")
        self.browse_button.clicked.connect(self._browse)
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        self.detail.setStyleSheet(f"color: {theme.TEXT_DIM.name()};")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.combo, 1)
        row.addWidget(self.browse_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.detail)
        self._fill(current)
        self.combo.activated.connect(self._activated)

    def _fill(self, current: str) -> None:
        self._current = current
        self._choices = choices(None if released(current) else current, cache_dir=self._cache_dir)
        self.combo.blockSignals(True)
        self.combo.clear()
        for choice in self._choices:
            self.combo.addItem(choice.label(), choice.entry.model_id)
        self.combo.addItem("A local folder…", LOCAL)
        self.combo.setCurrentIndex(max(0, self.combo.findData(current)))
        self.combo.blockSignals(False)
        self._show_detail()

    def model_id(self) -> str:
        return self._current

    def set_model(self, model_id: str) -> None:
        """Choose `model_id` (a released id or a folder), adding the folder's row when needed."""
        if model_id != self._current:
            self._fill(model_id)
            self.changed.emit(model_id)

    def _activated(self, _index: int) -> None:
        chosen = str(self.combo.currentData())
        if chosen == LOCAL:
            self._browse()
        else:
            self.set_model(chosen)

    def _browse(self) -> None:
        start = self._current if Path(self._current).is_dir() else str(Path.home())
        folder = QFileDialog.getExistingDirectory(self, "Model folder (config.json and weights)", start)
        if folder:
            self.set_model(folder)
        else:
            self._fill(self._current)  # cancelled: back to the model chosen before

    def _show_detail(self) -> None:
        choice = next((c for c in self._choices if c.entry.model_id == self.model_id()), None)
        if choice is None:
            self.detail.setText("")
            return
        where = ("on this machine" if choice.cached else
                 "downloaded from the Hugging Face hub on first Generate" if released(choice.entry.model_id) else
                 "no model weights found in this folder")
        self.detail.setText(f"{choice.entry.summary} ({where})")
