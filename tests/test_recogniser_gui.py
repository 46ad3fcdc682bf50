"""Take checks in the editor: checked on their own thread after each take, verdicts in the gutter and the
inspector, "Regenerate Failing Lines", the Transcribe button, and "checks off" with the reason."""

from __future__ import annotations

import time

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QSettings, QThread

from dia_engine import Transcription
from gui.line_state import LineState
from gui.main_window import MainWindow
from gui.settings import AppSettings
from gui.take_checks import TakeChecks
from projects.generation import GenerationService
from projects.project import Project
from projects.takes import load_take_audio
from projects.transcripts import TranscriptCache, Transcriber, audio_sha256


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: thread hand-offs cost more than the work


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DIA_STUDIO_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "transcripts"


@pytest.fixture
def project(tmp_path, tiny_engine):
    project = Project.create(tmp_path / "p")
    project.set_script("[S1] I really like that big old house.\n[S2] Me too.")
    project.doc.sampling.max_tokens = 30
    project.save()
    service = GenerationService(project, tiny_engine)
    service.run(service.plan())
    return project


def test_a_new_take_is_checked_on_another_thread_without_blocking(qtbot, project, tiny_whisper):
    checks = TakeChecks(lambda: Transcriber(tiny_whisper, device="cpu"))
    try:
        line = project.line("L1")
        started = time.perf_counter()
        with qtbot.waitSignal(checks.verdictChanged, timeout=60_000) as verdict:
            checks.take_arrived(project, "L1", line.active_take)
            assert time.perf_counter() - started < 0.05  # queued, not run: the caller goes straight on
        assert verdict.args == ["L1"]
        assert checks.worker.thread() is not QThread.currentThread()
        check = checks.result("L1", line.active_take)
        assert check is not None and not check.passed  # the tiny Whisper hears gibberish
        assert checks.failing_lines(project) == ["L1"]
        assert checks.off_reason == ""
    finally:
        checks.shutdown()


def test_opening_a_project_shows_the_verdicts_heard_before_without_a_model(qtbot, project):
    line = project.line("L1")
    audio = load_take_audio(project.folder, line.take(line.active_take))
    TranscriptCache().put(audio_sha256(audio, 44100), Transcription("I really like that old house.", (), 1.0,
                                                                    "some/recogniser"))
    transcriber = Transcriber("some/recogniser")
    checks = TakeChecks(lambda: transcriber)
    try:
        with qtbot.waitSignal(checks.verdictChanged, timeout=30_000):
            checks.open_project(project)
        assert checks.result("L1", line.active_take).verdict == "1 word missing: 'big'"
        assert checks.result("L2", project.line("L2").active_take) is None  # never heard: no verdict
        assert not transcriber.loaded
    finally:
        checks.shutdown()


def test_without_a_downloaded_recogniser_checks_are_off_with_the_reason(qtbot, project, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    checks = TakeChecks(lambda: Transcriber("example/not-downloaded"))
    try:
        with qtbot.waitSignal(checks.offChanged, timeout=30_000) as off:
            checks.take_arrived(project, "L1", project.line("L1").active_take)
        assert "example/not-downloaded is not downloaded yet" in off.args[0]
        assert checks.result("L1", project.line("L1").active_take) is None
        # An explicit Transcribe may download; offline it fails and says why.
        clip = tmp_path / "v.wav"
        sf.write(clip, np.zeros(2400, np.float32) + 0.1, 24000)
        with qtbot.waitSignal(checks.transcribeFailed, timeout=30_000) as failed:
            checks.transcribe_clip("S1", clip)
        assert failed.args[0] == "S1" and "cannot be loaded" in failed.args[1]
    finally:
        checks.shutdown()


# ---- in the main window -----------------------------------------------------------------------------------

@pytest.fixture
def window(qtbot, tmp_path, tiny_engine, tiny_whisper):
    q = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    q.setValue("checks/recogniser", str(tiny_whisper))
    q.setValue("checks/device", "cpu")
    window = MainWindow(AppSettings(q), scratch_root=tmp_path / "scratch", engine_factory=lambda _s: tiny_engine)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.shutdown()
    window.deleteLater()


def test_failing_takes_are_flagged_and_regenerated(qtbot, window):
    assert window.new_project()
    window.editor.setPlainText("[S1] I really like that big old house.\n[S2] Me too.")
    window.sync_script()
    window.session.set_sampling(**{**window.session.project.sampling().model_dump(), "max_tokens": 30})
    checks = window.take_checks
    with qtbot.waitSignal(window.controller.finished, timeout=120_000):
        window.act_generate_all.trigger()
    qtbot.waitUntil(lambda: len(checks.results) == 2, timeout=60_000)
    window.refresh_views()
    views = window.editor._views
    assert [views[b].state for b in sorted(views)] == [LineState.CHECK_FAILED, LineState.CHECK_FAILED]
    assert "Check failed: " in views[0].tooltip()
    window.editor.move_to_block(0)
    window.refresh_views()
    assert "Check failed: " in window.inspector.state_label.text()  # the active take's verdict
    assert window.inspector.table.item(0, 1).toolTip().startswith("Check failed: ")  # each take's own

    with qtbot.waitSignal(window.controller.finished, timeout=120_000):
        window.act_regenerate_failing.trigger()
    project = window.session.project
    assert [len(line.takes) for line in project.lines] == [2, 2]  # a new take each, the old ones kept
    assert window.checks_label.isHidden()


def test_the_transcribe_button_fills_the_transcript(qtbot, window, tmp_path):
    assert window.new_project()
    clip = tmp_path / "host.wav"
    t = np.arange(24000 * 2) / 24000
    sf.write(clip, (0.3 * np.sin(2 * np.pi * 180 * t)).astype(np.float32), 24000)
    card = window.speakers_panel.cards["S1"]
    card.set_clip_file(clip)  # waits for its transcript
    assert card.pending_clip == clip and card.transcribe_button.isEnabled()
    heard = Transcriber(window.take_checks.worker._factory().source).transcribe_file(clip)  # what it will hear
    with qtbot.waitSignal(window.take_checks.transcribed, timeout=60_000):
        card.transcribe_button.click()
        assert card.transcribe_button.text() == "Transcribing…"
    assert card.transcript_edit.text() == " ".join(heard.text.split())
    assert window.session.project.doc.speakers["S1"].transcript == " ".join(heard.text.split())
    assert card.transcribe_button.text() == "Transcribe"


def test_settings_choose_the_recogniser_the_thresholds_and_can_turn_checks_off(qtbot, tmp_path):
    from gui.take_checks import CheckSettings
    from projects.take_check import CheckThresholds

    q = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    settings, thresholds = CheckSettings.read(AppSettings(q))
    assert settings == CheckSettings() and thresholds == CheckThresholds()
    q.setValue("checks/recogniser", "openai/whisper-small.en")
    q.setValue("check_thresholds/max_pause", "2.5")
    q.setValue("check_thresholds/max_missing_words", "not a number")
    q.setValue("checks/enabled", "false")
    q.sync()
    settings, thresholds = CheckSettings.read(AppSettings(QSettings(str(tmp_path / "s.ini"),
                                                                    QSettings.Format.IniFormat)))
    assert settings.recogniser == "openai/whisper-small.en" and not settings.enabled
    assert thresholds == CheckThresholds(max_pause=2.5)
    checks = TakeChecks.from_settings(AppSettings(q))
    try:
        assert checks.off_reason == "take checks are turned off in the settings"
    finally:
        checks.shutdown()
