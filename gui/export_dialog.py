"""The export dialog: the options of `projects` export (file, format, bit depth, loudness target, stems,
subtitles, manifest) and a progress bar while the episode is written on a background thread."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFileDialog,
                               QFormLayout, QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton, QVBoxLayout,
                               QWidget)

from gui import theme
from projects.export import ExportOptions, ExportResult
from projects.model import DEFAULT_LUFS, LOUDNESS_PRESETS, ExportSettings

# The mix is mono. −16 LUFS is the usual podcast target; −19 LUFS is the usual target for a mono file (it plays
# as loud as a −16 stereo one).
PRESET_LABELS = {"podcast": "Podcast", "mono": "Mono", "streaming": "Music streaming",
                 "broadcast": "Broadcast (EBU R128)"}
PRESET_TIPS = {"podcast": "The usual podcast target (Apple Podcasts, Spotify)",
               "mono": "The usual target for a mono file: it plays as loud as a −16 LUFS stereo one",
               "streaming": "Music streaming services", "broadcast": "TV and radio (EBU R128)"}


def preset_label(key: str, lufs: float) -> str:
    return f"{PRESET_LABELS.get(key, key)} {lufs:g} LUFS".replace("-", "−")


class ExportDialog(QDialog):
    exported = Signal(object)  # ExportResult
    _done = Signal(object, str)  # result or None, error

    def __init__(self, project, defaults, parent: QWidget | None = None, folder: Path | None = None):
        super().__init__(parent)
        self.setWindowTitle("Export episode")
        self.project = project
        self.result: ExportResult | None = None
        self.error = ""
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="export")
        self._done.connect(self._finished)
        doc_export = project.doc.export

        folder = Path(folder) if folder is not None else project.folder / "export"
        self.path_edit = QLineEdit(str(folder / f"{project.doc.name or 'episode'}.{defaults.format}"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(browse)

        self.format_combo = QComboBox()
        self.format_combo.addItems(["wav", "flac"])
        self.format_combo.setCurrentText(defaults.format if defaults.format in ("wav", "flac") else doc_export.format)
        self.format_combo.currentTextChanged.connect(self._format_changed)
        self.depth_combo = QComboBox()
        self.depth_combo.addItem("16-bit", "16")
        self.depth_combo.addItem("24-bit", "24")
        self.depth_combo.addItem("32-bit float", "float")
        self.depth_combo.setCurrentIndex(self.depth_combo.findData(doc_export.bit_depth))
        self.preset_combo = QComboBox()
        for key, lufs in LOUDNESS_PRESETS.items():
            self.preset_combo.addItem(preset_label(key, lufs), key)
            self.preset_combo.setItemData(self.preset_combo.count() - 1, PRESET_TIPS.get(key, ""),
                                          Qt.ItemDataRole.ToolTipRole)
        self.preset_combo.addItem("Custom", "custom")
        self.lufs_spin = QDoubleSpinBox()
        self.lufs_spin.setRange(-70.0, 0.0)
        self.lufs_spin.setDecimals(1)
        self.lufs_spin.setSuffix(" LUFS")
        self.preset_combo.currentIndexChanged.connect(self._preset_changed)
        self.lufs_spin.valueChanged.connect(self._lufs_changed)
        preset = defaults.loudness_preset if defaults.loudness_preset in LOUDNESS_PRESETS else "podcast"
        self.preset_combo.setCurrentIndex(self.preset_combo.findData(preset))
        self._preset_changed()
        if doc_export.lufs != DEFAULT_LUFS:  # this project's own last choice
            self.lufs_spin.setValue(doc_export.lufs)
        self.stems_box = QCheckBox("One file per speaker (stems, aligned with the mix)")
        self.stems_box.setChecked(doc_export.stems)
        self.subtitles_box = QCheckBox("Subtitles (.srt and .vtt)")
        self.subtitles_box.setChecked(doc_export.subtitles)
        self.manifest_box = QCheckBox("Manifest (.json: lines, takes, seeds, timings)")
        self.manifest_box.setChecked(True)

        form = QFormLayout()
        form.addRow("File", path_row)
        form.addRow("Format", self.format_combo)
        form.addRow("Bit depth", self.depth_combo)
        form.addRow("Loudness", self.preset_combo)
        form.addRow("Target", self.lufs_spin)
        form.addRow("", self.stems_box)
        form.addRow("", self.subtitles_box)
        form.addRow("", self.manifest_box)

        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setTextVisible(False)
        self.status = QLabel("The mix is normalised to the target loudness with a −1 dBTP true-peak ceiling.")
        self.status.setWordWrap(True)
        self.status.setStyleSheet(f"color: {theme.TEXT_DIM.name()};")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.show_button = self.buttons.addButton("Show folder", QDialogButtonBox.ButtonRole.ActionRole)
        self.show_button.hide()
        self.export_button.clicked.connect(self.start_export)
        self.buttons.rejected.connect(self.reject)
        self.show_button.clicked.connect(self._show_folder)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self._format_changed(self.format_combo.currentText())
        self.resize(560, self.sizeHint().height())

    # ----- options ------------------------------------------------------------------------------------------------
    def options(self) -> ExportOptions:
        return ExportOptions(lufs=round(self.lufs_spin.value(), 1), format=self.format_combo.currentText(),
                             bit_depth=self.depth_combo.currentData(), stems=self.stems_box.isChecked(),
                             subtitles=self.subtitles_box.isChecked(), manifest=self.manifest_box.isChecked())

    def preset(self) -> str:
        return self.preset_combo.currentData()

    def _preset_changed(self, *_args) -> None:
        key = self.preset_combo.currentData()
        if key in LOUDNESS_PRESETS:
            self.lufs_spin.blockSignals(True)
            self.lufs_spin.setValue(LOUDNESS_PRESETS[key])
            self.lufs_spin.blockSignals(False)

    def _lufs_changed(self, value: float) -> None:
        match = next((k for k, v in LOUDNESS_PRESETS.items() if abs(v - value) < 0.05), "custom")
        self.preset_combo.blockSignals(True)
        self.preset_combo.setCurrentIndex(self.preset_combo.findData(match))
        self.preset_combo.blockSignals(False)

    def _format_changed(self, fmt: str) -> None:
        float_index = self.depth_combo.findData("float")
        item = self.depth_combo.model().item(float_index)
        item.setEnabled(fmt != "flac")  # FLAC holds integer samples only
        if fmt == "flac" and self.depth_combo.currentData() == "float":
            self.depth_combo.setCurrentIndex(self.depth_combo.findData("24"))
        path = Path(self.path_edit.text())
        if path.suffix.lower() in (".wav", ".flac"):
            self.path_edit.setText(str(path.with_suffix(f".{fmt}")))

    def _browse(self) -> None:
        fmt = self.format_combo.currentText()
        path, _ = QFileDialog.getSaveFileName(self, "Export episode", self.path_edit.text(), f"Audio (*.{fmt})")
        if path:
            self.path_edit.setText(path)

    # ----- running ------------------------------------------------------------------------------------------------
    def start_export(self) -> None:
        try:
            options = self.options()
        except ValueError as e:
            self._show_error(str(e))
            return
        out = Path(self.path_edit.text()).expanduser()
        if out.suffix.lower() != f".{options.format}":
            out = out.with_suffix(f".{options.format}")
            self.path_edit.setText(str(out))
        self.progress.setRange(0, 0)  # busy: export reports no steps
        self.status.setStyleSheet(f"color: {theme.TEXT.name()};")
        self.status.setText("Mixing, normalising and writing…")
        self.export_button.setEnabled(False)

        def work() -> None:
            try:
                out.parent.mkdir(parents=True, exist_ok=True)
                self._done.emit(self.project.export(out, options), "")
            except Exception as e:  # incomplete project, unwritable folder, ...: shown in the dialog
                self._done.emit(None, str(e) or type(e).__name__)

        self._pool.submit(work)

    def _finished(self, result: ExportResult | None, error: str) -> None:
        self.progress.setRange(0, 1)
        self.export_button.setEnabled(True)
        if result is None:
            self.error = error
            self.progress.setValue(0)
            self._show_error(error)
            return
        self.result = result
        self.remember_choices()
        self.progress.setValue(1)
        lufs = f"{result.loudness_lufs:.1f} LUFS" if result.loudness_lufs is not None else "loudness not measurable"
        d = result.duration
        text = (f"Exported {int(d // 60)}:{d % 60:04.1f} · {lufs} · true peak {result.true_peak_dbtp:.1f} dBTP · "
                f"{len(result.files)} file{'s' if len(result.files) > 1 else ''}\n{result.mix}")
        if result.warnings:
            text += "\n" + "\n".join(f"Note: {w}" for w in result.warnings)
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {theme.OK.name()};")
        self.show_button.show()
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Close")
        self.exported.emit(result)

    def remember_choices(self) -> None:
        """The project keeps this export's choices: the next export starts from them."""
        options = self.options()
        self.project.doc.export = ExportSettings(lufs=options.lufs, format=options.format,
                                                 bit_depth=options.bit_depth, stems=options.stems,
                                                 subtitles=options.subtitles)

    def _show_error(self, message: str) -> None:
        self.status.setText(f"Export failed: {message}")
        self.status.setStyleSheet(f"color: {theme.ERROR.name()};")

    def _show_folder(self) -> None:
        if self.result is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.result.mix.parent)))

    def done(self, code: int) -> None:  # noqa: D102 (Qt override: wait for a running export before closing)
        self._pool.shutdown(wait=True)
        super().done(code)
