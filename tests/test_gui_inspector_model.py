"""The inspector's view-model, without widgets: derived from the document every time, so it never goes stale."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from gui.inspector_model import EMPTY, inspect_line, state_fields
from gui.line_state import LineState, LineView
from projects.model import Sampling
from projects.project import Project

from model_infos import TINY_DIA as DIA


def project_with(tmp_path, script="[S1] Hello there, friends.\n[S2] Hi.\n") -> Project:
    project = Project.create(tmp_path / "p")
    project.set_script(script)
    return project


def test_no_line_is_the_empty_model(tmp_path):
    project = project_with(tmp_path)
    assert inspect_line(project, None) is EMPTY
    assert inspect_line(project, "L99") is EMPTY and not EMPTY.can_generate


def test_the_model_follows_text_sampling_and_voices(tmp_path):
    project = project_with(tmp_path)
    model = inspect_line(project, "L1", info=DIA)
    assert model.title == "L1 · Speaker 1 (S1) · script line 1"
    assert model.text == "[S1] Hello there, friends."
    assert model.project_sampling == "cfg 3 · T 1.2 · p 0.95 · filter k 45"  # Dia 1.6B's defaults, filled in
    assert inspect_line(project, "L1").project_sampling == "the model's defaults"  # the model not described yet
    assert any("no voice clip" in issue for issue in model.issues)
    assert model.generate_label == "Generate" and model.can_generate and model.takes == ()

    project.set_script("[S1] Hello there, dear friends. (laughs)\n[S2] Hi.\n")
    project.doc.sampling = Sampling(temperature=1.5, max_tokens=500)
    t = np.arange(24000 * 4) / 24000
    clip = tmp_path / "voice.wav"
    sf.write(clip, (0.3 * np.sin(2 * np.pi * 180 * t)).astype(np.float32), 24000)
    project.set_speaker("S1", clip=clip, transcript="This is how I sound.", name="Maya")
    project.set_speaker("S2", clip=clip, transcript="And this is me.")

    model = inspect_line(project, "L1", info=DIA)
    assert model.text == "[S1] Hello there, dear friends. (laughs)"
    assert model.title.startswith("L1 · Maya (S1)")
    assert model.project_sampling == "cfg 3 · T 1.5 · p 0.95 · filter k 45 · max 500"
    assert not any("no voice clip" in issue for issue in model.issues)


def test_takes_state_and_blocking(tmp_path):
    project = project_with(tmp_path)
    project.add_take("L1", np.zeros(4410, np.float32), 44100, seed=5, sampling=Sampling(), model_id="tiny",
                     fingerprint=project.fingerprint("L1"))
    model = inspect_line(project, "L1", LineView(LineState.DONE, "S1", 1.0, 0.1))
    assert [(row.take_id, row.active, row.seed, row.length) for row in model.takes] == [("L1-1", True, 5, "0.10 s")]
    assert model.takes[0].model == "tiny" == model.takes[0].model_id  # the model that made it
    assert model.generate_label == "Regenerate" and model.can_generate and model.state is LineState.DONE
    assert model.state_text.startswith("Done")

    busy = inspect_line(project, "L1", LineView(LineState.GENERATING, "S1", progress=0.5))
    assert not busy.can_generate and busy.state_text.startswith("Generating — 50%")

    blocked = inspect_line(project, "L1", blocked="the voice clip of S1 waits for its transcript")
    assert not blocked.can_generate and "waits for its transcript" in blocked.generate_tooltip
    assert blocked.issues[0] == "Cannot generate: the voice clip of S1 waits for its transcript"
    assert state_fields(None)["can_generate"] and not state_fields(None, "why")["can_generate"]
