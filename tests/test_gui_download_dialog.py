"""The model download dialog: bytes, rate and time left from a (fake) hub download; Cancel stops it for real."""

from __future__ import annotations

import threading

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QPushButton

from dia_engine import DiaEngine, DownloadCancelled
from dia_engine.hub import download
from gui.download_dialog import BAR_STEPS, DownloadBridge, ModelLoadDialog, RateMeter, format_bytes, format_duration
from gui.line_state import LineState

from conftest import TINY_DAC, TINY_MODEL_HF
from fake_hub import FakeHub
from test_gui_app import gutter_states, make_window, new_project, questions, wait_generation  # noqa: F401 (fixtures)

REPO = "test-org/dia-tiny"
SHARD_1 = "model-00001-of-00002.safetensors"


@pytest.fixture
def slow_hub(monkeypatch):
    """The fake hub online, streaming 16 KiB every 4 ms (the tiny model's 5.2 MB take about 1.3 s)."""
    from huggingface_hub import constants

    with FakeHub({REPO: TINY_MODEL_HF}, chunk_delay_s=0.004) as fake:
        monkeypatch.setenv("HF_HUB_OFFLINE", "0")
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 16 * 1024)
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        yield fake


def click_cancel(qtbot, dialog) -> None:
    qtbot.mouseClick(dialog.findChild(QPushButton), Qt.MouseButton.LeftButton)


def _partial_files(cache):
    return [p for p in cache.rglob("*") if p.name.endswith(".incomplete")]


def test_formatting_and_rate():
    assert [format_bytes(n) for n in (512, 2_500, 6_400_000_000)] == ["512 B", "2.50 KB", "6.40 GB"]
    assert [format_duration(s) for s in (5, 151, 3725)] == ["0:05", "2:31", "1:02:05"]
    meter = RateMeter(window_s=5)
    for t in range(11):
        meter.add(float(t), t * 1_000_000)  # 1 MB/s
    assert meter.rate() == pytest.approx(1_000_000)
    assert meter.eta(10_000_000, 40_000_000) == pytest.approx(30)
    assert meter.rate(now=15.0) == pytest.approx(5_000_000 / 10)  # stalled for 5 s: the rate halves


def test_dialog_shows_bytes_rate_and_time_left_and_cancel_stops_the_download(qtbot, slow_hub, tmp_path):
    bridge = DownloadBridge()
    dialog = ModelLoadDialog(REPO, bridge)
    qtbot.addWidget(dialog)
    outcome = []

    def load():
        try:
            outcome.append(bridge.run(lambda: download(REPO, str(tmp_path))))
        except Exception as exc:
            outcome.append(exc)

    worker = threading.Thread(target=load)
    worker.start()
    qtbot.waitUntil(lambda: dialog.maximum() == BAR_STEPS and dialog.value() > 150, timeout=20_000)
    text = dialog.labelText()
    assert f"Downloading {REPO}" in text and "of 5.21 MB" in text and "MB/s" in text and "left" in text
    assert "3 files" in text
    click_cancel(qtbot, dialog)
    worker.join(timeout=20)
    assert isinstance(outcome[0], DownloadCancelled)
    assert slow_hub.gets(SHARD_1) == 1 and dialog.value() < BAR_STEPS
    assert _partial_files(tmp_path) == []
    snapshot = next(tmp_path.glob("models--*/snapshots/*"))
    assert not (snapshot / SHARD_1).exists()  # cancelled inside the first shard: it is not in the cache

    resumed = ModelLoadDialog(REPO, bridge)
    qtbot.addWidget(resumed)
    seen = []
    bridge.downloadStarted.connect(lambda *args: seen.append(resumed.labelText()))
    worker = threading.Thread(target=load)
    worker.start()
    worker.join(timeout=30)
    qtbot.waitUntil(lambda: bool(seen))
    assert outcome[1] == snapshot and "2 files (1 already downloaded)" in seen[0]
    assert (snapshot / SHARD_1).is_file()
    qtbot.waitUntil(lambda: resumed.maximum() == 0)  # download finished: "Loading the Dia model"
    assert "Loading the Dia model" in resumed.labelText()


def test_cancelling_the_download_in_the_editor_is_not_an_error_and_generate_resumes(qtbot, make_window, slow_hub,
                                                                                  tmp_path):
    cache = tmp_path / "hub"
    window = make_window(engine_factory=lambda _s: DiaEngine.from_pretrained(
        REPO, device="cpu", dtype="float32", codec=str(TINY_DAC), cache_dir=str(cache)))
    new_project(window, "[S1] Hello.")
    window.act_generate_all.trigger()
    qtbot.waitUntil(lambda: window._load_dialog is not None and window._load_dialog.value() > 150, timeout=20_000)
    messages = []
    window.statusBar().messageChanged.connect(messages.append)
    with qtbot.waitSignal(window.controller.finished, timeout=20_000):
        click_cancel(qtbot, window._load_dialog)
    assert window._load_dialog is None and window.last_error is None  # no error box for a cancel
    assert any(m.startswith("Download cancelled") for m in messages)
    assert gutter_states(window) == [LineState.MISSING]
    assert _partial_files(cache) == []

    assert not wait_generation(qtbot, window, window.act_generate_all.trigger)  # downloads the rest, generates
    assert gutter_states(window) == [LineState.DONE]
    assert window.engine_label.text() == f"Model: dia-tiny · cpu · float32"
