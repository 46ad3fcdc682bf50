"""Issue 17 on the command line: typos are caught, `synth` checks everything `render` does before the model
loads, and `render` leaves no stems of earlier runs beside new ones."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import main
from conftest import TINY_DAC, TINY_MODEL
from test_gui_app import make_window, questions  # noqa: F401 (fixtures)
from test_render_cli import engine_args, inputs, loads, render  # noqa: F401 (fixtures)

ROOT = Path(__file__).resolve().parents[1]


def run_main(*args, cwd):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("args, suggestion", [
    (["serv"], "did you mean serve?"),
    (["synt", "[S1] Hello.", "--out", "x.wav"], "did you mean synth?"),
    (["rendr", "script.txt", "--project", "p", "--out", "x.wav"], "did you mean render?"),
])
def test_a_mistyped_subcommand_gets_a_suggestion_and_creates_nothing(tmp_path, args, suggestion):
    run = run_main(*args, cwd=tmp_path)
    assert run.returncode == 2
    assert run.stderr.strip().startswith("error: unknown command") and suggestion in run.stderr
    assert "usage" not in run.stderr.lower() and list(tmp_path.iterdir()) == []


def test_a_project_folder_that_does_not_exist_needs_new(tmp_path, capsys):
    assert main.main([str(tmp_path / "my-shwo")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "--new" in err
    assert not (tmp_path / "my-shwo").exists()
    assert main.editor_argument_error([str(tmp_path / "my-show"), "--new"]) == ""
    assert main.editor_argument_error([str(tmp_path)]) == ""  # an existing folder opens as before
    assert main.editor_argument_error([]) == "" and main.editor_argument_error(["--quit-after-show"]) == ""


def test_the_editor_asks_before_creating_a_project_in_a_missing_folder(make_window, questions, tmp_path):
    from PySide6.QtWidgets import QMessageBox

    window = make_window()
    folder = tmp_path / "typo"
    questions.answer = QMessageBox.StandardButton.No
    assert not window.open_from_command_line(folder)
    assert "does not exist" in questions.asked[-1] and not folder.exists()
    questions.answer = QMessageBox.StandardButton.Yes
    assert window.open_from_command_line(folder) and (folder / "project.json").is_file()
    asked = len(questions.asked)
    assert window.open_from_command_line(tmp_path / "planned", new=True) and len(questions.asked) == asked


# ----- synth validates like render, before the model loads ------------------------------------------------------------
NO_MODEL = ["--model", "/nonexistent/model", "--codec", str(TINY_DAC)]


def synth(*args):
    return main.main(["synth", *args])


def test_synth_refuses_an_output_format_before_loading_the_model(tmp_path, capsys):
    assert synth("[S1] Hello there.", *NO_MODEL, "--out", str(tmp_path / "x.mp3")) == 2
    err = capsys.readouterr().err
    assert "should end in .wav or .flac" in err and "model" not in err
    assert not (tmp_path / "x.mp3").exists()


def test_synth_warns_like_render_before_loading_the_model(tmp_path, capsys):
    assert synth("[S1] Hello there, everyone. [S3] Hi! (dances)", *NO_MODEL, "--out", str(tmp_path / "x.wav")) == 2
    err = capsys.readouterr().err.splitlines()
    warnings = [line for line in err if line.startswith("warning:")]
    assert any("[S3] is read as plain text" in w for w in warnings)
    assert any("(dances) is not one of Dia's non-verbal tags" in w for w in warnings)
    assert err[-1].startswith("error:") and "model folder not found" in err[-1]  # the load came after the checks


def test_synth_checks_a_silent_voice_clip_before_loading_the_model(tmp_path, capsys):
    import numpy as np
    import soundfile as sf

    clip = tmp_path / "silent.wav"
    sf.write(clip, np.zeros(12000, np.float32), 24000)
    assert synth("[S1] Hello.", *NO_MODEL, "--voice", str(clip), "--voice-transcript", "Hi.",
                 "--out", str(tmp_path / "x.wav")) == 2
    err = capsys.readouterr().err
    assert "silent" in err and "model folder" not in err


def test_synth_writes_flac(tmp_path):
    import soundfile as sf

    out = tmp_path / "x.flac"
    assert synth("[S1] Hello.", "--model", str(TINY_MODEL), "--codec", str(TINY_DAC), "--max-tokens", "40",
                 "--seed", "1", "--out", str(out)) == 0
    assert sf.info(out).format == "FLAC"


# ----- render removes what an earlier render wrote and this one does not ----------------------------------------------
def test_render_removes_stems_and_subtitles_of_an_earlier_run(inputs, loads, tiny_model_dir, tiny_dac_path, capsys):
    engine = engine_args(tiny_model_dir, tiny_dac_path)
    assert render(inputs, engine, "--seed", "2", "--stems", "--subtitles") == 0
    stems = [inputs["out"].with_name(f"episode.{s}.wav") for s in ("S1", "S2")]
    subtitles = [inputs["out"].with_suffix(s) for s in (".srt", ".vtt")]
    assert all(p.is_file() for p in stems + subtitles)
    unrelated = inputs["out"].with_name("episode notes.txt")
    unrelated.write_text("mine")
    capsys.readouterr()
    assert render(inputs, engine) == 0
    assert not any(p.exists() for p in stems + subtitles)
    assert "removed" in capsys.readouterr().err and unrelated.read_text() == "mine"
    assert inputs["out"].is_file() and inputs["out"].with_suffix(".json").is_file()
