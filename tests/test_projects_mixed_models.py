"""One project, two model families, without generating: a switch marks lines stale and keeps every take and each
family's sampling; a timeline of 44.1 and 24 kHz takes mixes at the project's rate with word-timed subtitles."""

import json

import numpy as np
import pytest
import soundfile as sf

from projects.export import ExportOptions
from projects.model import Sampling
from projects.project import Project
from projects.takes import LineStatus

SCRIPT = "[S1] Hello there, how are you?\n[S2] I am fine, thanks for asking."
WORDS = [("I", 0.16), ("am", 0.4), ("fine,", 0.64), ("thanks", 0.96), ("for", 1.28), ("asking.", 1.52)]


def tone(freq: float, seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def add(project, line_id, rate, model_id, words=None, seconds=2.0):
    return project.add_take(line_id, tone(440, seconds, rate), rate, seed=1, sampling=project.line_sampling(line_id),
                            model_id=model_id, fingerprint=project.fingerprint(line_id), words=words)


@pytest.fixture
def project(tmp_path):
    project = Project.create(tmp_path / "show")
    project.set_script(SCRIPT)
    return project


def test_a_family_switch_marks_stale_keeps_takes_and_restores_sampling(project):
    project.set_model("nari-labs/Dia-1.6B-0626", "bfloat16", family="dia")
    project.doc.sampling = Sampling(cfg_scale=2.5)
    project.set_line_sampling("L2", Sampling(temperature=1.0))
    for line in project.lines:
        add(project, line.id, 44100, "nari-labs/Dia-1.6B-0626")
    assert set(project.statuses().values()) == {LineStatus.DONE}

    project.set_model("nari-labs/Dia2-2B", "bfloat16", family="dia2")
    assert set(project.statuses().values()) == {LineStatus.STALE}  # another model: stale, takes kept
    assert project.sampling() == Sampling() and project.line("L2").sampling is None  # Dia2's own (defaults)
    project.doc.sampling = Sampling(text_temperature=0.3)
    add(project, "L1", 24000, "nari-labs/Dia2-2B", words=[("Hello", 0.1)])
    assert project.status("L1") is LineStatus.DONE and len(project.line("L1").takes) == 2

    project.set_model("nari-labs/Dia-1.6B-0626", "bfloat16", family="dia")
    assert project.sampling() == Sampling(cfg_scale=2.5) and project.line("L2").sampling == Sampling(temperature=1.0)
    assert project.doc.sampling_kept["dia2"] == Sampling(text_temperature=0.3)
    assert project.status("L2") is LineStatus.DONE  # its Dia take is current again
    assert project.status("L1") is LineStatus.STALE  # its active take is Dia2's
    first = project.line("L1").takes[0]
    project.set_active_take("L1", first.id)
    assert project.status("L1") is LineStatus.DONE
    assert [t.model_id for t in project.line("L1").takes] == ["nari-labs/Dia-1.6B-0626", "nari-labs/Dia2-2B"]


@pytest.mark.parametrize("rate", [44100, 48000])
def test_takes_of_two_rates_mix_at_the_projects_rate_with_word_cues(project, tmp_path, rate):
    add(project, "L1", 44100, "dia", seconds=1.5)
    add(project, "L2", 24000, "dia2", words=WORDS, seconds=2.0)
    for line in project.lines:
        project.set_line_options(line.id, trim_silence=False, gap_ms=500.0)
    project.doc.export.sample_rate = rate
    timeline = project.timeline()
    assert timeline.sample_rate == rate
    assert [p.length / rate for p in timeline.placements] == pytest.approx([1.5, 2.0], abs=1e-4)  # lengths kept
    out = tmp_path / "episode.wav"
    result = project.export(out, ExportOptions(subtitles=True))
    audio, read_rate = sf.read(str(out), dtype="float32")
    assert read_rate == rate and result.duration == pytest.approx(1.5 + 0.5 + 2.0, abs=1e-3)
    spectrum = np.abs(np.fft.rfft(audio[int(2.2 * rate):int(3.8 * rate)]))  # inside the 24 kHz take
    assert np.argmax(spectrum) * rate / len(audio[int(2.2 * rate):int(3.8 * rate)]) == pytest.approx(440, abs=2)
    manifest = json.loads(out.with_suffix(".json").read_text())
    first, second = manifest["lines"]
    assert manifest["sample_rate"] == rate and "words" not in first and second["model"] == "dia2"
    assert [(w["word"], w["start"]) for w in second["words"]] == [(w, round(2.0 + s, 3)) for w, s in WORDS]
    srt = out.with_suffix(".srt").read_text()
    assert "00:00:00,000 --> 00:00:01,500\nSpeaker 1: Hello there, how are you?" in srt  # one cue for the line
    # The Dia2 line's cue starts with its first word, not with its clip.
    assert "00:00:02,160 --> 00:00:04,000\nSpeaker 2: I am fine, thanks for asking." in srt
