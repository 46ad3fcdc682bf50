"""One project, two model families: switching Dia 1.6B -> Dia2 -> Dia 1.6B keeps every take (labelled with its
model), marks lines stale, restores each family's sampling; a timeline mixing 44.1 and 24 kHz takes exports at
the project's rate with word-timed subtitles for the Dia2 lines."""

import pytest

pytest.importorskip("dia_engine.dia2", reason="the Dia2 engine (issue 12) is not on this branch yet")


import json

import numpy as np
import soundfile as sf

from projects.export import ExportOptions
from projects.generation import GenerationService
from projects.model import Sampling
from projects.project import Project
from projects.takes import LineStatus

SCRIPT = "[S1] Hello there, how are you?\n[S2] I am fine, thanks for asking."


def generate(project, engine, line_ids=None):
    service = GenerationService(project, engine)
    return service.run(service.plan(line_ids, force=line_ids is not None))


@pytest.fixture
def project(tmp_path):
    project = Project.create(tmp_path / "show")
    project.set_script(SCRIPT)
    project.doc.sampling = Sampling(cfg_scale=2.5, max_tokens=60)  # Dia 1.6B values of the creator's
    project.save()
    return project


def test_switching_families_keeps_takes_marks_stale_and_restores_sampling(project, tiny_engine, dia2_engine):
    dia_takes = generate(project, tiny_engine).takes
    assert set(project.statuses().values()) == {LineStatus.DONE}

    service = GenerationService(project, dia2_engine)  # the project now generates with Dia2
    assert project.doc.model.model_id == dia2_engine.model_id and project.doc.sampling_family == "dia2"
    assert project.sampling() == Sampling()  # Dia2 starts from its own defaults ...
    assert project.doc.sampling_kept["dia"] == Sampling(cfg_scale=2.5, max_tokens=60)  # ... Dia's are kept aside
    assert set(project.statuses().values()) == {LineStatus.STALE}  # takes of another model: stale, not gone
    project.doc.sampling = Sampling(temperature=0.0, text_temperature=0.0)
    dia2_takes = service.run(service.plan()).takes
    for line in project.lines:
        assert [t.model_id for t in line.takes] == [tiny_engine.model_id, dia2_engine.model_id]
        assert line.active_take == dia2_takes[line.id].id
    assert dia2_takes["L1"].sampling.text_temperature == 0.0 and dia_takes["L1"].sampling.top_p == 0.95

    GenerationService(project, tiny_engine)  # and back to Dia 1.6B
    assert project.sampling() == Sampling(cfg_scale=2.5, max_tokens=60)
    assert project.doc.sampling_kept["dia2"] == Sampling(temperature=0.0, text_temperature=0.0)
    assert set(project.statuses().values()) == {LineStatus.STALE}
    project.set_active_take("L1", dia_takes["L1"].id)  # the Dia take is current again under Dia
    assert project.status("L1") is LineStatus.DONE and project.status("L2") is LineStatus.STALE
    project.save()
    reopened = Project.open(project.folder)
    assert reopened.doc.sampling_kept["dia2"].text_temperature == 0.0
    assert sum(len(line.takes) for line in reopened.lines) == 4


def test_a_timeline_of_both_rates_exports_at_the_projects_rate_with_word_cues(project, tiny_engine, dia2_engine,
                                                                              tmp_path):
    generate(project, tiny_engine, ["L1"])  # 44.1 kHz
    project.doc.sampling = Sampling()
    service = GenerationService(project, dia2_engine)
    project.doc.sampling = Sampling(temperature=0.0, text_temperature=0.0)
    dia2_take = service.run(service.plan(["L2"], force=True)).takes["L2"]  # 24 kHz with words
    project.doc.export.sample_rate = 48000
    for line_id in ("L1", "L2"):
        project.set_line_options(line_id, trim_silence=False)
    timeline = project.timeline()
    assert timeline.sample_rate == 48000
    durations = [p.length / 48000 for p in timeline.placements]
    takes = [project.line(i).take(project.line(i).active_take) for i in ("L1", "L2")]
    for placed, take in zip(durations, takes):  # resampled, not sped up: each clip keeps its length
        assert placed == pytest.approx(take.duration, abs=1e-4)
    out = tmp_path / "episode.wav"
    result = project.export(out, ExportOptions(subtitles=True))
    info = sf.info(str(out))
    assert info.samplerate == 48000 and result.duration == pytest.approx(timeline.duration)
    manifest = json.loads(out.with_suffix(".json").read_text())
    l1, l2 = manifest["lines"]
    assert "words" not in l1 and l1["model"] == tiny_engine.model_id
    assert [w["word"] for w in l2["words"]] == [w for w, _ in dia2_take.words]
    assert all(l2["start"] <= w["start"] < l2["end"] for w in l2["words"])
    srt = out.with_suffix(".srt").read_text()
    assert "Speaker 1: Hello there, how are you?" in srt  # the Dia line: one cue spanning its clip
    assert "Speaker 2: I am fine, thanks for asking." in srt
    vtt_cues = out.with_suffix(".vtt").read_text().strip().split("\n\n")[1:]
    assert len(vtt_cues) == 2
