"""Issue 17, "the editor always tells the truth": shortcuts, the inspector, voices, clip checks, export choices,
and the small things a creator notices. The real window, offscreen, with the tiny engine."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from test_gui_app import make_window, new_project, questions  # noqa: F401 (fixtures)

# The README's shortcut table: (keys, modifiers, action attribute). Ctrl+Enter is the keypad's Enter.
CTRL, SHIFT, ALT = (Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier,
                    Qt.KeyboardModifier.AltModifier)
README_SHORTCUTS = [
    (Qt.Key.Key_N, CTRL, "act_new"),
    (Qt.Key.Key_O, CTRL, "act_open"),
    (Qt.Key.Key_S, CTRL, "act_save"),
    (Qt.Key.Key_S, CTRL | SHIFT, "act_save_as"),
    (Qt.Key.Key_Return, CTRL, "act_generate_line"),
    (Qt.Key.Key_Enter, CTRL | Qt.KeyboardModifier.KeypadModifier, "act_generate_line"),
    (Qt.Key.Key_Return, CTRL | SHIFT, "act_generate_all"),
    (Qt.Key.Key_Enter, CTRL | SHIFT | Qt.KeyboardModifier.KeypadModifier, "act_generate_all"),
    (Qt.Key.Key_Escape, Qt.KeyboardModifier.NoModifier, "act_stop"),
    (Qt.Key.Key_Space, CTRL | SHIFT, "act_play_line"),
    (Qt.Key.Key_Up, ALT, "act_prev_take"),
    (Qt.Key.Key_Down, ALT, "act_next_take"),
    (Qt.Key.Key_Z, CTRL, "act_undo"),
    (Qt.Key.Key_Z, CTRL | SHIFT, "act_redo"),
    (Qt.Key.Key_Y, CTRL, "act_redo"),
    (Qt.Key.Key_E, CTRL, "act_export"),
    (Qt.Key.Key_Comma, CTRL, "act_settings"),
    (Qt.Key.Key_Q, CTRL, "act_quit"),
]


def focus(qtbot, window, widget):
    window.activateWindow()
    widget.setFocus()
    qtbot.waitUntil(widget.hasFocus, timeout=2000)


def spy_on(action) -> list[bool]:
    """Replace what an action does by a record of it firing (the key mapping is what is under test)."""
    fired: list[bool] = []
    action.triggered.disconnect()
    action.triggered.connect(lambda *_: fired.append(True))
    action.setEnabled(True)
    return fired


@pytest.mark.parametrize("key, modifiers, name", README_SHORTCUTS,
                         ids=[f"{name}-{key.name}-{int(mods.value)}" for key, mods, name in README_SHORTCUTS])
def test_every_readme_shortcut_fires_its_action_from_the_script(qtbot, make_window, key, modifiers, name):
    window = make_window()
    new_project(window)
    fired = spy_on(getattr(window, name))
    focus(qtbot, window, window.editor)
    qtbot.keyClick(window.editor, key, modifiers)
    assert fired == [True], f"{name} did not fire"


def test_space_outside_the_script_plays_and_inside_types(qtbot, make_window):
    window = make_window()
    new_project(window)
    fired = spy_on(window.act_play)
    focus(qtbot, window, window.timeline.view)
    qtbot.keyClick(window.timeline.view, Qt.Key.Key_Space)
    assert fired == [True]
    focus(qtbot, window, window.editor)
    before = window.editor.toPlainText()
    qtbot.keyClick(window.editor, Qt.Key.Key_Space)
    assert fired == [True] and len(window.editor.toPlainText()) == len(before) + 1


def test_undo_and_both_redo_keys_work_on_script_edits(qtbot, make_window):
    window = make_window()
    new_project(window)
    for action in window.actions():  # no shortcut is bound twice (Qt then fires neither)
        keys = [s.toString() for s in action.shortcuts()]
        assert len(keys) == len(set(keys)), (action.text(), keys)
    focus(qtbot, window, window.editor)
    window.editor.moveCursor(window.editor.textCursor().MoveOperation.End)
    original = window.editor.toPlainText()
    qtbot.keyClicks(window.editor, " Ok")
    typed = window.editor.toPlainText()
    assert typed != original
    for redo in ((Qt.Key.Key_Z, CTRL | SHIFT), (Qt.Key.Key_Y, CTRL)):
        qtbot.keyClick(window.editor, Qt.Key.Key_Z, CTRL)
        qtbot.waitUntil(lambda: window.editor.toPlainText() == original, timeout=2000)
        qtbot.keyClick(window.editor, *redo)
        qtbot.waitUntil(lambda: window.editor.toPlainText() == typed, timeout=2000)
