"""The line inspector: the current line's takes (choose, play, compare, prune), its seed and pin, and
its own sampling parameters (optional), and Generate / Regenerate."""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QFormLayout, QHBoxLayout, QHeaderView, QLabel,
                               QPushButton, QSpinBox, QTableWidget, QTableWidgetItem, QToolButton, QVBoxLayout, QWidget)

from gui import icons, theme
from gui.inspector_model import EMPTY, NO_TAKE_PLACEHOLDER, InspectorModel, inspect_line, shown_seed, state_fields
from gui.line_state import LineView
from gui.sampling_form import ModelSamplingForm
from gui.take_checks import verdict_detail
from gui.session import ProjectSession
from gui.waveform import WaveformView
from projects.model import Sampling
from projects.seeds import SEED_LIMIT
from projects.takes import take_rate

COLUMNS = ("", "Take", "Seed", "Model", "Sampling", "Length", "Made")
PLAY_TIP = "Play the selected take (double-click a take does the same)"
COMPARE_TIP = "Select two takes: plays the first, a short pause, then the second"


class LineInspector(QWidget):
    generateRequested = Signal(str)  # line id
    playTakeRequested = Signal(str, str)  # line id, take id
    compareRequested = Signal(str, str, str)  # line id, take A, take B
    keepOnlyActiveRequested = Signal(str)
    seekRequested = Signal(float)  # seconds into the active take
    samplingEditRequested = Signal()

    def __init__(self, session: ProjectSession, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.line_id: str | None = None
        self._view: LineView | None = None
        self.take_check = None  # set by the window: (line id, take id) -> its TakeCheck or None
        self.blocked = ""  # why generating is impossible right now ("" when it is possible)
        self._playback_off = ""  # why playback is off ("" when it works)
        self.model: InspectorModel = EMPTY

        self.title = QLabel("No line selected")
        self.title.setStyleSheet("font-weight: bold; font-size: 13px;")
        self.state_icon = QLabel()
        self.state_label = QLabel()
        self.state_label.setWordWrap(True)
        state_row = QHBoxLayout()
        state_row.addWidget(self.state_icon)
        state_row.addWidget(self.state_label, 1)
        self.text_label = QLabel()
        self.text_label.setWordWrap(True)
        self.text_label.setStyleSheet(f"color: {theme.TEXT_DIM.name()};")
        self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.waveform = WaveformView()
        self.waveform.setMinimumHeight(96)
        self.waveform.set_placeholder("No take yet — press Generate (Ctrl+Enter)")
        self.waveform.seekRequested.connect(self.seekRequested)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(lambda item: self._play_selected())

        self.play_button = QPushButton(icons.play_icon(), "Play")
        self.play_button.setToolTip(PLAY_TIP)
        self.play_button.clicked.connect(self._play_selected)
        self.use_button = QPushButton("Use take")
        self.use_button.setToolTip("Make the selected take the one in the episode (Alt+Up / Alt+Down step through)")
        self.use_button.clicked.connect(self._use_selected)
        self.compare_button = QPushButton("Compare A/B")
        self.compare_button.setToolTip(COMPARE_TIP)
        self.compare_button.clicked.connect(self._compare_selected)
        self.keep_button = QPushButton("Keep only active")
        self.keep_button.setToolTip("Delete every other take of this line and its audio file")
        self.keep_button.clicked.connect(lambda: self.line_id and self.keepOnlyActiveRequested.emit(self.line_id))
        take_buttons = QHBoxLayout()
        for b in (self.play_button, self.use_button, self.compare_button, self.keep_button):
            take_buttons.addWidget(b)
        take_buttons.addStretch(1)

        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, SEED_LIMIT - 1)
        self.seed_spin.setToolTip("The seed of the next take when pinned")
        self.seed_spin.editingFinished.connect(self._seed_edited)
        self.pin_button = QToolButton()
        self.pin_button.setText("Pin")
        self.pin_button.setCheckable(True)
        self.pin_button.setToolTip("Pinned: regenerating reuses this seed and reproduces the take exactly.\n"
                                   "Unpinned: every take draws a new seed.")
        self.pin_button.toggled.connect(self._pin_toggled)
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed_spin, 1)
        seed_row.addWidget(self.pin_button)
        self.sampling_label = QLabel()
        self.sampling_label.setToolTip("The project's sampling parameters: they apply to every line")
        sampling_edit = QToolButton()
        sampling_edit.setText("Edit…")
        sampling_edit.setToolTip("Change the project's sampling parameters (Edit ▸ Project Sampling)")
        sampling_edit.clicked.connect(self.samplingEditRequested)
        sampling_row = QHBoxLayout()
        sampling_row.addWidget(self.sampling_label, 1)
        sampling_row.addWidget(sampling_edit)
        form = QFormLayout()
        form.addRow("Seed", seed_row)
        form.addRow("Sampling", sampling_row)
        self.override_check = QCheckBox("Override sampling for this line")
        self.override_check.setToolTip("Generate this line with its own sampling parameters instead of the "
                                       "project's.\nChanging them makes only this line stale.")
        self.override_check.toggled.connect(self._override_toggled)
        self.line_sampling_form = ModelSamplingForm(session.model_info)
        self.line_sampling_form.changed.connect(self._line_sampling_edited)
        form.addRow(self.override_check)
        form.addRow(self.line_sampling_form)
        self._sampling_rows = form

        self.issues_label = QLabel()
        self.issues_label.setWordWrap(True)
        self.issues_label.setStyleSheet(f"color: {theme.WARNING.name()};")

        self.generate_button = QPushButton(icons.generate_icon(), "Generate")
        self.generate_button.setToolTip("Generate a new take of this line (Ctrl+Enter)")
        self.generate_button.setMinimumHeight(32)
        self.generate_button.clicked.connect(lambda: self.line_id and self.generateRequested.emit(self.line_id))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.title)
        layout.addLayout(state_row)
        layout.addWidget(self.text_label)
        layout.addWidget(self.waveform)
        layout.addWidget(self.table, 1)
        layout.addLayout(take_buttons)
        layout.addLayout(form)
        layout.addWidget(self.issues_label)
        layout.addWidget(self.generate_button)
        self.set_line(None)

    # ----- public -------------------------------------------------------------------------------------------------
    def set_line(self, line_id: str | None, view: LineView | None = None) -> None:
        self.line_id = line_id
        self._view = view
        self.refresh()

    def set_view(self, view: LineView | None) -> None:
        self._view = view
        self._refresh_state()

    def selected_take_ids(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return [self.table.item(r, 1).text() for r in rows]

    def select_take(self, take_id: str, add: bool = False) -> None:
        """Select a take's row (with `add`, in addition to the rows selected already)."""
        for row in range(self.table.rowCount()):
            if self.table.item(row, 1).text() == take_id:
                if add:
                    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
                    self.table.selectionModel().select(self.table.model().index(row, 0), flags)
                else:
                    self.table.selectRow(row)
                return

    def set_playhead(self, seconds: float | None) -> None:
        self.waveform.set_playhead(seconds)

    def set_blocked(self, reason: str) -> None:
        if reason != self.blocked:
            self.blocked = reason
            self.refresh()

    def refresh(self) -> None:
        """Show the line as the document is now (called whenever anything shown may have changed)."""
        model = inspect_line(self.session.project, self.line_id, self._view, blocked=self.blocked,
                             info=self.session.model_info)
        self.model = model
        self.line_id = model.line_id
        for w in (self.table, self.seed_spin, self.pin_button, self.generate_button, self.waveform,
                  self.override_check):
            w.setEnabled(model.has_line)
        self.waveform.set_placeholder(NO_TAKE_PLACEHOLDER)
        self.title.setText(model.title)
        self.text_label.setText(model.text)
        self._fill_takes(model)
        if model.has_line:
            self._load_active_waveform(self.session.project.doc.line(model.line_id), model.speaker)
        else:
            self.waveform.set_audio(None, 1)
        self.seed_spin.blockSignals(True)
        self.seed_spin.setValue(model.seed)
        self.seed_spin.blockSignals(False)
        self.pin_button.blockSignals(True)
        self.pin_button.setChecked(model.pinned)
        self.pin_button.blockSignals(False)
        self.sampling_label.setText(model.project_sampling)
        self._show_line_sampling(model.line_sampling)
        self.issues_label.setText("\n".join(f"• {m}" for m in model.issues))
        self.issues_label.setVisible(bool(model.issues))
        self.generate_button.setText(model.generate_label)
        self._refresh_state()
        self._update_buttons()

    # ----- filling ------------------------------------------------------------------------------------------------
    def _fill_takes(self, model: InspectorModel) -> None:
        selected = set(self.selected_take_ids())
        self.table.setRowCount(len(model.takes))
        for row, take in enumerate(model.takes):
            cells = ("●" if take.active else "", take.take_id, str(take.seed), take.model, take.sampling, take.length,
                     take.made)
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if take.active:
                    font = item.font()
                    font.setBold(True)
                    item.setFont(font)
                if col == 0:
                    item.setToolTip("Active take: the one in the episode" if take.active else "")
                if col == 3:
                    item.setToolTip(f"Made by {take.model_id}")
                if col == 4:
                    item.setToolTip(take.sampling_tooltip)
                    item.setForeground(theme.OK)
                check = self.take_check(model.line_id, take.take_id) if col == 1 and self.take_check else None
                if check is not None:  # the take's verdict; a failing take's id in the warning colour
                    item.setToolTip(verdict_detail(check))
                    if not check.passed:
                        item.setForeground(theme.WARNING)
                if take.file_missing:
                    item.setForeground(theme.ERROR)
                    item.setToolTip(take.file_missing)
                self.table.setItem(row, col, item)
        for take_id in selected:  # a refresh keeps the selection (both takes stay ready to compare)
            self.select_take(take_id, add=True)

    def _load_active_waveform(self, line, speaker_id: str) -> None:
        if line.active_take is None:
            self.waveform.set_audio(None, 1)
            return
        try:
            audio = self.session.take_audio(line.id)
        except (KeyError, OSError, RuntimeError, ValueError) as e:
            self.waveform.set_audio(None, 1)
            self.waveform.set_placeholder(str(e))
            return
        take = line.take(line.active_take)
        self.waveform.set_placeholder(f"Take {line.active_take} is empty (0 s)" if not len(audio) else "")
        self.waveform.set_audio(audio, take_rate(self.session.project.folder, take), theme.speaker_color(speaker_id))
        self.waveform.set_words(take.words)

    def model_info_changed(self) -> None:
        """The project's model is described anew (loaded, or another one chosen): its family's sampling form."""
        old = self.line_sampling_form
        self.line_sampling_form = ModelSamplingForm(self.session.model_info)
        self.line_sampling_form.changed.connect(self._line_sampling_edited)
        self._sampling_rows.replaceWidget(old, self.line_sampling_form)
        old.deleteLater()
        self.refresh()

    def _show_line_sampling(self, sampling: Sampling | None) -> None:
        self.override_check.blockSignals(True)
        self.override_check.setChecked(sampling is not None)
        self.override_check.blockSignals(False)
        self.line_sampling_form.setVisible(sampling is not None)
        if sampling is not None:
            self.line_sampling_form.set_values(sampling.model_dump())
        self.sampling_label.setEnabled(sampling is None)  # dimmed: this line does not use the project's values

    def _refresh_state(self) -> None:
        state = state_fields(self._view, self.blocked) if self.model.has_line else state_fields(None, "no line")
        if state["state"] is None:
            self.state_icon.clear()
            self.state_label.setText("")
        else:
            from gui.icons import state_pixmap

            self.state_icon.setPixmap(state_pixmap(state["state"], 16, state["progress"]))
            self.state_label.setText(state["state_text"])
        self.generate_button.setEnabled(state["can_generate"])
        self.generate_button.setToolTip(state["generate_tooltip"])

    def set_playback(self, available: bool, reason: str = "") -> None:
        """Without playback the Play and Compare buttons are off, and say why."""
        self._playback_off = "" if available else reason
        self.play_button.setToolTip(self._playback_off or PLAY_TIP)
        self.compare_button.setToolTip(self._playback_off or COMPARE_TIP)
        self._update_buttons()

    def _update_buttons(self) -> None:
        selected = self.selected_take_ids()
        line = self.session.project.doc.line(self.line_id) if self.line_id else None
        playable = not self._playback_off
        self.play_button.setEnabled(playable and len(selected) >= 1)
        self.use_button.setEnabled(len(selected) == 1 and line is not None and selected[0] != line.active_take)
        self.compare_button.setEnabled(playable and len(selected) == 2)
        self.keep_button.setEnabled(line is not None and len(line.takes) > 1)

    # ----- actions ------------------------------------------------------------------------------------------------
    def _play_selected(self) -> None:
        selected = self.selected_take_ids()
        if self.line_id and selected:
            self.playTakeRequested.emit(self.line_id, selected[0])

    def _use_selected(self) -> None:
        selected = self.selected_take_ids()
        if self.line_id and len(selected) == 1:
            self.session.choose_take(self.line_id, selected[0])

    def _compare_selected(self) -> None:
        selected = self.selected_take_ids()
        if self.line_id and len(selected) == 2:
            self.compareRequested.emit(self.line_id, selected[0], selected[1])

    def _seed_edited(self) -> None:
        if self.line_id is None:
            return
        seed = self.seed_spin.value()
        line = self.session.project.line(self.line_id)
        if seed != shown_seed(line):
            self.session.set_seed(self.line_id, seed, pin=True)  # typing a seed means "use this one"

    def _override_toggled(self, checked: bool) -> None:
        if self.line_id is not None:  # starts from the project's values: the line stays done until one changes
            self.session.set_line_sampling(self.line_id, self.session.project.sampling().model_dump() if checked
                                           else None)

    def _line_sampling_edited(self) -> None:
        if self.line_id is None or not self.override_check.isChecked():
            return
        try:
            self.session.set_line_sampling(self.line_id, self.line_sampling_form.values())
        except ValueError as e:
            self.issues_label.setText(f"• {e}")
            self.issues_label.show()

    def _pin_toggled(self, pinned: bool) -> None:
        if self.line_id is not None:
            self.session.set_pinned(self.line_id, pinned)
