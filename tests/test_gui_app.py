"""The editor end to end, offscreen, with the real tiny engine behind the real generation worker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QElapsedTimer, QSettings, QTimer
from PySide6.QtWidgets import QMessageBox

from gui.line_state import LineState
from gui.main_window import MainWindow
from gui.settings import AppSettings
from projects.takes import LineStatus

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ("[S1] Welcome back to the show. (laughs)\n"
          "[S2] Thanks for having me, it is good to be here.\n"
          "\n"
          "[S1] So, tell us about the new model.\n"
          "[S2] (clears throat) It speaks two voices at once.")
MAX_TOKENS = 80  # decoder steps per line: enough for real batched generation, small enough to be quick


class Questions:
    """Stands in for the user at QMessageBox.question: records each question, gives the scripted answer."""

    def __init__(self):
        self.asked: list[str] = []
        self.answer = QMessageBox.StandardButton.Discard

    def __call__(self, parent, title, text, *args, **kwargs):
        self.asked.append(f"{title}: {text}")
        return self.answer


@pytest.fixture
def questions(monkeypatch):
    q = Questions()
    monkeypatch.setattr(QMessageBox, "question", q)
    return q


@pytest.fixture
def make_window(qtbot, tmp_path, tiny_engine, questions):
    windows: list[MainWindow] = []

    def make(engine_factory=lambda _settings: tiny_engine, settings_file: Path | None = None) -> MainWindow:
        q = QSettings(str(settings_file or tmp_path / "settings.ini"), QSettings.Format.IniFormat)
        if q.value("engine/model") is None:  # the editor's model is the tiny one the factory gives
            q.setValue("engine/model", str(ROOT / "tests/data/dia-tiny"))
        window = MainWindow(AppSettings(q), scratch_root=tmp_path / "scratch", engine_factory=engine_factory)
        window.resize(1280, 800)
        window.show()
        qtbot.waitExposed(window)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.shutdown()
        window.deleteLater()


def new_project(window: MainWindow, script: str = SCRIPT, max_tokens: int = MAX_TOKENS) -> None:
    assert window.new_project()
    window.editor.setPlainText(script)
    window.sync_script()
    window.session.set_sampling(**{**window.session.project.sampling().model_dump(), "max_tokens": max_tokens})


def wait_generation(qtbot, window: MainWindow, start, timeout_ms: int = 120_000) -> bool:
    with qtbot.waitSignal(window.controller.finished, timeout=timeout_ms) as blocker:
        start()
    return blocker.args[0]


class StallMeter:
    """The longest gap between ticks of a 5 ms timer: how long the GUI event loop was blocked."""

    def __init__(self):
        self.clock = QElapsedTimer()
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(self._tick)
        self.last = 0
        self.longest = 0
        self.ticks = 0

    def _tick(self):
        now = self.clock.elapsed()
        self.longest = max(self.longest, now - self.last)
        self.last = now
        self.ticks += 1

    def __enter__(self):
        self.clock.start()
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.stop()


def gutter_states(window: MainWindow) -> list[LineState]:
    window.refresh_views()
    views = window.editor._views
    return [views[b].state for b in sorted(views)]


# ---------------------------------------------------------------------------------------------------------------------
def test_generate_all_through_worker_keeps_ui_responsive(qtbot, make_window):
    window = make_window()
    more = "\n".join(f"[S{1 + i % 2}] And this is line {i + 5}, to keep the engine busy a while." for i in range(4))
    new_project(window, SCRIPT + "\n" + more, max_tokens=150)  # two batches of four: long enough to measure
    assert gutter_states(window) == [LineState.MISSING] * 8
    progress: dict[str, list[float]] = {}
    window.controller.worker.lineProgress.connect(lambda i, f: progress.setdefault(i, []).append(f))
    queue = []
    window.controller.queueProgress.connect(lambda f, eta, done, total: queue.append((f, done, total)))
    clock = QElapsedTimer()
    clock.start()
    with StallMeter() as meter:
        stopped = wait_generation(qtbot, window, window.act_generate_all.trigger)
    wall_ms = clock.elapsed()
    assert not stopped
    project = window.session.project
    assert set(project.statuses().values()) == {LineStatus.DONE}
    assert gutter_states(window) == [LineState.DONE] * 8
    for line in project.lines:
        take = line.take(line.active_take)
        assert (project.folder / take.file).is_file() and take.duration > 0
        assert take.sampling.max_tokens == 150
    assert set(progress) == {line.id for line in project.lines}  # per-line progress reached the GUI
    assert queue[-1] == (1.0, 8, 8)
    print(f"\nlongest event-loop stall while generating 8 lines for {wall_ms} ms: {meter.longest} ms "
          f"({meter.ticks} ticks of a 5 ms timer)")
    # Generating on the GUI thread would stall the loop for about the whole run; the worker keeps it ticking.
    assert meter.ticks > 20
    assert meter.longest < 400, f"the GUI froze for {meter.longest} ms"
    assert meter.longest < wall_ms / 3, f"the GUI froze for {meter.longest} of {wall_ms} ms"
    qtbot.waitUntil(lambda: window.snapshot is not None and len(window.snapshot.clips) == 8, timeout=10_000)
    assert window.snapshot.loudness_lufs is not None
    assert "LUFS" in window.timeline.loudness_label.text() and "—" not in window.timeline.loudness_label.text()
    assert not window.queue_bar.isVisible()
    assert "Model: dia-tiny · cpu · float32" in window.engine_label.text()


def take_audio(window: MainWindow, line_id: str, take_id: str) -> np.ndarray:
    return window.session.project.take_audio(line_id, take_id)


def test_pinned_regeneration_reproduces_audio_and_unpinned_does_not(qtbot, make_window):
    window = make_window()
    new_project(window, "[S1] A pinned line.\n[S2] A free line.")
    wait_generation(qtbot, window, window.act_generate_all.trigger)
    project = window.session.project
    first = {line.id: line.active_take for line in project.lines}
    window.editor.move_to_block(0)
    qtbot.waitUntil(lambda: window.inspector.line_id == "L1")
    window.inspector.pin_button.click()  # pin L1's seed from the inspector
    assert project.line("L1").pinned
    for block in (0, 1):
        window.editor.move_to_block(block)
        wait_generation(qtbot, window, window.act_generate_line.trigger)  # Ctrl+Enter: a new take each
    l1, l2 = project.line("L1"), project.line("L2")
    assert len(l1.takes) == 2 and len(l2.takes) == 2
    assert l1.takes[1].seed == l1.takes[0].seed
    assert np.array_equal(take_audio(window, "L1", l1.takes[0].id), take_audio(window, "L1", l1.takes[1].id))
    assert l2.takes[1].seed != l2.takes[0].seed
    a, b = take_audio(window, "L2", first["L2"]), take_audio(window, "L2", l2.active_take)
    assert len(a) != len(b) or not np.array_equal(a, b)
    assert window.inspector.table.rowCount() == 2  # the inspector follows the current line (L2)


def test_stop_cancels_between_steps_and_keeps_finished_takes(qtbot, make_window):
    window = make_window()
    window.controller.worker.batch_size = 1  # one line per engine call, so lines finish one after another
    new_project(window, "\n".join(f"[S{1 + i % 2}] Line number {i} of a long queue." for i in range(8)),
                max_tokens=120)
    taken = []
    window.controller.takeArrived.connect(lambda line_id, _take: taken.append(line_id))

    def start_then_stop():
        window.act_generate_all.trigger()
        qtbot.waitUntil(lambda: len(taken) >= 1, timeout=60_000)
        assert window.act_stop.isEnabled()
        window.act_stop.trigger()  # Esc

    stopped = wait_generation(qtbot, window, start_then_stop)
    assert stopped
    statuses = window.session.project.statuses()
    done = [i for i, s in statuses.items() if s is LineStatus.DONE]
    assert set(taken) == set(done) and 1 <= len(done) < 8  # finished takes stay, the rest was dropped
    assert window.controller.live == {}  # nothing left "queued" or "generating"
    assert not window.act_stop.isEnabled() and not window.queue_bar.isVisible()
    assert gutter_states(window).count(LineState.MISSING) == 8 - len(done)
    # The queue can run again after a stop and picks up where it left off.
    window.controller.worker.batch_size = 8
    assert not wait_generation(qtbot, window, window.act_generate_all.trigger)
    assert set(window.session.project.statuses().values()) == {LineStatus.DONE}


def test_editing_a_line_while_it_generates_marks_the_new_take_stale(qtbot, make_window):
    window = make_window()
    new_project(window, "[S1] Keep this line as it is.\n[S2] This line will be edited.", max_tokens=200)
    started = []
    window.controller.worker.linesStarted.connect(lambda ids: started.extend(ids))

    def start_then_edit():
        window.act_generate_all.trigger()
        qtbot.waitUntil(lambda: "L2" in started, timeout=30_000)
        cursor = window.editor.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        window.editor.setTextCursor(cursor)
        qtbot.keyClicks(window.editor, " Now longer")

    wait_generation(qtbot, window, start_then_edit)
    window.sync_script()
    project = window.session.project
    assert window.editor.toPlainText().endswith("edited. Now longer")  # the edit is kept
    assert project.line("L2").text.endswith("Now longer") and project.line("L2").takes
    assert project.status("L2") is LineStatus.STALE
    assert project.status("L1") is LineStatus.DONE
    assert gutter_states(window) == [LineState.DONE, LineState.STALE]


class FailingOn:
    """Fault injection around the real engine: a request whose text contains `marker` runs out of memory."""

    def __init__(self, engine, marker: str):
        self.engine, self.marker = engine, marker

    def __getattr__(self, name):
        return getattr(self.engine, name)

    def generate(self, requests, **kwargs):
        from dia_engine import GenerationOutOfMemory

        if any(self.marker in r.text for r in requests):
            raise GenerationOutOfMemory("out of cpu memory even for one line at a time")
        return self.engine.generate(requests, **kwargs)


def test_a_failing_line_shows_its_error_and_the_queue_goes_on(qtbot, make_window, tiny_engine):
    window = make_window(engine_factory=lambda _s: FailingOn(tiny_engine, "EXPLODE"))
    new_project(window, "[S1] First line.\n[S2] This one will EXPLODE.\n[S1] Third line.")
    failures = []
    window.controller.lineFailed.connect(lambda line_id, msg: failures.append((line_id, msg)))
    assert not wait_generation(qtbot, window, window.act_generate_all.trigger)
    assert failures == [("L2", "out of cpu memory even for one line at a time")]
    statuses = window.session.project.statuses()
    assert statuses["L1"] is LineStatus.DONE and statuses["L3"] is LineStatus.DONE
    assert gutter_states(window) == [LineState.DONE, LineState.FAILED, LineState.DONE]
    tooltip = window.editor.line_view(1).tooltip()
    assert tooltip.startswith("Failed") and "out of cpu memory" in tooltip
    assert "1 line(s) failed" in window.statusBar().currentMessage()


def test_undo_redo_spans_script_takes_gaps_gains_and_speakers(qtbot, make_window):
    from PySide6.QtCore import Qt

    window = make_window()
    new_project(window, "[S1] One.\n[S2] Two.")
    session = window.session
    project = session.project
    wait_generation(qtbot, window, window.act_generate_all.trigger)
    window.editor.move_to_block(0)
    wait_generation(qtbot, window, window.act_generate_line.trigger)  # L1 now has two takes
    session.undo_stack.clear()
    l1 = project.line("L1")
    first, second = l1.takes[0].id, l1.takes[1].id
    assert l1.active_take == second

    window.editor.setFocus()
    cursor = window.editor.textCursor()
    cursor.movePosition(cursor.MoveOperation.EndOfBlock)
    window.editor.setTextCursor(cursor)
    qtbot.keyClicks(window.editor, " More")  # script edit
    window.act_prev_take.trigger()  # Alt+Up: take choice
    assert project.line("L1").active_take == first
    window.timeline.gapChanged.emit("L2", 750.0)  # gap (as the timeline spin box / drag does)
    window.timeline.gainChanged.emit("L2", -3.0)  # gain
    session.change_speaker("S2", name="Guest")  # speaker
    assert (project.line("L2").gap_ms, project.line("L2").gain_db) == (750.0, -3.0)

    for _ in range(5):
        window.act_undo.trigger()
    window.sync_script()
    assert window.editor.toPlainText() == "[S1] One.\n[S2] Two."
    assert project.line("L1").active_take == second
    assert (project.line("L2").gap_ms, project.line("L2").gain_db) == (None, 0.0)
    assert project.doc.speakers["S2"].name == "Speaker 2"
    assert not window.act_undo.isEnabled()

    for _ in range(5):
        window.act_redo.trigger()
    window.sync_script()
    assert window.editor.toPlainText() == "[S1] One. More\n[S2] Two."
    assert project.line("L1").active_take == first
    assert (project.line("L2").gap_ms, project.line("L2").gain_db) == (750.0, -3.0)
    assert project.doc.speakers["S2"].name == "Guest"
    assert window.speakers_panel.cards["S2"].name_edit.text() == "Guest"
    # Ctrl+Z typed in the editor goes through the same stack (not the editor's private history).
    window.editor.setFocus()
    qtbot.keyClick(window.editor, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert project.doc.speakers["S2"].name == "Speaker 2"


def write_clip(path: Path, seconds: float, amplitude: float = 0.3, rate: int = 24000) -> Path:
    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, (amplitude * np.sin(2 * np.pi * 180 * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t))).astype(np.float32),
             rate)
    return path


def test_assigning_a_voice_by_drop_needs_a_transcript_and_is_used(qtbot, make_window, tmp_path):
    from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
    from PySide6.QtGui import QDropEvent

    window = make_window()
    new_project(window, "[S1] Hello there.\n[S2] Hi.")
    wait_generation(qtbot, window, window.act_generate_all.trigger)
    card = window.speakers_panel.cards["S1"]
    clip = write_clip(tmp_path / "host.wav", 4.0)

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(clip))])
    drop = QDropEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    card.dropEvent(drop)
    # Without a transcript the clip waits: the speaker is unchanged, the card asks for the words.
    assert card.pending_clip == clip
    assert window.session.project.doc.speakers["S1"].clip is None
    assert "transcript" in card.warning_label.text()
    assert abs(card.waveform.duration - 4.0) < 0.01 and card.duration_label.text() == "4.0 s"

    card.transcript_edit.setFocus()
    qtbot.keyClicks(card.transcript_edit, "Hello and welcome to the show.")
    qtbot.keyClick(card.transcript_edit, Qt.Key.Key_Return)  # editingFinished applies clip + transcript
    speaker = window.session.project.doc.speakers["S1"]
    assert speaker.clip and (window.session.folder / speaker.clip).is_file()
    assert speaker.transcript == "Hello and welcome to the show."
    assert card.pending_clip is None and card.warning_label.isHidden()
    # The voice is in every line's fingerprint: the existing takes are now stale, and regenerate with it.
    assert set(window.session.project.statuses().values()) == {LineStatus.STALE}
    assert gutter_states(window) == [LineState.STALE, LineState.STALE]
    # max_tokens counts the voice prompt too (4 s = 345 frames), so make room for 40 new frames.
    window.session.set_sampling(**{**window.session.project.sampling().model_dump(), "max_tokens": 345 + 40})
    assert not wait_generation(qtbot, window, window.act_generate_all.trigger)
    assert set(window.session.project.statuses().values()) == {LineStatus.DONE}

    short = write_clip(tmp_path / "short.wav", 1.5)
    card.set_clip_file(short)
    assert "short" in card.warning_label.text()
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(48000, np.float32), 24000)
    errors = []
    card.errorRaised.connect(errors.append)
    assert window.session.project.doc.speakers["S1"].clip_sha256  # the short clip was applied
    card.set_clip_file(silent)
    assert errors and "silent" in errors[0]  # refused with the reason; the previous clip stays
    assert window.session.project.doc.speakers["S1"].clip.endswith(".wav")


def test_save_as_reopen_and_recover_after_a_crash(qtbot, make_window, tmp_path, questions):
    from PySide6.QtCore import Qt

    settings_file = tmp_path / "settings.ini"
    window = make_window(settings_file=settings_file)
    new_project(window, "[S1] Saved line.\n[S2] Another.")
    wait_generation(qtbot, window, window.act_generate_all.trigger)
    scratch = window.session.folder
    target = tmp_path / "My Episode"
    assert window.save_as(target)
    assert not scratch.exists() and window.session.folder == target and not window.session.untitled
    assert "My Episode" in window.windowTitle()

    # Reopen in a fresh window: the script and the takes are there.
    window.close()
    reopened = make_window(settings_file=settings_file)
    assert reopened.open_project(target)
    assert reopened.editor.toPlainText() == "[S1] Saved line.\n[S2] Another."
    assert set(reopened.session.project.statuses().values()) == {LineStatus.DONE}
    assert str(target.resolve()) in reopened.settings.recent_projects()

    # Type, let the autosave timer fire, then "crash" (the window never closes cleanly).
    reopened.settings.q.setValue("autosave_seconds", 1)
    reopened._autosave_timer.start(1000)
    reopened.editor.moveCursor(reopened.editor.textCursor().MoveOperation.End)
    qtbot.keyClick(reopened.editor, Qt.Key.Key_Return)
    qtbot.keyClicks(reopened.editor, "[S1] Typed just before the crash.")
    qtbot.waitUntil(lambda: "crash" in (target / "project.json").read_text(), timeout=5000)
    reopened.shutdown()  # threads end, but no clean close: the "open" marker stays

    questions.answer = QMessageBox.StandardButton.Yes
    recovered = make_window(settings_file=settings_file)
    assert recovered.offer_recovery()
    assert "did not close properly" in questions.asked[-1]
    assert recovered.editor.toPlainText().endswith("[S1] Typed just before the crash.")
    assert recovered.session.folder == target
    recovered.close()
    again = make_window(settings_file=settings_file)
    assert not again.offer_recovery()  # a clean exit leaves nothing to recover


def test_export_dialog_writes_mix_stems_subtitles(qtbot, make_window, tmp_path):
    from gui.export_dialog import ExportDialog
    from gui.settings import ExportDefaults

    window = make_window()
    new_project(window, "[S1] First line of the episode.\n[S2] Second line.\n[S1] Third.", max_tokens=120)
    wait_generation(qtbot, window, window.act_generate_all.trigger)
    dialog = ExportDialog(window.session.project, ExportDefaults("podcast", "flac"), window)
    qtbot.addWidget(dialog)
    assert dialog.format_combo.currentText() == "flac" and dialog.lufs_spin.value() == -16.0
    dialog.preset_combo.setCurrentIndex(dialog.preset_combo.findData("broadcast"))
    assert dialog.lufs_spin.value() == -23.0
    dialog.path_edit.setText(str(tmp_path / "out" / "episode.flac"))
    dialog.stems_box.setChecked(True)
    dialog.subtitles_box.setChecked(True)
    with qtbot.waitSignal(dialog.exported, timeout=60_000) as blocker:
        dialog.export_button.click()
        assert dialog.progress.maximum() == 0  # busy while the export runs on its thread
    result = blocker.args[0]
    names = sorted(p.name for p in result.files)
    assert names == ["episode.S1.flac", "episode.S2.flac", "episode.flac", "episode.json", "episode.srt",
                     "episode.vtt"]
    info = sf.info(result.mix)
    assert info.format == "FLAC" and info.samplerate == 44100
    assert result.loudness_lufs is None or abs(result.loudness_lufs + 23.0) < 0.6 or result.warnings
    assert "Exported" in dialog.status.text() and dialog.progress.value() == 1
    dialog.close()


def test_export_refuses_lines_without_takes(qtbot, make_window):
    window = make_window()
    new_project(window, "[S1] Not generated.")
    window.act_export.trigger()
    assert window.last_error and "no take yet" in window.last_error[1]


def test_engine_loads_from_settings_and_a_bad_model_is_reported(qtbot, make_window, tmp_path):
    from gui.main_window import load_engine

    window = make_window(engine_factory=load_engine)
    settings = window.settings.engine()
    settings.model, settings.device, settings.dtype = str(tmp_path / "missing-model"), "cpu", "float32"
    window.settings.set_engine(settings)
    new_project(window, "[S1] Hello.")
    failed = []
    window.controller.engineFailed.connect(failed.append)
    assert wait_generation(qtbot, window, window.act_generate_all.trigger)  # ends as "stopped": nothing ran
    assert failed and "missing-model" in failed[0]
    assert window.last_error[0] == "The model could not be loaded"
    assert gutter_states(window) == [LineState.MISSING]

    settings.model, settings.codec = str(ROOT / "tests/data/dia-tiny"), str(ROOT / "tests/data/dac-tiny/weights.pth")
    window.settings.set_engine(settings)
    window.controller.forget_engine()
    loading = []
    window.controller.engineLoading.connect(lambda: loading.append(window._load_dialog))
    assert not wait_generation(qtbot, window, window.act_generate_all.trigger)
    assert loading and loading[0] is not None  # the progress dialog (with Cancel) was up while loading
    assert window._load_dialog is None
    assert window.engine_label.text() == "Model: dia-tiny · cpu · float32"
    assert gutter_states(window) == [LineState.DONE]


def test_crash_reporter_logs_and_reports(qtbot, tmp_path):
    from gui.crash import CrashReporter

    reporter = CrashReporter(log_file=tmp_path / "crash.log", show_dialog=False)
    reporter.install()
    try:
        with qtbot.waitSignal(reporter.reported) as blocker:
            try:
                raise ZeroDivisionError("boom in a slot")
            except ZeroDivisionError:
                sys.excepthook(*sys.exc_info())
    finally:
        reporter.uninstall()
    assert blocker.args[0] == "ZeroDivisionError: boom in a slot"
    assert "ZeroDivisionError: boom in a slot" in (tmp_path / "crash.log").read_text()


def test_main_starts_cleanly_offscreen(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "c"),
           "XDG_DATA_HOME": str(tmp_path / "d")}
    run = subprocess.run([sys.executable, str(ROOT / "main.py"), "--quit-after-show"], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr and "Error" not in run.stderr
    conf = tmp_path / "c" / "dia-studio" / "settings.ini"  # platformdirs: the one config folder
    assert "clean=true" in conf.read_text()  # a clean exit was recorded


def test_timeline_drag_sets_gap_checks_jump_and_seed_typing_pins(qtbot, make_window):
    from PySide6.QtCore import QPoint, Qt

    window = make_window()
    new_project(window, "[S1] One (dances).\n[S2] Two.\n[S1] Three.")
    wait_generation(qtbot, window, window.act_generate_all.trigger)
    qtbot.waitUntil(lambda: window.snapshot is not None and len(window.snapshot.clips) == 3, timeout=10_000)
    view = window.timeline.view
    clip = window.snapshot.clip_for("L2")
    y = view.height() // 2
    start = QPoint(int(view.x_of(clip.start + clip.duration / 2)), y)
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=start)
    assert window.editor.current_block_number() == 1  # selecting a clip moves the script cursor to its line
    qtbot.mouseMove(view, start + QPoint(int(view.pixels_per_second * 0.5), 0))  # half a second later
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=start + QPoint(int(view.pixels_per_second * 0.5), 0))
    gap = window.session.project.line("L2").gap_ms
    assert gap is not None and abs(gap - (clip.gap_ms + 500)) < 1000 / view.pixels_per_second + 1
    qtbot.waitUntil(lambda: abs(window.snapshot.clip_for("L2").gap_ms - gap) < 1e-6, timeout=10_000)
    window.act_undo.trigger()
    assert window.session.project.line("L2").gap_ms is None

    item = window.checks.list.item(0)
    assert "(dances)" in item.text() and item.text().startswith("Line 1")
    window.editor.move_to_block(2)
    window.checks.list.itemClicked.emit(item)
    assert window.editor.current_block_number() == 0

    inspector = window.inspector
    assert inspector.line_id == "L1" and not inspector.pin_button.isChecked()
    inspector.seed_spin.setValue(1234)
    inspector.seed_spin.editingFinished.emit()
    line = window.session.project.line("L1")
    assert (line.seed, line.pinned) == (1234, True) and inspector.pin_button.isChecked()
    assert window.session.project.status("L1") is LineStatus.STALE  # the pinned seed differs from the take's
    window.act_undo.trigger()  # one step undoes both
    assert (line.pinned, line.seed) == (False, None)


def test_settings_dialog_stores_engine_and_defaults(qtbot, tmp_path):
    from gui.settings_dialog import SettingsDialog

    settings = AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.model_picker.set_model(str(ROOT / "tests/data/dia-tiny"))
    dialog.device_combo.setCurrentIndex(dialog.device_combo.findData("cpu"))
    assert "Dia 1.6B" in dialog.sampling_box.title()
    dialog.sampling_form.spins["temperature"].setValue(1.8)
    dialog.sampling_form.spins["max_tokens"].setValue(0)
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("flac"))
    assert dialog.apply()  # the engine settings changed: the model must be reloaded
    reread = AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    assert reread.engine().model.endswith("dia-tiny") and reread.engine().device == "cpu"
    defaults = reread.sampling_defaults("dia")
    assert defaults["temperature"] == 1.8 and defaults["max_tokens"] is None and defaults["cfg_scale"] is None
    assert reread.export().format == "flac"
    assert not SettingsDialog(reread).apply()  # nothing changed: no reload


def test_settings_keep_default_sampling_per_family(qtbot, tmp_path):
    from gui.settings_dialog import SettingsDialog

    settings = AppSettings(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    settings.q.setValue("sampling/temperature", 1.5)  # written by a version before Dia2: Dia 1.6B's
    settings.q.setValue("sampling/max_tokens", 0)
    assert settings.sampling_defaults("dia")["temperature"] == 1.5
    assert settings.sampling_defaults("dia")["max_tokens"] is None
    dialog = SettingsDialog(settings)
    qtbot.addWidget(dialog)
    dialog.model_picker.set_model(str(ROOT / "tests/data/dia-tiny"))
    assert dialog.sampling_form.spins["temperature"].value() == 1.5
    dialog.model_picker.set_model(str(ROOT / "tests/data/dia2-tiny"))
    assert "Dia2" in dialog.sampling_box.title() and "text_temperature" in dialog.sampling_form.spins
    dialog.sampling_form.spins["text_temperature"].setValue(0.4)
    dialog.model_picker.set_model(str(ROOT / "tests/data/dia-tiny"))  # back: the Dia value is still there
    assert dialog.sampling_form.spins["temperature"].value() == 1.5
    dialog.apply()
    assert settings.sampling_defaults("dia2")["text_temperature"] == 0.4
    assert settings.sampling_defaults("dia")["temperature"] == 1.5


def test_playback_state_is_explained(qtbot, make_window):
    window = make_window()
    new_project(window, "[S1] Hi.")
    assert window.act_play.isEnabled() == window.player.available
    if not window.player.available:
        assert window.playback_label.text() == "Playback off"
        assert window.playback_label.toolTip().startswith("Playback is off:")
        window.toggle_playback()  # nothing to play and no device: a message, no exception
        assert window.statusBar().currentMessage()


def test_new_project_in_a_named_folder(qtbot, make_window, tmp_path):
    window = make_window()
    folder = tmp_path / "Night Shift"
    assert window.new_project(folder)
    assert (folder / "project.json").is_file() and not window.session.untitled
    assert window.session.name == "Night Shift" and "Night Shift" in window.windowTitle()
    assert str(folder.resolve()) in window.settings.recent_projects()
    assert not window.new_project(folder)  # a folder that holds a project is not overwritten
    assert "already holds a project" in window.last_error[1]
    assert window.session is not None and window.session.folder == folder  # and the open project stays open


def test_line_sampling_override_in_the_inspector_turns_only_that_line_stale_and_undoes(qtbot, make_window):
    window = make_window()
    new_project(window, "[S1] One two three.\n[S2] Four five six.")
    wait_generation(qtbot, window, window.act_generate_all.trigger)
    project = window.session.project
    assert gutter_states(window) == [LineState.DONE, LineState.DONE]
    window.editor.move_to_block(1)
    inspector = window.inspector
    qtbot.waitUntil(lambda: inspector.line_id == "L2", timeout=5_000)
    assert not inspector.override_check.isChecked() and inspector.line_sampling_form.isHidden()

    inspector.override_check.setChecked(True)  # starts from the project's values: nothing to regenerate yet
    assert project.line("L2").sampling == project.sampling() and not inspector.line_sampling_form.isHidden()
    assert gutter_states(window) == [LineState.DONE, LineState.DONE]
    form = inspector.line_sampling_form
    form.spins["max_tokens"].setValue(40)
    form.spins["temperature"].setValue(0.8)  # merges with the previous edit: one undo step
    assert project.line("L2").sampling.max_tokens == 40 and project.line("L2").sampling.temperature == 0.8
    assert project.line("L1").sampling is None
    assert gutter_states(window) == [LineState.DONE, LineState.STALE]

    window.act_undo.trigger()  # back to the project's values: done again
    assert project.line("L2").sampling == project.sampling()
    assert form.spins["max_tokens"].value() == MAX_TOKENS and inspector.override_check.isChecked()
    assert gutter_states(window) == [LineState.DONE, LineState.DONE]
    window.act_undo.trigger()  # no override any more
    assert project.line("L2").sampling is None and not inspector.override_check.isChecked()
    assert gutter_states(window) == [LineState.DONE, LineState.DONE]

    window.act_redo.trigger()
    window.act_redo.trigger()
    assert gutter_states(window) == [LineState.DONE, LineState.STALE]
    wait_generation(qtbot, window, window.act_generate_all.trigger)  # regenerates L2 alone, with its own values
    take = project.line("L2").take(project.line("L2").active_take)
    assert (take.sampling.max_tokens, take.sampling.temperature) == (40, 0.8)
    assert [len(line.takes) for line in project.lines] == [1, 2]
    assert gutter_states(window) == [LineState.DONE, LineState.DONE]
