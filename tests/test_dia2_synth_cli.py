"""`python main.py synth` with Dia2: a 24 kHz WAV, the Dia2 sampling options, a voice clip, readable errors."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from conftest import DIA2_TINY, TINY_DAC, TINY_MODEL

ROOT = Path(__file__).resolve().parents[1]
DIA2 = ["--model", str(DIA2_TINY), "--codec", str(DIA2_TINY / "mimi")]
GREEDY = ["--temperature", "0", "--text-temperature", "0", "--seed", "1"]


def synth(*args):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # tiny ops on a busy 2-core machine (see conftest.one_thread)
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "synth", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def test_synth_writes_a_24khz_wav_with_dia2_options_and_a_voice(tmp_path):
    out = tmp_path / "v.wav"
    run = synth("[S1] And now some new words.", *DIA2, *GREEDY, "--top-k", "20", "--text-top-k", "2",
                "--voice", str(DIA2_TINY / "prefix_s1.wav"), "--voice-transcript", "Hello my friend.", "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert "seed 1" in run.stdout
    info = sf.info(out)
    assert info.samplerate == 24000 and info.channels == 1 and info.frames % 1920 == 0 and info.frames > 0


@pytest.mark.parametrize("args, message", [
    (["[S1] hi", "--model", str(TINY_MODEL), "--codec", str(TINY_DAC), "--top-k", "5"],
     "Dia 1.6B has no sampling parameter top_k"),
    (["[S1] hi", "--model", str(TINY_MODEL), "--codec", str(TINY_DAC), "--text-temperature", "0.5"],
     "Dia 1.6B has no sampling parameter text_temperature"),
    (["[S1] hi", *DIA2, "--top-p", "0.9"], "Dia2 has no sampling parameter top_p"),
    (["[S1] " + "wonderful " * 80, *DIA2], "tokens (voice transcripts included) but the model's context holds 128"),
    (["[S1] hi", *DIA2, "--max-tokens", "999"], "max_tokens 999 is past the model's max_context_steps 128"),
    (["[S1] hi", *DIA2, "--text-top-k", "0"], "text_top_k must be an integer >= 1"),
])
def test_synth_dia2_errors_are_one_readable_line(tmp_path, capsys, one_thread, args, message):
    import main  # in-process: a subprocess per case costs most of a minute on the shared CI machine

    assert main.main(["synth", *args, "--out", str(tmp_path / "o.wav")]) != 0
    err = capsys.readouterr().err
    assert message in err, err
    assert len([line for line in err.splitlines() if line.startswith("error:")]) == 1
    assert not (tmp_path / "o.wav").exists()
