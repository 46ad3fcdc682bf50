"""`python main.py synth`: success path and one readable line for every bad input."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import TINY_DAC, TINY_MODEL

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--model", str(TINY_MODEL), "--codec", str(TINY_DAC)]


def synth(*args, cwd=ROOT):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), "synth", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_synth_writes_a_wav_and_prints_the_seed(tmp_path):
    out = tmp_path / "x.wav"
    run = synth("[S1] Hello. [S2] Hi! (laughs)", *TINY, "--out", str(out), "--seed", "7", "--max-tokens", "80")
    assert run.returncode == 0, run.stderr
    assert "seed 7" in run.stdout
    info = sf.info(out)
    assert info.samplerate == 44100 and info.channels == 1 and info.frames % 512 == 0 and info.frames > 0
    again = tmp_path / "y.wav"
    assert synth("[S1] Hello. [S2] Hi! (laughs)", *TINY, "--out", str(again), "--seed", "7",
                 "--max-tokens", "80").returncode == 0
    assert np.array_equal(sf.read(out)[0], sf.read(again)[0])


def test_synth_with_a_voice_clip(tmp_path):
    clip = tmp_path / "me.wav"
    sf.write(clip, 0.2 * np.sin(np.arange(44100) / 10.0).astype(np.float32), 44100)
    out = tmp_path / "v.wav"
    run = synth("[S1] New words.", *TINY, "--voice", str(clip), "--voice-transcript", "[S1] Old words.",
                "--out", str(out), "--max-tokens", "150")
    assert run.returncode == 0, run.stderr
    assert out.exists()


@pytest.mark.parametrize("args, message", [
    (["[S1] hi", "--model", "/nonexistent/model"], "model folder not found"),
    (["   ", *TINY], "the text is empty"),
    (["[S1] " + "long text " * 120, *TINY], "bytes long but the model reads at most 1024"),
    (["[S1] hi", *TINY, "--voice", "/nonexistent/clip.wav", "--voice-transcript", "[S1] x"],
     "voice clip /nonexistent/clip.wav does not exist"),
    (["[S1] hi", *TINY, "--voice", "clip.wav"], "--voice needs --voice-transcript"),
    (["[S1] hi", *TINY, "--top-p", "3"], "top_p must be in"),
    (["[S1] hi", "--model", str(TINY_MODEL), "--codec", "/nonexistent/dac.pth"], "codec weights not found"),
])
def test_synth_errors_are_one_readable_line(tmp_path, args, message):
    run = synth(*args, "--out", str(tmp_path / "o.wav"))
    assert run.returncode != 0
    assert message in run.stderr
    assert "Traceback" not in run.stderr
    assert len([line for line in run.stderr.splitlines() if line.startswith("error:")]) == 1
    assert not (tmp_path / "o.wav").exists()


def test_unreadable_clip_is_reported(tmp_path):
    clip = tmp_path / "broken.wav"
    clip.write_bytes(b"RIFF....WAVEfmt garbage")
    run = synth("[S1] hi", *TINY, "--voice", str(clip), "--voice-transcript", "[S1] x", "--out", str(tmp_path / "o.wav"))
    assert run.returncode != 0 and "Traceback" not in run.stderr
    assert f"cannot read voice clip {clip}" in run.stderr  # found before the model loads
