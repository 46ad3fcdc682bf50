"""Issue 17, "the editor always tells the truth": shortcuts, the inspector, voices, clip checks, export choices,
and the small things a creator notices. The real window, offscreen, with the tiny engine."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor

from projects.takes import LineStatus
from test_gui_app import make_window, new_project, questions, write_clip  # noqa: F401 (fixtures)

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


# ----- 2. the inspector follows edits ---------------------------------------------------------------------------------
def test_the_inspector_follows_text_sampling_and_voice_edits(qtbot, make_window, tmp_path):
    window = make_window()
    new_project(window, "[S1] Hello there, friends.\n[S2] Hi.")
    window.editor.move_to_block(0)
    window.refresh_views()
    inspector = window.inspector
    assert inspector.text_label.text() == "[S1] Hello there, friends."
    assert "no voice clip" in inspector.issues_label.text()

    cursor = window.editor.textCursor()
    cursor.movePosition(cursor.MoveOperation.EndOfBlock)
    cursor.insertText(" Welcome.")
    window.sync_script()
    window.refresh_views()
    assert inspector.text_label.text() == "[S1] Hello there, friends. Welcome."

    window.session.set_sampling(**{**window.session.project.sampling().model_dump(), "temperature": 1.5})
    window.refresh_views()
    assert "T 1.5" in inspector.sampling_label.text()

    for speaker, name in (("S1", "host"), ("S2", "guest")):
        window.session.change_speaker(speaker, clip=write_clip(tmp_path / f"{name}.wav", 4.0),
                                      transcript=f"This is the {name} speaking.")
    window.refresh_views()
    assert "no voice clip" not in inspector.issues_label.text()
    assert inspector.title.text().startswith("L1 · Speaker 1 (S1)")


# ----- 3. a voice is never silently dropped ---------------------------------------------------------------------------
def test_a_clip_waiting_for_its_transcript_blocks_generation_with_the_reason(qtbot, make_window, tmp_path):
    window = make_window()
    new_project(window, "[S1] Hello there.\n[S2] Hi.")
    card = window.speakers_panel.cards["S1"]
    assert card.set_clip_file(write_clip(tmp_path / "host.wav", 4.0))
    assert card.pending_clip is not None
    window.refresh_views()

    assert window.generate(window.session.line_ids(), force=False) == []  # nothing queued, with a voice missing
    assert not window.controller.busy and window.controller.live == {}
    title, message = window.last_error
    assert "waits for its transcript" in message and "S1" in message
    views = window.editor._views
    assert all("waits for its transcript" in views[b].tooltip() for b in views)  # the gutter says why
    assert not window.inspector.generate_button.isEnabled()
    assert "waits for its transcript" in window.inspector.generate_button.toolTip()
    assert "waits for its transcript" in window.inspector.issues_label.text()

    card.remove_clip()  # the card now shows no clip: generating (with a random voice) is what it says
    window.refresh_views()
    assert window.generation_blocker() == "" and window.inspector.generate_button.isEnabled()
    assert "waits" not in window.editor._views[0].tooltip()


# ----- 4. clip checks come at once and show in full -------------------------------------------------------------------
def test_a_silent_clip_is_refused_when_chosen(qtbot, make_window, tmp_path):
    import numpy as np
    import soundfile as sf

    window = make_window()
    new_project(window, "[S1] Hello there.")
    card = window.speakers_panel.cards["S1"]
    errors: list[str] = []
    card.errorRaised.connect(errors.append)
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(12000, np.float32), 24000)  # 0.5 s of nothing, no transcript typed yet
    assert not card.set_clip_file(silent)
    assert card.pending_clip is None and errors and "silent" in errors[0]


def test_every_clip_warning_is_shown(qtbot, make_window, tmp_path):
    import numpy as np
    import soundfile as sf

    window = make_window()
    new_project(window, "[S1] Hello there.")
    assert window.speakers_panel.cards["S1"].set_clip_file(write_clip(tmp_path / "host.wav", 4.0))  # 1 warning
    card = window.speakers_panel.cards["S2"]
    clipped = tmp_path / "loud.wav"
    sf.write(clipped, np.clip(3 * np.sin(np.arange(24000) / 5.0), -1, 1).astype(np.float32), 24000)  # 1 s, clipping
    assert card.set_clip_file(clipped)
    qtbot.wait(50)
    label = card.warning_label
    warnings = label.text().splitlines()
    assert len(warnings) == 3 and "transcript" in warnings[0] and "clipping" in warnings[1] and "short" in warnings[2]
    assert label.toolTip() == label.text()
    assert label.height() >= label.heightForWidth(label.width())  # no warning cut off ...
    panel = window.speakers_panel
    below = panel.hint.mapTo(panel, panel.hint.rect().topLeft()).y()
    label_bottom = label.mapTo(panel, label.rect().bottomLeft()).y()
    card_bottom = card.mapTo(panel, card.rect().bottomLeft()).y()
    assert label_bottom <= card_bottom < below  # ... nor hidden under what follows the card ...
    column = window.speakers_dock.widget()  # ... and the cards' pane grows to show them (up to leaving the checks
    needed = panel.layout().totalHeightForWidth(column.scroll.viewport().width())  # some room; it scrolls beyond)
    qtbot.waitUntil(lambda: column.sizes()[0] >= min(needed, sum(column.sizes()) - column.MIN_CHECKS_HEIGHT),
                    timeout=2000)


# ----- 9. play buttons say why playback is off -----------------------------------------------------------------------
def test_play_buttons_are_off_with_the_reason_when_playback_is(qtbot, make_window, monkeypatch, tmp_path):
    import gui.playback

    reason = "Playback is off: no audio output device was found. Everything else works."
    monkeypatch.setattr(gui.playback, "_output_backend", lambda: (None, reason))
    window = make_window()
    new_project(window, "[S1] Hello there.")
    window.session.change_speaker("S1", clip=write_clip(tmp_path / "host.wav", 4.0), transcript="Hello, it is me.")
    window.session.project.add_take("L1", np.zeros(4410, np.float32), 44100, seed=1,
                                    sampling=window.session.project.sampling(), model_id="tiny",
                                    fingerprint=window.session.project.fingerprint("L1"))
    window.session.take_added("L1")
    window.refresh_views()
    window.inspector.table.selectAll()
    assert window.inspector.selected_take_ids() == ["L1-1"]
    for button in (window.inspector.play_button, window.inspector.compare_button,
                   window.speakers_panel.cards["S1"].play_button):
        assert not button.isEnabled() and button.toolTip() == reason
    for action in (window.act_play, window.act_play_line):
        assert not action.isEnabled() and action.toolTip() == reason


# ----- 8. export choices are remembered, presets say what they are, files get the user's permissions -----------------
def project_with_takes(window, tmp_path):
    new_project(window, "[S1] Hello there.\n[S2] Hi, how are you?")
    project = window.session.project
    t = np.arange(44100) / 44100
    for n, line_id in enumerate(window.session.line_ids()):
        audio = (0.3 * np.sin(2 * np.pi * (180 + 60 * n) * t)).astype(np.float32)
        project.add_take(line_id, audio, 44100, seed=n, sampling=project.sampling(), model_id="tiny",
                         fingerprint=project.fingerprint(line_id))
        window.session.take_added(line_id)
    return project


def test_export_remembers_choices_and_names_presets_and_uses_the_umask(qtbot, make_window, tmp_path, monkeypatch):
    import os
    import stat

    from gui.export_dialog import ExportDialog

    window = make_window()
    project = project_with_takes(window, tmp_path)
    seen: list[ExportDialog] = []

    def run_dialog(dialog, choose):
        seen.append(dialog)
        if choose:
            dialog.path_edit.setText(str(tmp_path / "out" / "episode.wav"))
            dialog.stems_box.setChecked(True)
            dialog.subtitles_box.setChecked(True)
            dialog.preset_combo.setCurrentIndex(dialog.preset_combo.findData("mono"))
            dialog.depth_combo.setCurrentIndex(dialog.depth_combo.findData("16"))
            dialog.start_export()
            qtbot.waitUntil(lambda: dialog.result is not None or bool(dialog.error), timeout=60_000)
        return 0

    monkeypatch.setattr(ExportDialog, "exec", lambda self: run_dialog(self, choose=not seen))
    window.export()
    first = seen[0]
    labels = [first.preset_combo.itemText(i) for i in range(first.preset_combo.count())]
    assert labels[:2] == ["Podcast −16 LUFS", "Mono −19 LUFS"] and not any("stereo" in label for label in labels)
    assert first.result is not None, first.error

    window.export()  # the next export starts from the last one's choices
    again = seen[1]
    assert again.stems_box.isChecked() and again.subtitles_box.isChecked()
    assert again.preset() == "mono" and again.lufs_spin.value() == -19.0 and again.depth_combo.currentData() == "16"
    assert window.session.dirty and project.doc.export.stems and window.settings.export().loudness_preset == "mono"

    mask = os.umask(0)
    os.umask(mask)
    expected = 0o666 & ~mask
    written = first.result.files + [project.folder / take.file for line in project.lines for take in line.takes]
    assert len(written) >= 7
    for path in written:
        assert stat.S_IMODE(path.stat().st_mode) == expected, path


# ----- 9. the smaller things ------------------------------------------------------------------------------------------
def test_an_empty_script_shows_its_placeholder_and_a_hint_not_an_error(qtbot, make_window):
    window = make_window()
    assert window.new_project()
    window.refresh_views()
    assert window.editor.toPlainText() == "" and window.editor.extraSelections() == []  # placeholder fully visible
    assert "error" not in window.checks.title.text()
    item = window.checks.list.item(0)
    assert item.toolTip().startswith("Hint") and "[S1]" in item.text()
    qtbot.keyClicks(window.editor, "[S1] Hi")
    assert len(window.editor.extraSelections()) == 1  # typing brings the current-line highlight back


def test_after_reopening_the_highlight_and_the_inspector_agree(qtbot, make_window, tmp_path):
    window = make_window()
    new_project(window, "[S1] One.\n[S2] Two.\n[S1] Three.")
    assert window.save_as(tmp_path / "first")
    window.editor.move_to_block(2)
    window.refresh_views()
    assert window.inspector.line_id == "L3"
    other = window.session.project
    assert window.new_project()
    window.editor.setPlainText("[S1] A.\n[S2] B.\n[S1] C.")
    window.sync_script()
    assert window.save_as(tmp_path / "second")
    assert window.open_project(other.folder)

    def agree() -> bool:
        (selection,) = window.editor.extraSelections()
        highlighted = QTextCursor(selection.cursor).blockNumber()
        return highlighted == window.editor.current_block_number() and \
            window.inspector.line_id == window.session.line_for_block(highlighted)

    assert agree()
    for block in (2, 0, 1):
        window.editor.move_to_block(block)
        window.refresh_views()
        assert agree() and window.inspector.line_id == f"L{block + 1}"


def test_a_model_that_cannot_load_does_not_say_generation_stopped(qtbot, make_window):
    def broken(_settings):
        raise OSError("model folder not found: /nowhere")

    window = make_window(engine_factory=broken)
    new_project(window, "[S1] Hello.")
    with qtbot.waitSignal(window.controller.finished, timeout=30_000):
        window.act_generate_all.trigger()
    message = window.statusBar().currentMessage()
    assert "could not be loaded" in message and "stopped" not in message
    assert window.last_error[0] == "The model could not be loaded"


def test_declining_recovery_of_an_unsaved_project_removes_its_scratch_folder(qtbot, make_window, questions):
    from PySide6.QtWidgets import QMessageBox

    crashed = make_window()
    new_project(crashed, "[S1] Written before the crash.")
    crashed.autosave()
    scratch = crashed.session.folder
    crashed.shutdown()  # no clean close: the "open" marker stays
    crashed.session = None
    assert (scratch / "project.json").is_file()

    questions.answer = QMessageBox.StandardButton.No
    window = make_window()
    assert not window.offer_recovery()
    assert "No deletes that unsaved project" in questions.asked[-1]
    assert not scratch.exists()


def test_a_refresh_keeps_both_selected_takes_ready_to_compare(qtbot, make_window, tmp_path):
    window = make_window()
    project = project_with_takes(window, tmp_path)
    project.add_take("L1", np.full(4410, 0.1, np.float32), 44100, seed=9, sampling=project.sampling(),
                     model_id="tiny", fingerprint=project.fingerprint("L1"))
    window.session.take_added("L1")
    window.editor.move_to_block(0)
    window.refresh_views()
    window.inspector.table.selectAll()
    window.session.set_sampling(**{**project.sampling().model_dump(), "temperature": 1.4})  # the inspector refreshes
    window.refresh_views()
    assert window.inspector.selected_take_ids() == ["L1-1", "L1-2"]


def test_choosing_a_clip_while_generating_stops_the_queue(qtbot, make_window, tmp_path):
    window = make_window()
    new_project(window, "\n".join(f"[S{1 + i % 2}] Line number {i + 1} of a longer episode." for i in range(8)),
                max_tokens=150)
    window.controller.worker.batch_size = 1
    window.act_generate_all.trigger()
    qtbot.waitUntil(lambda: any(s.progress > 0 for s in window.controller.live.values()), timeout=60_000)
    with qtbot.waitSignal(window.controller.finished, timeout=60_000) as finished:
        assert window.speakers_panel.cards["S2"].set_clip_file(write_clip(tmp_path / "guest.wav", 4.0))
    assert finished.args == [True]  # stopped: the lines still queued were not generated with another voice
    statuses = window.session.project.statuses()
    assert list(statuses.values()).count(LineStatus.DONE) < 8
