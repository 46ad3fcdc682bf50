"""The open project as the GUI sees it: the `projects.Project`, its undo history, unsaved-change tracking and
the signals views listen to. Views never change the project behind the session's back.

The project folder is the document: takes are written into it as they arrive (and `add_take` saves
`project.json`), and edits are autosaved on a timer. "Untitled" projects live in a scratch folder until
"Save As" copies them to a place the user picks."""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QTextDocument, QUndoStack

from gui.undo import (MERGE_GAIN, MERGE_GAP, MERGE_LINE_SAMPLING, ChooseTakeCommand, LineOptionCommand,
                      LineSamplingCommand, SamplingCommand, SpeakerCommand, TextEditCommand)
from dia_engine import ModelInfo, SamplingParams
from projects.model import Sampling
from projects.project import Project
from projects.takes import LineStatus

AUDIO_CACHE_TAKES = 64


class ProjectSession(QObject):
    linesChanged = Signal()  # the script was re-parsed: lines, their ids or order may have changed
    lineChanged = Signal(str)  # takes, seed or options of one line changed
    timelineChanged = Signal()  # active takes, gaps or gains changed: the mix must be rebuilt
    speakersChanged = Signal()
    dirtyChanged = Signal(bool)
    saved = Signal()

    def __init__(self, project: Project, untitled: bool = False, parent: QObject | None = None):
        super().__init__(parent)
        self.project = project
        self.untitled = untitled
        self.undo_stack = QUndoStack(self)
        self._dirty = False
        self._audio: OrderedDict[str, np.ndarray] = OrderedDict()
        self.model_info: ModelInfo | None = None  # the project's model, for limits, estimates and sampling forms

    # ----- identity -----------------------------------------------------------------------------------------------
    @property
    def folder(self) -> Path:
        return self.project.folder

    @property
    def name(self) -> str:
        return self.project.doc.name

    @property
    def dirty(self) -> bool:
        return self._dirty

    def mark_dirty(self) -> None:
        if not self._dirty:
            self._dirty = True
            self.dirtyChanged.emit(True)

    def save(self) -> None:
        self.project.save()
        if self._dirty:
            self._dirty = False
            self.dirtyChanged.emit(False)
        self.saved.emit()

    # ----- script -------------------------------------------------------------------------------------------------
    def attach_document(self, document: QTextDocument) -> None:
        """Route the editor's text undo steps into the shared undo stack."""
        document.undoCommandAdded.connect(lambda: self.undo_stack.push(TextEditCommand(document)))

    def set_script(self, text: str) -> None:
        if text == self.project.doc.script:
            return
        self.project.set_script(text)
        self.mark_dirty()
        self.linesChanged.emit()
        self.timelineChanged.emit()

    def line_ids(self) -> list[str]:
        return [line.id for line in self.project.doc.lines]

    def line_for_block(self, block_number: int) -> str | None:
        """The line id written on editor block `block_number` (0-based), if that block is a speakable line."""
        for line, parsed in zip(self.project.doc.lines, self.project.script.lines):
            if parsed.source_line == block_number + 1:
                return line.id
        return None

    def block_for_line(self, line_id: str) -> int | None:
        try:
            return self.project.script_line(line_id).source_line - 1
        except KeyError:
            return None

    def statuses(self) -> dict[str, LineStatus]:
        return self.project.statuses()

    # ----- notifications from commands and the worker -------------------------------------------------------------
    def line_changed(self, line_id: str, timeline: bool = False) -> None:
        self.mark_dirty()
        self.lineChanged.emit(line_id)
        if timeline:
            self.timelineChanged.emit()

    def speakers_changed(self) -> None:
        self.mark_dirty()
        self.speakersChanged.emit()
        self.linesChanged.emit()  # voices are in every line's fingerprint: states may flip to stale

    def sampling_changed(self) -> None:
        self.mark_dirty()
        self.linesChanged.emit()  # sampling is in every line's fingerprint

    def take_added(self, line_id: str) -> None:
        """A take was stored by the worker (`Project.add_take` has already saved it to disk)."""
        self.lineChanged.emit(line_id)
        self.timelineChanged.emit()

    # ----- undoable edits -----------------------------------------------------------------------------------------
    def choose_take(self, line_id: str, take_id: str) -> None:
        if self.project.line(line_id).active_take != take_id:
            self.undo_stack.push(ChooseTakeCommand(self, line_id, take_id))

    def set_gap(self, line_id: str, gap_ms: float | None) -> None:
        if self.project.line(line_id).gap_ms != gap_ms:
            self.undo_stack.push(LineOptionCommand(self, line_id, "Change gap", MERGE_GAP, gap_ms=gap_ms))

    def set_gain(self, line_id: str, gain_db: float) -> None:
        if self.project.line(line_id).gain_db != gain_db:
            self.undo_stack.push(LineOptionCommand(self, line_id, "Change gain", MERGE_GAIN, gain_db=gain_db))

    def set_trim(self, line_id: str, trim: bool) -> None:
        if self.project.line(line_id).trim_silence != trim:
            self.undo_stack.push(LineOptionCommand(self, line_id, "Trim silence", trim_silence=trim))

    def set_pinned(self, line_id: str, pinned: bool) -> None:
        line = self.project.line(line_id)
        if line.pinned != pinned:
            text = "Pin seed" if pinned else "Unpin seed"
            self.undo_stack.push(LineOptionCommand(self, line_id, text, pinned=pinned))

    def set_seed(self, line_id: str, seed: int | None, pin: bool = False) -> None:
        """Set the seed of a line's next take; with `pin`, also pin it (one undo step)."""
        line = self.project.line(line_id)
        options = {"seed": seed, **({"pinned": True} if pin and not line.pinned else {})}
        if line.seed != seed or "pinned" in options:
            self.undo_stack.push(LineOptionCommand(self, line_id, "Set seed", **options))

    def set_sampling(self, **values) -> None:
        """Change the project's sampling parameters (raises ValueError for invalid values, changing nothing)."""
        SamplingParams(**values)  # the engine's own validation: bad values are refused before they are stored
        sampling = Sampling(**values)
        if sampling != self.project.doc.sampling:
            self.undo_stack.push(SamplingCommand(self, sampling))

    def set_line_sampling(self, line_id: str, values: dict | None) -> None:
        """Give a line its own sampling parameters (`None`: use the project's). Raises ValueError for invalid
        values, changing nothing. Consecutive edits of the values merge into one undo step."""
        current = self.project.line(line_id).sampling
        if values is None:
            if current is not None:
                self.undo_stack.push(LineSamplingCommand(self, line_id, None, f"Use project sampling for {line_id}"))
            return
        SamplingParams(**values)
        sampling = Sampling(**values)
        if sampling == current:
            return
        if current is None:
            self.undo_stack.push(LineSamplingCommand(self, line_id, sampling, f"Override sampling of {line_id}"))
        else:
            self.undo_stack.push(LineSamplingCommand(self, line_id, sampling, f"Change sampling of {line_id}",
                                                     MERGE_LINE_SAMPLING))

    def change_speaker(self, speaker_id: str, **changes) -> None:
        """Rename a speaker or set its clip/transcript. Raises the project's readable error and changes nothing
        when the clip cannot be used."""
        what = "Change voice" if "clip" in changes else "Rename speaker" if "name" in changes else "Edit transcript"
        command = SpeakerCommand(self, speaker_id, f"{what} of {speaker_id}", **changes)
        command.apply_first()
        self.undo_stack.push(command)

    # ----- audio --------------------------------------------------------------------------------------------------
    def take_audio(self, line_id: str, take_id: str | None = None) -> np.ndarray:
        """Samples of a take (the active one by default), cached: takes never change once written."""
        line = self.project.line(line_id)
        take_id = take_id or line.active_take
        if take_id is None:
            raise KeyError(f"line {line_id} has no take")
        audio = self._audio.get(take_id)
        if audio is None:
            audio = self.project.take_audio(line_id, take_id)
            self._audio[take_id] = audio
            while len(self._audio) > AUDIO_CACHE_TAKES:
                self._audio.popitem(last=False)
        self._audio.move_to_end(take_id)
        return audio
