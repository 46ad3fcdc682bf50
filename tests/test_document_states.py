"""A stateful property test of the document (hypothesis RuleBasedStateMachine): random script edits (insert,
delete, duplicate, cut/paste, identical texts), takes, active-take choices, pins, undo/redo through the
editor's session, Keep only active, save and reopen. After every step: every take file under `takes/` has
exactly one record and every record's file exists; reopening gives the same document; undo then redo is the
identity."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from PySide6.QtGui import QTextCursor, QTextDocument

from gui.session import ProjectSession
from projects.project import Project

RATE = 44100
TEXTS = ["[S1] Hello.", "[S2] Yeah.", "[S2] Yeah.", "[S1] So what now?", "[S2] Right (laughs).", "[S1] Bye."]


def doc_state(project: Project) -> dict:
    """What must survive a save and reopen (the parsed cache and in-memory counters aside)."""
    return project.doc.model_dump(mode="json")


class DocumentMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="docstate-"))
        self.project = Project.create(self.folder / "p")
        self.session = ProjectSession(self.project)
        self.document = QTextDocument()
        self.session.attach_document(self.document)
        self.clipboard = ""
        self.value = 0.01

    def teardown(self):
        self.session.close()

    # ----- script edits, through the editor's document (so they are undoable) ------------------------------
    def _lines(self) -> list[str]:
        text = self.document.toPlainText()
        return text.split("\n") if text else []

    def _edit(self, lines: list[str]) -> None:
        cursor = QTextCursor(self.document)
        cursor.select(QTextCursor.SelectionType.Document)
        cursor.insertText("\n".join(lines))
        self.session.sync_text()

    @rule(index=st.integers(0, 20), text=st.sampled_from(TEXTS))
    def insert_line(self, index, text):
        lines = self._lines()
        lines.insert(index % (len(lines) + 1), text)
        self._edit(lines)

    @precondition(lambda self: self._lines())
    @rule(index=st.integers(0, 20))
    def delete_line(self, index):
        lines = self._lines()
        del lines[index % len(lines)]
        self._edit(lines)

    @precondition(lambda self: self._lines())
    @rule(index=st.integers(0, 20))
    def duplicate_line(self, index):
        lines = self._lines()
        i = index % len(lines)
        lines.insert(i, lines[i])
        self._edit(lines)

    @precondition(lambda self: self._lines())
    @rule(index=st.integers(0, 20))
    def cut_line(self, index):
        lines = self._lines()
        self.clipboard = lines.pop(index % len(lines))
        self._edit(lines)

    @precondition(lambda self: self.clipboard)
    @rule(index=st.integers(0, 20))
    def paste_line(self, index):
        lines = self._lines()
        lines.insert(index % (len(lines) + 1), self.clipboard)
        self._edit(lines)

    # ----- takes ----------------------------------------------------------------------------------------------
    @precondition(lambda self: self.project.lines)
    @rule(index=st.integers(0, 20))
    def add_take(self, index):
        line = self.project.lines[index % len(self.project.lines)]
        self.value += 0.001
        audio = np.full(RATE // 50, self.value, dtype=np.float32)
        self.project.add_take(line.id, audio, RATE, seed=index, sampling=self.project.doc.sampling,
                              model_id="test", fingerprint=self.project.fingerprint(line.id))
        self.session.take_added(line.id)

    @precondition(lambda self: any(len(line.takes) > 1 for line in self.project.lines))
    @rule(index=st.integers(0, 20), pick=st.integers(0, 20))
    def choose_take(self, index, pick):
        lines = [line for line in self.project.lines if len(line.takes) > 1]
        line = lines[index % len(lines)]
        self.session.choose_take(line.id, line.takes[pick % len(line.takes)].id)

    @precondition(lambda self: self.project.lines)
    @rule(index=st.integers(0, 20), pinned=st.booleans())
    def pin(self, index, pinned):
        self.session.set_pinned(self.project.lines[index % len(self.project.lines)].id, pinned)

    @rule(everything=st.booleans(), index=st.integers(0, 20))
    def keep_only_active(self, everything, index):
        ids = None if everything or not self.project.lines else [self.project.lines[index % len(self.project.lines)].id]
        self.session.keep_only_active(ids)

    # ----- history and persistence ----------------------------------------------------------------------------
    @precondition(lambda self: self.session.undo_stack.canUndo())
    @rule()
    def undo_then_redo_is_identity(self):
        before = doc_state(self.project), self.document.toPlainText()
        self.session.undo()
        self.session.redo()
        assert (doc_state(self.project), self.document.toPlainText()) == before

    @precondition(lambda self: self.session.undo_stack.canUndo())
    @rule()
    def undo(self):
        self.session.undo()

    @precondition(lambda self: self.session.undo_stack.canRedo())
    @rule()
    def redo(self):
        self.session.redo()

    @rule()
    def save_and_reopen(self):
        self.session.save()
        reopened = Project.open(self.project.folder)
        assert doc_state(reopened) == doc_state(self.project)

    # ----- invariants -----------------------------------------------------------------------------------------
    @invariant()
    def every_take_file_has_exactly_one_record_and_every_record_its_file(self):
        records = [t.file for line in self.project.doc.lines + self.project.doc.removed_lines for t in line.takes]
        assert len(records) == len(set(records)), "a take file has two records"
        files = {f"takes/{p.name}" for p in (self.project.folder / "takes").glob("*.wav")}
        assert set(records) == files

    @invariant()
    def the_project_follows_the_editor(self):
        assert self.project.doc.script == self.document.toPlainText()


DocumentMachine.TestCase.settings = settings(max_examples=25, stateful_step_count=30, deadline=None, derandomize=True,
                                             suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(autouse=True)
def _app(qapp):
    return qapp


TestDocumentStates = DocumentMachine.TestCase
