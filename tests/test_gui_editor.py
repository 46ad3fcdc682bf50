"""The script editor: tag completion, highlighting of unknown tags and their tooltips, the line-state gutter."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QTextCharFormat

from gui.line_state import LineState, LineView
from gui.script_editor import ScriptEditor
from projects.tags import known_tags


@pytest.fixture
def editor(qtbot):
    ed = ScriptEditor(known_tags())
    qtbot.addWidget(ed)
    ed.resize(700, 400)
    ed.show()
    qtbot.waitExposed(ed)
    return ed


def underline_ranges(editor: ScriptEditor, block_number: int) -> list[tuple[int, int]]:
    block = editor.document().findBlockByNumber(block_number)
    return [(r.start, r.start + r.length) for r in block.layout().formats()
            if r.format.underlineStyle() == QTextCharFormat.UnderlineStyle.WaveUnderline]


def test_bracket_offers_speakers_and_tab_accepts(qtbot, editor):
    qtbot.keyClicks(editor, "[")
    assert editor.completer.popup().isVisible()
    assert editor.completer.currentCompletion() == "[S1]"
    assert editor.completer.completionCount() == 2
    editor.clear()
    qtbot.keyClicks(editor, "[s2")
    assert editor.completer.currentCompletion() == "[S2]"
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    assert editor.toPlainText() == "[S2] "
    assert not editor.completer.popup().isVisible()


def test_paren_offers_known_tags_and_enter_accepts(qtbot, editor):
    qtbot.keyClicks(editor, "[S1] Well (cl")
    assert editor.completer.popup().isVisible()
    assert editor.completer.currentCompletion() == "(clears throat)"
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert editor.toPlainText() == "[S1] Well (clears throat)"  # Enter accepted, no newline inserted
    assert editor.document().blockCount() == 1
    qtbot.keyClicks(editor, " that is it (")
    model_rows = editor.completer.completionModel().rowCount()
    assert model_rows == len(known_tags())  # "(" alone offers the whole shared list
    qtbot.keyClicks(editor, "lau")
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    assert editor.toPlainText().endswith("that is it (laughs)")


def test_completion_does_not_double_closing_paren(qtbot, editor):
    editor.setPlainText("[S1] so (si) then")
    cursor = editor.textCursor()
    cursor.setPosition(len("[S1] so (si"))
    editor.setTextCursor(cursor)
    assert editor.start_completion()
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    assert editor.toPlainText() == "[S1] so (sighs) then"


def test_escape_closes_popup_and_unmatched_prefix_hides_it(qtbot, editor):
    qtbot.keyClicks(editor, "[S1] (")
    assert editor.completer.popup().isVisible()
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    assert not editor.completer.popup().isVisible()
    qtbot.keyClicks(editor, "(zzz")
    assert not editor.completer.popup().isVisible()
    assert editor.toPlainText() == "[S1] ((zzz"


def test_unknown_tags_get_a_wavy_underline_and_a_tooltip(qtbot, editor):
    editor.setPlainText("[S1] Hi (laughs) and (dances) now.\n[S3] who? (sighs)")
    line0 = editor.toPlainText().split("\n")[0]
    start = line0.index("(dances)")
    assert underline_ranges(editor, 0) == [(start, start + len("(dances)"))]
    assert underline_ranges(editor, 1) == [(0, 4)]  # [S3]: Dia knows two speakers
    assert "Unknown non-verbal tag (dances)" in editor.tag_problem_at(0, start + 2)
    assert "laughs" in editor.tag_problem_at(0, start + 2)  # the tooltip lists the known tags
    assert editor.tag_problem_at(0, line0.index("(laughs)") + 1) == ""
    assert "Dia knows only [S1] and [S2]" in editor.tag_problem_at(1, 1)


def test_highlight_colours_speakers_differently(qtbot, editor):
    editor.setPlainText("[S1] a\n[S2] b")
    colors = []
    for i in range(2):
        first = editor.document().findBlockByNumber(i).layout().formats()[0]
        assert (first.start, first.length) == (0, 4)
        colors.append(first.format.foreground().color().name())
    assert colors[0] != colors[1]


def test_gutter_shows_state_and_tooltip(qtbot, editor):
    editor.setPlainText("[S1] first\n[S2] second")
    editor.set_line_views({
        0: LineView(LineState.DONE, speaker="S1", estimated_seconds=1.0, take_seconds=1.25),
        1: LineView(LineState.FAILED, speaker="S2", estimated_seconds=0.8, detail="out of memory"),
    })
    gutter = editor.gutter
    assert gutter.width() >= gutter.width_hint() - 1
    blocks = list(editor.visible_blocks())
    y1 = (blocks[1][1] + blocks[1][2]) // 2
    assert gutter.block_at(y1) == 1
    tip = editor.line_view(1).tooltip()
    assert "Failed" in tip and "out of memory" in tip and "Estimated length: 0.8 s" in tip
    assert "Active take: 1.25 s" in editor.line_view(0).tooltip()
    image = gutter.grab().toImage()  # painting must not raise, and must draw something
    assert image.pixelColor(QPoint(12, (blocks[0][1] + blocks[0][2]) // 2)) != image.pixelColor(QPoint(2, 2))
