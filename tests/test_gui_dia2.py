"""The editor with Dia2 end to end (offscreen, the tiny Dia2 behind the real worker): a project generated with
voices, its takes at 24 kHz labelled with their model and their words over the waveform; then switched to Dia
1.6B: stale lines, takes kept, the sampling form of the other family, and back."""

from __future__ import annotations

import pytest

pytest.importorskip("dia_engine.dia2", reason="the Dia2 engine (issue 12) is not on this branch yet")

import dataclasses

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QMessageBox

from gui.line_state import LineState
from gui.main_window import MainWindow
from gui.settings import AppSettings
from projects.model import Sampling

from conftest import DATA, DIA2_TINY, TINY_MODEL

SCRIPT = "[S1] Hello there, how are you?\n[S2] I am fine, thanks for asking."


@pytest.fixture
def window(qtbot, tmp_path, dia2_engine, tiny_engine, monkeypatch):
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    engines = {str(DIA2_TINY): dia2_engine, str(TINY_MODEL): tiny_engine}
    settings = AppSettings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    settings.set_engine(dataclasses.replace(settings.engine(), model=str(DIA2_TINY)))
    w = MainWindow(settings, scratch_root=tmp_path / "scratch", engine_factory=lambda s: engines[s.model])
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def states(window):
    window.refresh_views()
    return [window.editor._views[b].state for b in sorted(window.editor._views)]


def test_a_dia2_project_in_the_editor_and_a_switch_of_family(qtbot, window):
    assert window.new_project()
    session = window.session
    assert session.model_info.family == "dia2" and session.project.doc.sampling_family == "dia2"
    window.editor.setPlainText(SCRIPT)
    window.sync_script()
    session.project.set_speaker("S1", clip=DATA / "dia2-voice-s1.wav", transcript="Hello my friend.")
    session.project.set_speaker("S2", clip=DATA / "dia2-voice-s2.wav", transcript="Yes, of course.")
    session.set_sampling(**Sampling(temperature=0.0, text_temperature=0.0).model_dump())
    window.speakers_panel.refresh()
    assert "approximate timings" in window.speakers_panel.cards["S1"].warning_label.text()
    with qtbot.waitSignal(window.controller.finished, timeout=180_000):
        window.act_generate_all.trigger()
    assert states(window) == [LineState.DONE, LineState.DONE]
    line = session.project.line("L1")
    take = line.take(line.active_take)
    assert take.sample_rate == 24000 and [w for w, _ in take.words] == ["Hello", "there,", "how", "are", "you?"]

    window.editor.move_to_block(0)
    inspector = window.inspector
    qtbot.waitUntil(lambda: inspector.line_id == "L1", timeout=5_000)
    assert inspector.table.item(0, 3).text() == "dia2-tiny"  # the model that made the take
    assert inspector.waveform.words == tuple(take.words)
    assert "text_temperature" in inspector.line_sampling_form.spins

    window.use_model(str(TINY_MODEL))  # as Settings' model picker does for the open project
    assert states(window) == [LineState.STALE, LineState.STALE]
    assert session.project.doc.sampling_family == "dia" and session.project.sampling() == Sampling()
    assert "top_p" in inspector.line_sampling_form.spins and len(line.takes) == 1
    window.use_model(str(DIA2_TINY))
    assert session.project.sampling() == Sampling(temperature=0.0, text_temperature=0.0)
