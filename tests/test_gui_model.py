"""The model picker and the per-family sampling form (offscreen)."""

import shutil

import numpy as np

import pytest
from PySide6.QtWidgets import QFileDialog

from gui.model_picker import LOCAL, ModelPicker
from gui.sampling_form import ModelSamplingForm

from conftest import TINY_MODEL
from model_infos import DIA2_2B, DIA_16B

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A hub cache in which Dia2-1B is downloaded (the tiny weights stand in for it)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    repo = tmp_path / "hub" / "models--nari-labs--Dia2-1B"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):
        shutil.copy(TINY_MODEL / name, snapshot)
    return str(tmp_path / "hub")


def test_picker_offers_the_released_models_with_size_and_download_state(qtbot, hub):
    picker = ModelPicker("nari-labs/Dia-1.6B-0626", cache_dir=hub)
    qtbot.addWidget(picker)
    rows = [picker.combo.itemText(i) for i in range(picker.combo.count())]
    assert rows[0] == "Dia 1.6B (0626) — 6.4 GB, not downloaded"
    assert rows[1].startswith("Dia2 1B — ") and rows[1].endswith(", downloaded")
    assert rows[2] == "Dia2 2B — 7.7 GB, not downloaded"
    assert rows[3] == "A local folder…" and picker.combo.itemData(3) == LOCAL
    assert "44.1 kHz" in picker.detail.text() and "on first Generate" in picker.detail.text()
    with qtbot.waitSignal(picker.changed) as chosen:
        picker.combo.setCurrentIndex(1)
        picker.combo.activated.emit(1)
    assert chosen.args == ["nari-labs/Dia2-1B"] and picker.model_id() == "nari-labs/Dia2-1B"
    assert "on this machine" in picker.detail.text()


def test_picker_takes_a_local_folder_and_cancel_keeps_the_choice(qtbot, hub, monkeypatch):
    picker = ModelPicker("nari-labs/Dia2-2B", cache_dir=hub)
    qtbot.addWidget(picker)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: "")
    picker.combo.setCurrentIndex(picker.combo.findData(LOCAL))
    picker.combo.activated.emit(picker.combo.currentIndex())
    assert picker.model_id() == "nari-labs/Dia2-2B" and picker.combo.currentData() == "nari-labs/Dia2-2B"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(TINY_MODEL))
    picker.browse_button.click()
    assert picker.model_id() == str(TINY_MODEL) and picker.combo.currentData() == str(TINY_MODEL)
    assert picker.combo.currentText().startswith("Local folder: dia-tiny — ")
    reopened = ModelPicker(str(TINY_MODEL), cache_dir=hub)  # a project on a folder shows that folder
    qtbot.addWidget(reopened)
    assert reopened.combo.currentData() == str(TINY_MODEL) and reopened.combo.count() == 5


def test_sampling_form_shows_the_familys_fields_and_stores_defaults_as_unset(qtbot):
    form = ModelSamplingForm(DIA2_2B, {"temperature": 0.5})
    qtbot.addWidget(form)
    assert list(form.spins) == ["cfg_scale", "temperature", "top_k", "text_temperature", "text_top_k",
                                "cfg_filter_top_k", "max_tokens"]
    assert form.spins["temperature"].value() == 0.5 and form.spins["text_temperature"].value() == 0.6
    assert form.spins["max_tokens"].maximum() == DIA2_2B.max_frames
    values = form.values()
    assert values["temperature"] == 0.5 and values["text_temperature"] is None and values["top_p"] is None
    with qtbot.waitSignal(form.changed):
        form.spins["text_top_k"].setValue(20)
    assert form.values()["text_top_k"] == 20
    form.spins["temperature"].setValue(0.8)  # back to Dia2's default: follows the default again
    assert form.values()["temperature"] is None

    dia = ModelSamplingForm(DIA_16B, {})
    qtbot.addWidget(dia)
    assert list(dia.spins) == ["cfg_scale", "temperature", "top_p", "cfg_filter_top_k", "max_tokens"]
    assert dia.spins["cfg_scale"].value() == 3.0 and dia.spins["max_tokens"].maximum() == 3072
    unknown = ModelSamplingForm(None)
    qtbot.addWidget(unknown)
    assert not unknown.spins and all(v is None for v in unknown.values().values())


def test_word_marks_label_every_word_that_has_room(qtbot):
    from gui.waveform import WaveformView, word_marks

    words = [("Hello", 0.16), ("there,", 0.56), ("how", 0.6), ("are", 1.2), ("late", 5.0)]
    marks = word_marks(words, duration=2.0, left=0.0, width=200.0, text_width=lambda w: 6.0 * len(w))
    assert [(round(x), w, shown) for x, w, shown in marks] == [
        (16, "Hello", True), (56, "there,", True), (60, "how", False), (120, "are", True)]  # "late" is past the end
    view = WaveformView()
    qtbot.addWidget(view)
    view.set_audio(np.zeros(48000, np.float32), 24000)
    view.set_words(words)
    assert view.words == tuple(words) and view.toolTip()
    view.resize(400, 72)
    view.grab()  # paints the marks without error
    view.set_audio(np.zeros(100, np.float32), 24000)  # another take: its own words or none
    assert view.words == ()
