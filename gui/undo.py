"""Undoable edits. One QUndoStack holds script edits, take choices, gaps, gains, seeds and speaker changes.

Script edits stay in QTextDocument's own undo history (it knows how to merge typing); each time the document
adds a step, a `TextEditCommand` is pushed that calls the document's undo/redo, keeping both histories in
one order."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QTextDocument, QUndoCommand

MERGE_GAP, MERGE_GAIN, MERGE_LINE_SAMPLING = 1, 2, 3


class TextEditCommand(QUndoCommand):
    """One step of the editor's text history. After undoing or redoing it, the project's lines are matched to
    the text at once (`synced`), so the commands before it find the lines they refer to."""

    def __init__(self, document: QTextDocument, synced=None):
        super().__init__("Edit script")
        self._document = document
        self._synced = synced
        self._done_once = False

    def redo(self) -> None:
        if self._done_once:  # the first redo is the edit itself, already applied by the editor
            self._document.redo()
            self._sync()
        self._done_once = True

    def undo(self) -> None:
        self._document.undo()
        self._sync()

    def _sync(self) -> None:
        if self._synced is not None:
            self._synced(self._document.toPlainText())


class ChooseTakeCommand(QUndoCommand):
    def __init__(self, session, line_id: str, take_id: str):
        super().__init__(f"Choose take {take_id}")
        line = session.project.line(line_id)
        self._session, self._line_id = session, line_id
        self._before = line.active_take  # only the take: the line's pinned seed is not the take's
        self._take_id = take_id

    def redo(self) -> None:
        self._choose(self._take_id)

    def undo(self) -> None:
        self._choose(self._before)

    def _choose(self, take_id: str | None) -> None:
        """A take deleted meanwhile (Keep only active) cannot come back: this step then does nothing."""
        project = self._session.project
        try:
            if take_id is not None and project.line(self._line_id).take(take_id) is not None:
                project.set_active_take(self._line_id, take_id)
        except KeyError:  # the line itself is gone from the project (forgotten by Keep only active)
            return
        self._session.line_changed(self._line_id, timeline=True)


class LineOptionCommand(QUndoCommand):
    """Gap, gain, pin or seed of one line. Consecutive changes of the same gap or gain merge (slider drags)."""

    def __init__(self, session, line_id: str, text: str, merge_id: int = -1, **options):
        super().__init__(text)
        line = session.project.line(line_id)
        self._session, self._line_id, self._merge_id = session, line_id, merge_id
        self._after = options
        self._before = {name: getattr(line, name) for name in options}

    def id(self) -> int:  # noqa: A003 (Qt API)
        return self._merge_id

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 (Qt API)
        if not isinstance(other, LineOptionCommand) or other._line_id != self._line_id:
            return False
        if other._after.keys() != self._after.keys():
            return False
        self._after = other._after
        return True

    def _apply(self, options: dict) -> None:
        try:
            self._session.project.set_line_options(self._line_id, **options)
        except KeyError:  # a line long cut from the script and forgotten: nothing left to change
            return
        timeline = bool({"gap_ms", "gain_db", "trim_silence"} & options.keys())
        self._session.line_changed(self._line_id, timeline=timeline)

    def redo(self) -> None:
        self._apply(self._after)

    def undo(self) -> None:
        self._apply(self._before)


class SpeakerCommand(QUndoCommand):
    """A change of a speaker's name, clip or transcript. Clips copied into `voices/` are never deleted, so
    undoing a clip change re-points the speaker at the file that is still there."""

    def __init__(self, session, speaker_id: str, text: str, **changes):
        super().__init__(text)
        self._session, self._speaker_id = session, speaker_id
        before = session.project.doc.speakers[speaker_id]
        self._before = {"name": before.name, "transcript": before.transcript,
                        "clip": session.project.folder / before.clip if before.clip else None}
        self._after = {**self._before, **changes}
        self._first = True

    def redo(self) -> None:
        if self._first:  # the first application happens in `SpeakerCommand.apply_first`, which may raise
            self._first = False
            return
        self._apply(self._after)

    def undo(self) -> None:
        self._apply(self._before)

    def apply_first(self) -> None:
        """Apply the change; raises the project's error (and changes nothing) when the clip is unusable."""
        self._apply(self._after)

    def _apply(self, values: dict) -> None:
        clip = values["clip"]
        self._session.project.set_speaker(self._speaker_id, name=values["name"], transcript=values["transcript"],
                                          clip=Path(clip) if clip else None)
        self._session.speakers_changed()


class SamplingCommand(QUndoCommand):
    """The project's sampling parameters (part of every line's fingerprint)."""

    def __init__(self, session, sampling):
        super().__init__("Change sampling")
        self._session = session
        self._before = session.project.doc.sampling
        self._after = sampling

    def redo(self) -> None:
        self._apply(self._after)

    def undo(self) -> None:
        self._apply(self._before)

    def _apply(self, sampling) -> None:
        self._session.project.doc.sampling = sampling
        self._session.sampling_changed()


class LineSamplingCommand(QUndoCommand):
    """A line's own sampling parameters (None: the project's). Consecutive edits of one line's values merge."""

    def __init__(self, session, line_id: str, sampling, text: str, merge_id: int = -1):
        super().__init__(text)
        self._session, self._line_id, self._merge_id = session, line_id, merge_id
        self._before = session.project.line(line_id).sampling
        self._after = sampling

    def id(self) -> int:  # noqa: A003 (Qt API)
        return self._merge_id

    def mergeWith(self, other: QUndoCommand) -> bool:  # noqa: N802 (Qt API)
        if not isinstance(other, LineSamplingCommand) or other._line_id != self._line_id:
            return False
        self._after = other._after
        return True

    def redo(self) -> None:
        self._apply(self._after)

    def undo(self) -> None:
        self._apply(self._before)

    def _apply(self, sampling) -> None:
        self._session.project.set_line_sampling(self._line_id, sampling)
        self._session.line_changed(self._line_id)  # the sampling is in the line's fingerprint: it may turn stale
