"""`main.py render` end to end with the tiny model and tiny DAC: incremental renders, identical re-runs,
interrupted renders that resume, and bad input that changes nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

import commands.render
import main
from projects.project import Project
from projects.takes import LineStatus

SCRIPT = "[S1] Welcome back to the show.\n[S2] Thanks for having me!\nIt is good to be here.\n"


def engine_args(tiny_model_dir, tiny_dac_path) -> list[str]:
    return ["--model", str(tiny_model_dir), "--codec", str(tiny_dac_path), "--device", "cpu", "--dtype", "float32",
            "--max-tokens", "50"]  # room for ~0.2 s of speech after the two voice clips (~20 frames)


@pytest.fixture
def loads(monkeypatch, tiny_engine, tiny_model_dir, tiny_dac_path):
    """Counts engine loads. Loading is the slow part, so the session's tiny engine (loaded from the very model
    and codec the command names) stands in for a fresh load. The bad-input tests go through the real loader."""
    calls = []

    def counting(args):
        assert (args.model, args.codec, args.device, args.dtype) == (str(tiny_model_dir), str(tiny_dac_path),
                                                                     "cpu", "float32")
        calls.append(args)
        return tiny_engine

    monkeypatch.setattr(commands.render, "load_engine", counting)
    return calls


@pytest.fixture
def inputs(tmp_path):
    t = np.arange(int(22050 * 0.12)) / 22050
    s1 = tmp_path / "alice.wav"
    sf.write(s1, np.stack([0.3 * np.sin(2 * np.pi * 200 * t), 0.2 * np.sin(2 * np.pi * 300 * t)], axis=1), 22050)
    (tmp_path / "alice.txt").write_text("Hi, I am Alice.\n")
    s2 = tmp_path / "bob.flac"
    sf.write(s2, 0.3 * np.sin(2 * np.pi * 120 * np.arange(5000) / 48000), 48000)
    script = tmp_path / "episode.txt"
    script.write_text(SCRIPT)
    return {"s1": s1, "s2": s2, "script": script, "project": tmp_path / "show", "out": tmp_path / "episode.wav"}


def render(inputs, engine, *extra: str) -> int:
    return main.main(["render", str(inputs["script"]), "--project", str(inputs["project"]), "--out",
                      str(inputs["out"]), *engine, *extra])


def snapshot(folder) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_render_is_incremental(inputs, loads, tiny_model_dir, tiny_dac_path, capsys):
    engine = engine_args(tiny_model_dir, tiny_dac_path)
    voices = ["--voice", f"S1={inputs['s1']}", "--voice", f"S2={inputs['s2']}", "--transcript", "S2=And I am Bob.",
              "--name", "S1=Alice", "--name", "S2=Bob"]

    # 1. a fresh render creates the project, generates every line and exports
    assert render(inputs, engine, *voices, "--seed", "7", "--stems", "--subtitles", "--lufs", "podcast") == 0
    out, err = capsys.readouterr()
    assert "generating 3 of 3 lines (3 missing, 0 stale)" in err and "[3/3]" in err
    assert f"wrote {inputs['out']}" in out
    project = Project.open(inputs["project"])
    assert [len(line.takes) for line in project.lines] == [1, 1, 1]
    assert set(project.statuses().values()) == {LineStatus.DONE}
    assert project.doc.seed == 7 and project.doc.sampling.max_tokens == 50
    assert project.doc.speakers["S1"].transcript == "Hi, I am Alice."  # from alice.txt beside the clip
    assert project.doc.speakers["S2"].name == "Bob" and project.doc.speakers["S2"].clip.startswith("voices/S2-")
    for suffix in (".S1.wav", ".S2.wav", ".srt", ".vtt", ".json"):
        assert inputs["out"].with_name("episode" + suffix).is_file()
    manifest = json.loads(inputs["out"].with_suffix(".json").read_text())
    assert [(m["line"], m["speaker"], m["seed"]) for m in manifest["lines"]] == [
        (i + 1, speaker, line.take(line.active_take).seed)
        for i, (speaker, line) in enumerate(zip(("S1", "S2", "S2"), project.lines))]
    assert "Bob: It is good to be here." in inputs["out"].with_suffix(".srt").read_text()
    assert len(loads) == 1

    # 2. running it again unchanged generates nothing, loads no model and writes the identical mix
    mix = inputs["out"].read_bytes()
    project_files = snapshot(inputs["project"])
    assert render(inputs, engine, *voices, "--lufs", "-16") == 0
    assert "nothing to generate" in capsys.readouterr().err
    assert len(loads) == 1
    assert inputs["out"].read_bytes() == mix
    assert snapshot(inputs["project"]) == project_files

    # 3. editing one line regenerates that line alone and keeps its old take
    inputs["script"].write_text(SCRIPT.replace("Thanks for having me!", "Thanks so much for having me!"))
    assert render(inputs, engine) == 0
    assert "generating 1 of 3 lines (0 missing, 1 stale)" in capsys.readouterr().err
    edited = Project.open(inputs["project"])
    assert [line.id for line in edited.lines] == [line.id for line in project.lines]
    assert [len(line.takes) for line in edited.lines] == [1, 2, 1]
    old_take, new_take = edited.lines[1].takes
    assert old_take == project.lines[1].takes[0] and (inputs["project"] / old_take.file).read_bytes() == \
        project_files[old_take.file]
    assert edited.lines[1].active_take == new_take.id
    assert [edited.lines[i].takes for i in (0, 2)] == [project.lines[i].takes for i in (0, 2)]
    manifest = json.loads(inputs["out"].with_suffix(".json").read_text())
    assert [m["take"] for m in manifest["lines"]] == ["L1-1", "L2-2", "L3-1"]
    assert len(loads) == 2


def test_an_interrupted_render_keeps_its_takes_and_resumes(inputs, loads, tiny_model_dir, tiny_dac_path,
                                                           monkeypatch, capsys):
    engine = engine_args(tiny_model_dir, tiny_dac_path)
    real_add_take = Project.add_take
    saved = []

    def add_take_then_ctrl_c(self, *args, **kwargs):
        take = real_add_take(self, *args, **kwargs)
        saved.append(take)
        raise KeyboardInterrupt  # the user presses Ctrl-C right after the first line is saved

    monkeypatch.setattr(Project, "add_take", add_take_then_ctrl_c)
    assert render(inputs, engine, "--seed", "3") == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and "run the same command again" in err
    assert not inputs["out"].exists()
    monkeypatch.setattr(Project, "add_take", real_add_take)
    partial = Project.open(inputs["project"])
    assert list(partial.statuses().values()).count(LineStatus.DONE) == 1

    assert render(inputs, engine) == 0
    assert "generating 2 of 3 lines (2 missing, 0 stale)" in capsys.readouterr().err
    finished = Project.open(inputs["project"])
    assert [len(line.takes) for line in finished.lines] == [1, 1, 1]
    assert saved[0] in [line.takes[0] for line in finished.lines]
    assert inputs["out"].is_file()


@pytest.fixture
def existing(inputs):
    """A project that already has a script, a voice and settings (nothing generated)."""
    project = Project.create(inputs["project"])
    project.set_script(SCRIPT)
    project.set_speaker("S1", clip=inputs["s1"], transcript="Hi, I am Alice.")
    project.save()
    return inputs


def bad_cases(inputs):
    not_audio = inputs["script"].with_name("notes.wav")
    not_audio.write_text("definitely not audio")
    no_transcript = inputs["script"].with_name("carol.wav")
    no_transcript.write_bytes(inputs["s1"].read_bytes())
    empty = inputs["script"].with_name("empty.txt")
    empty.write_text("\n   \n[S1]\n")
    return {
        "unreadable clip": (["--voice", f"S2={not_audio}", "--transcript", "S2=Hi"], "notes.wav"),
        "missing clip": (["--voice", f"S2={inputs['script'].with_name('nope.wav')}", "--transcript", "S2=Hi"],
                         "nope.wav"),
        "missing transcript": (["--voice", f"S2={no_transcript}"], "needs its transcript"),
        "empty script": (["SCRIPT", str(empty)], "has no lines to speak"),
        "missing script": (["SCRIPT", str(inputs["script"].with_name("gone.txt"))], "cannot read script"),
        "bad voice syntax": (["--voice", f"S3={inputs['s1']}"], "S1=... or S2=..."),
        "transcript without clip": (["--transcript", "S2=Hello"], "needs a clip"),
        "flac cannot be float": (["--format", "flac", "--bit-depth", "float", "--out",
                                  str(inputs["out"].with_suffix(".flac"))], "FLAC holds 16- or 24-bit"),
        "extension mismatch": (["--format", "flac"], "does not end in .flac"),
        "unknown extension": (["--out", str(inputs["out"].with_suffix(".mp3"))], "should end in .wav or .flac"),
        "bad sampling": (["--top-p", "1.5"], "top_p"),
        "model that cannot load": (["--model", str(inputs["script"].with_name("no-model"))], "no-model"),
        "no codec": (["--codec", "none"], "needs a codec"),
    }


@pytest.mark.parametrize("case", ["unreadable clip", "missing clip", "missing transcript", "empty script",
                                  "missing script", "bad voice syntax", "transcript without clip",
                                  "flac cannot be float", "extension mismatch", "unknown extension", "bad sampling",
                                  "model that cannot load", "no codec"])
def test_bad_input_exits_with_one_readable_line_and_changes_nothing(existing, case, tiny_model_dir, tiny_dac_path,
                                                                    capsys):
    extra, needle = bad_cases(existing)[case]
    script = existing["script"]
    if extra[:1] == ["SCRIPT"]:
        script, extra = extra[1], []
    before = snapshot(existing["project"])
    args = ["render", str(script), "--project", str(existing["project"]), "--out", str(existing["out"]),
            *engine_args(tiny_model_dir, tiny_dac_path), *extra]
    assert main.main(args) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], err
    assert "Traceback" not in err and out == ""
    assert snapshot(existing["project"]) == before
    assert not existing["out"].exists() and not existing["out"].with_suffix(".flac").exists()


def test_bad_input_does_not_create_a_new_project_folder(inputs, capsys):
    inputs["script"].write_text("")
    assert render(inputs, []) == 2
    assert "has no lines to speak" in capsys.readouterr().err
    assert not inputs["project"].exists()


def test_a_folder_that_is_not_a_project_is_left_alone(inputs, capsys):
    inputs["project"].mkdir()
    (inputs["project"] / "thesis.docx").write_text("precious")
    assert render(inputs, []) == 2
    assert "is not a Dia Studio project" in capsys.readouterr().err
    assert [p.name for p in inputs["project"].iterdir()] == ["thesis.docx"]


def test_a_corrupt_project_names_its_backup(existing, capsys):
    project = Project.open(existing["project"])
    project.set_speaker("S1", name="Alice")
    project.save()  # the previous version becomes a backup
    (existing["project"] / "project.json").write_text("{ torn")
    assert render(existing, []) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "is corrupt" in err and "backups/project-" in err
    assert (existing["project"] / "project.json").read_text() == "{ torn"
