"""The open project as the GUI sees it: the `projects.Project`, its undo history, unsaved-change tracking and
the signals views listen to. Views never change the project behind the session's back.

The project folder is the document: takes are written into it as they arrive (and `add_take` saves
`project.json`), and edits are autosaved on a timer. "Untitled" projects live in a scratch folder until
"Save As" copies them to a place the user picks.

Every change is written within about a second, off the UI thread (`projects.autosave`): text typed in the
editor is matched to lines at the latest a second after it was typed, and the document saved right after,
so a crash loses at most the last second or so of edits."""

from __future__ import annotations

import shutil
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QStandardPaths, QTimer, Signal
from PySide6.QtGui import QTextDocument, QUndoStack

from gui.undo import (MERGE_GAIN, MERGE_GAP, MERGE_LINE_SAMPLING, ChooseTakeCommand, LineOptionCommand,
                      LineSamplingCommand, SamplingCommand, SpeakerCommand, TextEditCommand)
from dia_engine import ModelInfo, SamplingParams
from projects.autosave import BackgroundSaver
from projects.model import Sampling
from projects.project import Project
from projects.takes import LineStatus

AUDIO_CACHE_TAKES = 64
TEXT_SAVE_LATENCY_MS = 700  # typed text reaches the project (and then the disk) at most this long after typing


PROJECT_PARTS = ("project.json", "project.json.corrupt", "takes", "voices", "backups")


def discard_scratch_folder(folder: Path) -> None:
    """Delete an untitled project the user chose not to keep: only what the app made there. Anything else (an
    episode exported into it) stays, and so does the folder then: the app never deletes what a user exported."""
    folder = Path(folder)
    for name in PROJECT_PARTS:
        path = folder / name
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    for temp in folder.glob(".*.tmp"):
        temp.unlink(missing_ok=True)
    try:
        folder.rmdir()  # only when empty
    except OSError:
        pass


def default_export_folder(project: Project, untitled: bool) -> Path:
    """Where Export proposes to write: the folder this project last exported to, else for a saved project its
    `export/` folder, else (untitled: its folder is hidden scratch space) the user's Music or Documents."""
    last = project.doc.export.last_folder
    if last and Path(last).is_dir():
        return Path(last)
    if not untitled:
        return project.folder / "export"
    for location in (QStandardPaths.StandardLocation.MusicLocation,
                     QStandardPaths.StandardLocation.DocumentsLocation):
        path = QStandardPaths.writableLocation(location)
        if path and Path(path).is_dir():
            return Path(path)
    return Path.home()


class ProjectSession(QObject):
    linesChanged = Signal()  # the script was re-parsed: lines, their ids or order may have changed
    lineChanged = Signal(str)  # takes, seed or options of one line changed
    timelineChanged = Signal()  # active takes, gaps or gains changed: the mix must be rebuilt
    speakersChanged = Signal()
    dirtyChanged = Signal(bool)
    saved = Signal()
    saveFailed = Signal(str)  # a background save failed (full disk, read-only folder): nothing was lost in memory
    _backgroundSaved = Signal(int)  # from the saver's thread: changes up to this number are on disk

    def __init__(self, project: Project, untitled: bool = False, parent: QObject | None = None):
        super().__init__(parent)
        self.project = project
        self.untitled = untitled
        self.undo_stack = QUndoStack(self)
        self._dirty = False
        self._changes = 0
        self._audio: OrderedDict[str, np.ndarray] = OrderedDict()
        self._document: QTextDocument | None = None
        self._text_timer = QTimer(self)
        self._text_timer.setSingleShot(True)
        self._text_timer.setInterval(TEXT_SAVE_LATENCY_MS)
        self._text_timer.timeout.connect(self.sync_text)
        self._backgroundSaved.connect(self._on_background_saved)
        self._saver = BackgroundSaver(project.save, on_saved=self._backgroundSaved.emit,
                                      on_error=self.saveFailed.emit)
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
        """A change was made: it is written in the background within about a second."""
        self._changes += 1
        self._saver.request_as(self._changes)
        if not self._dirty:
            self._dirty = True
            self.dirtyChanged.emit(True)

    def save(self) -> None:
        """Write the project now (an explicit Save: errors raise)."""
        self.sync_text()
        changes = self._changes
        self.project.save()
        self._on_background_saved(changes)
        self.saved.emit()

    def save_soon(self) -> None:
        """Write the project in the background (autosave); failures come as `saveFailed`."""
        self.sync_text()
        self._saver.request_as(self._changes)

    def flush_saves(self, timeout: float = 10.0) -> bool:
        """Wait for the background saves (before closing or copying the folder). True when all succeeded."""
        self.sync_text()
        return self._saver.flush(timeout)

    def close(self) -> None:
        self._text_timer.stop()
        self._saver.close()

    def _on_background_saved(self, changes: int) -> None:
        if changes >= self._changes and self._dirty:
            self._dirty = False
            self.dirtyChanged.emit(False)

    # ----- script -------------------------------------------------------------------------------------------------
    def attach_document(self, document: QTextDocument) -> None:
        """Route the editor's text undo steps into the shared undo stack, and keep the project's script at most
        TEXT_SAVE_LATENCY_MS behind the editor (the editor syncs sooner after a typing pause)."""
        self._document = document
        document.undoCommandAdded.connect(lambda: self.undo_stack.push(TextEditCommand(document, self.set_script)))
        document.contentsChanged.connect(self._text_changed)

    def _text_changed(self) -> None:
        if not self._text_timer.isActive():  # not restarted by each key: a latency bound, not a typing pause
            self._text_timer.start()

    def sync_text(self) -> None:
        """Match the project's lines to the editor's text now."""
        self._text_timer.stop()
        if self._document is not None:
            self.set_script(self._document.toPlainText())

    def undo(self) -> None:
        """Undo, after the text typed so far reached the project (a step must find the lines it changed)."""
        self.sync_text()
        self.undo_stack.undo()

    def redo(self) -> None:
        self.sync_text()
        self.undo_stack.redo()

    def keep_only_active(self, line_ids: list[str] | None = None) -> int:
        """Delete the other takes of these lines (of all lines: None) and their files; returns how many. The undo
        history stays: steps that chose a deleted take do nothing when undone."""
        removed = self.project.keep_only_active(line_ids)
        for line_id in line_ids or self.line_ids():
            self.lineChanged.emit(line_id)
        self._audio.clear()
        return removed

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
