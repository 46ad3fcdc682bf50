"""`main.py render` with Dia2 (the tiny model and Mimi) and two voices: a -16 LUFS episode with word-timed
subtitles; then the same project rendered with Dia 1.6B: stale lines, takes kept, each family's sampling kept."""

import pytest

pytest.importorskip("dia_engine.dia2", reason="the Dia2 engine (issue 12) is not on this branch yet")


import json

import soundfile as sf

import commands.render
import main
from projects.project import Project
from projects.store import PROJECT_FILE

from conftest import DATA, DIA2_TINY, TINY_DAC, TINY_MODEL

SCRIPT = "[S1] Hello there, how are you today?\n[S2] I am fine, thanks for asking.\n"
DIA2_ARGS = ["--model", str(DIA2_TINY), "--codec", str(DIA2_TINY / "mimi"), "--device", "cpu", "--dtype",
             "float32"]


@pytest.fixture
def engines(monkeypatch, tiny_engine, dia2_engine):
    """The session's engines stand in for loading the very model and codec the command names."""
    loaded = []

    def load(args):
        loaded.append(args.model)
        return {str(DIA2_TINY): dia2_engine, str(TINY_MODEL): tiny_engine}[args.model]

    monkeypatch.setattr(commands.render, "load_engine", load)
    return loaded


def test_dia2_render_with_two_voices_then_dia(tmp_path, engines):
    script = tmp_path / "episode.txt"
    script.write_text(SCRIPT)
    out, folder = tmp_path / "episode.wav", tmp_path / "show"
    voices = ["--voice", f"S1={DATA / 'dia2-voice-s1.wav'}", "--transcript", "S1=Hello my friend.",
              "--voice", f"S2={DATA / 'dia2-voice-s2.wav'}", "--transcript", "S2=Yes, of course.",
              "--name", "S1=Ana", "--name", "S2=Ben"]
    status = main.main(["render", str(script), "--project", str(folder), "--out", str(out), *DIA2_ARGS, *voices,
                        "--temperature", "0", "--text-temperature", "0", "--subtitles", "--sample-rate", "48000"])
    assert status == 0 and engines == [str(DIA2_TINY)]
    manifest = json.loads(out.with_suffix(".json").read_text())
    assert sf.info(str(out)).samplerate == manifest["sample_rate"] == 48000
    assert manifest["loudness_lufs"] == pytest.approx(-16.0, abs=0.5)
    assert [len(line["words"]) > 0 for line in manifest["lines"]] == [True, True]
    srt = out.with_suffix(".srt").read_text()
    assert "Ana: Hello there, how are you today?" in srt and "Ben: I am fine, thanks for asking." in srt
    project = Project.open(folder)
    assert project.doc.sampling_family == "dia2" and project.sampling().text_temperature == 0.0
    takes = {line.id: line.take(line.active_take) for line in project.lines}
    assert all(t.sample_rate == 24000 and t.words for t in takes.values())

    # A Dia2 parameter for Dia 1.6B is refused before anything loads or changes.
    before = (folder / PROJECT_FILE).read_bytes()
    dia = ["--model", str(TINY_MODEL), "--codec", str(TINY_DAC), "--device", "cpu", "--dtype", "float32"]
    assert main.main(["render", str(script), "--project", str(folder), "--out", str(out), *dia,
                      "--text-top-k", "5"]) == 2
    assert (folder / PROJECT_FILE).read_bytes() == before and engines == [str(DIA2_TINY)]

    # The same project with Dia 1.6B: every line regenerated, Dia2's takes and values kept.
    assert main.main(["render", str(script), "--project", str(folder), "--out", str(out), *dia,
                      "--max-tokens", "340"]) == 0  # the two clips take 303 frames at Dia's frame rate
    assert engines == [str(DIA2_TINY), str(TINY_MODEL)]
    project = Project.open(folder)
    assert project.doc.sampling_family == "dia" and project.sampling().max_tokens == 340
    assert project.doc.sampling_kept["dia2"].text_temperature == 0.0
    assert all(len(line.takes) == 2 for line in project.lines)
    assert json.loads(out.with_suffix(".json").read_text())["sample_rate"] == 48000
