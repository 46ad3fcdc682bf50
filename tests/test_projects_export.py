"""Export: loudness on target (BS.1770-4 via pyloudnorm), true peak under -1 dBTP without clipping, formats,
stems, subtitles and the manifest."""

from __future__ import annotations

import json

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from projects.export import ExportOptions, export_timeline
from projects.limiter import limiter_gain
from projects.loudness import integrated_loudness, normalise
from projects.model import LOUDNESS_PRESETS
from projects.subtitles import Cue, to_srt, to_vtt
from projects.timeline import ClipSpec, arrange
from projects.truepeak import true_peak_db

RATE = 44100


def reference_true_peak_db(audio: np.ndarray, factor: int = 16) -> float:
    """Independent check: exact band-limited interpolation by zero-padding the spectrum (16x)."""
    size = 1 << int(np.ceil(np.log2(len(audio) + 8192)))  # zero padding to a fast FFT length
    x = np.zeros(size)
    x[4096 : 4096 + len(audio)] = audio
    spectrum = np.fft.rfft(x)
    spectrum[-1] *= 0.5  # the Nyquist bin stands for two frequencies once zero-padded
    upsampled = np.fft.irfft(spectrum, size * factor) * factor
    return float(20 * np.log10(np.max(np.abs(upsampled))))


def reference_loudness(audio: np.ndarray) -> float:
    return float(pyloudnorm.Meter(RATE).integrated_loudness(np.asarray(audio, dtype=np.float64)))


def speechlike(seconds: float, seed: int, peaky: bool = True) -> np.ndarray:
    """Syllables of voiced harmonics and breath noise with varying strength and pauses, and (optionally)
    a few sharp plosive-like clicks: a peak-to-loudness ratio of about 18 dB, like unprocessed speech."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * RATE)) / RATE
    pitch = 120 + 25 * np.sin(2 * np.pi * 0.3 * t + rng.uniform(0, 6))
    phase = 2 * np.pi * np.cumsum(pitch) / RATE
    voiced = sum(np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 9))
    syllables = np.repeat(rng.lognormal(0.0, 0.2, int(seconds * 4) + 1), RATE // 4)[: len(t)]
    envelope = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) ** 0.7 * syllables * (np.sin(2 * np.pi * 0.25 * t) > -0.7)
    audio = 0.05 * voiced * envelope + 0.01 * rng.standard_normal(len(t)) * envelope
    if peaky:
        for position in rng.integers(0, len(t) - 200, 6):
            audio[position : position + 60] += 0.08 * np.hanning(60) * rng.choice([-1, 1])
    return audio.astype(np.float32)


@pytest.fixture(scope="module")
def timeline():
    clips = [ClipSpec("L1", speechlike(2.5, 1), stem="S1", info={"cue": "Alice: Hello there.",
                                                                   "manifest": {"line": 1, "seed": 11}}),
             ClipSpec("L2", speechlike(2.0, 2, peaky=False) * 0.5, gap_ms=250, stem="S2",
                      info={"cue": "Bob: Hi!\nAlice: Hey.", "manifest": {"line": 2, "seed": 22}}),
             ClipSpec("L3", speechlike(2.0, 3), gap_ms=-150, stem="S1",
                      info={"cue": "Alice: Bye.", "manifest": {"line": 3, "seed": 33}})]
    return arrange(clips, RATE)


# ----- the meters ------------------------------------------------------------------------------------
def test_true_peak_finds_peaks_between_samples():
    n = np.arange(RATE)
    x = 0.5 * np.sin(2 * np.pi * (RATE / 4) * n / RATE + np.pi / 4)  # samples at +-0.354, the wave reaches 0.5
    assert 20 * np.log10(np.abs(x).max()) == pytest.approx(-9.03, abs=0.01)
    assert true_peak_db(x[2000:-2000]) == pytest.approx(20 * np.log10(0.5), abs=0.1)
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(RATE) * 0.1
    assert true_peak_db(noise) == pytest.approx(reference_true_peak_db(noise), abs=0.15)


def test_integrated_loudness_matches_pyloudnorm_and_handles_silence():
    audio = speechlike(3.0, 5)
    assert integrated_loudness(audio, RATE) == pytest.approx(reference_loudness(audio), abs=1e-9)
    assert integrated_loudness(np.zeros(RATE), RATE) is None
    assert integrated_loudness(audio[: RATE // 10], RATE) is None  # shorter than one 400 ms block


def test_limiter_keeps_true_peak_under_the_ceiling_without_clipping():
    audio = speechlike(5.0, 7) * 4.0  # far over full scale
    gain = limiter_gain(audio, RATE, -1.0)
    limited = audio * gain
    assert reference_true_peak_db(limited) <= -1.0 + 0.05
    assert np.all(gain <= 1.0) and np.all(gain > 0)
    # a gain curve, not clipping: smooth (no jumps) and untouched far from peaks
    assert np.max(np.abs(np.diff(gain))) < 0.01
    quiet = speechlike(5.0, 7, peaky=False) * 0.05
    assert np.array_equal(limiter_gain(quiet, RATE, -1.0), np.ones(len(quiet)))


@pytest.mark.parametrize("preset", sorted(LOUDNESS_PRESETS))
def test_normalise_reaches_each_preset_under_the_ceiling(preset):
    target = LOUDNESS_PRESETS[preset]
    audio = speechlike(6.0, 11)
    result = normalise(audio, RATE, target)
    out = audio * result.gain
    assert reference_loudness(out) == pytest.approx(target, abs=0.5)
    assert reference_true_peak_db(out) <= -1.0
    assert result.loudness_lufs == pytest.approx(reference_loudness(out), abs=1e-6)


# ----- files -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt,depth,subtype", [("wav", "16", "PCM_16"), ("wav", "24", "PCM_24"),
                                                ("wav", "float", "FLOAT"), ("flac", "24", "PCM_24")])
def test_exported_file_is_on_target_loudness_and_under_minus_one_dbtp(tmp_path, timeline, fmt, depth, subtype):
    out = tmp_path / f"episode.{fmt}"
    result = export_timeline(timeline, out, ExportOptions(lufs=-16.0, format=fmt, bit_depth=depth))
    info = sf.info(str(out))
    assert (info.samplerate, info.channels, info.subtype, info.format) == (RATE, 1, subtype, fmt.upper())
    audio, _ = sf.read(str(out), dtype="float64")
    assert len(audio) == timeline.length
    assert reference_loudness(audio) == pytest.approx(-16.0, abs=0.5)
    assert reference_true_peak_db(audio) <= -1.0
    assert result.loudness_lufs == pytest.approx(-16.0, abs=0.1) and result.true_peak_dbtp <= -1.0
    assert result.files == [out, tmp_path / "episode.json"] and result.warnings == []


def test_streaming_preset_needs_the_limiter_and_still_holds_the_ceiling(tmp_path, timeline):
    result = export_timeline(timeline, tmp_path / "loud.wav", ExportOptions(lufs=-14.0, bit_depth="24"))
    audio, _ = sf.read(str(tmp_path / "loud.wav"), dtype="float64")
    assert result.limited_db > 3.0  # peaks were limited, not clipped...
    assert reference_loudness(audio) == pytest.approx(-14.0, abs=0.5)
    assert reference_true_peak_db(audio) <= -1.0
    assert "peak limiting" in result.warnings[0]  # ...and the user is told it took a lot of it


def test_stems_subtitles_and_manifest(tmp_path, timeline):
    out = tmp_path / "show.wav"
    result = export_timeline(timeline, out, ExportOptions(lufs=-19.0, bit_depth="float", stems=True, subtitles=True))
    names = [p.name for p in result.files]
    assert names == ["show.wav", "show.S1.wav", "show.S2.wav", "show.srt", "show.vtt", "show.json"]
    mix, _ = sf.read(str(out), dtype="float64")
    s1, _ = sf.read(str(tmp_path / "show.S1.wav"), dtype="float64")
    s2, _ = sf.read(str(tmp_path / "show.S2.wav"), dtype="float64")
    assert len(s1) == len(s2) == len(mix)
    assert np.allclose(s1 + s2, mix, atol=1e-6)  # same timing and gain: stems sum back to the mix
    srt = (tmp_path / "show.srt").read_text()
    assert srt.startswith("1\n00:00:00,000 --> 00:00:02,500\nAlice: Hello there.\n")
    assert "2\n00:00:02,750 --> 00:00:04,750\nBob: Hi!\nAlice: Hey.\n" in srt
    vtt = (tmp_path / "show.vtt").read_text()
    assert vtt.startswith("WEBVTT\n\n00:00:00.000 --> 00:00:02.500\nAlice: Hello there.\n")
    manifest = json.loads((tmp_path / "show.json").read_text())
    assert manifest["mix"] == "show.wav" and manifest["sample_rate"] == RATE
    assert manifest["loudness_lufs"] == pytest.approx(-19.0, abs=0.1) and manifest["true_peak_dbtp"] <= -1.0
    assert manifest["stems"] == {"S1": "show.S1.wav", "S2": "show.S2.wav"}
    assert [(line["line"], line["seed"], line["start"], line["end"]) for line in manifest["lines"]] == [
        (1, 11, 0.0, 2.5), (2, 22, 2.75, 4.75), (3, 33, 4.6, 6.6)]


def test_export_is_deterministic(tmp_path, timeline):
    export_timeline(timeline, tmp_path / "a.flac", ExportOptions(format="flac", bit_depth="16", subtitles=True))
    export_timeline(timeline, tmp_path / "b.flac", ExportOptions(format="flac", bit_depth="16", subtitles=True))
    assert (tmp_path / "a.flac").read_bytes() == (tmp_path / "b.flac").read_bytes()
    assert (tmp_path / "a.srt").read_text() == (tmp_path / "b.srt").read_text()


def test_too_short_to_measure_is_exported_with_a_warning(tmp_path):
    short = arrange([ClipSpec("L1", speechlike(0.2, 4))], RATE)
    result = export_timeline(short, tmp_path / "short.wav", ExportOptions())
    assert result.loudness_lufs is None and "not normalised" in result.warnings[0]
    assert result.true_peak_dbtp <= -1.0


def test_bad_export_options_are_refused_with_a_reason(tmp_path):
    with pytest.raises(ValueError, match="FLAC holds 16- or 24-bit"):
        ExportOptions(format="flac", bit_depth="float")
    with pytest.raises(ValueError, match="out of range"):
        ExportOptions(lufs=5)
    with pytest.raises(ValueError, match="empty"):
        export_timeline(arrange([], RATE), tmp_path / "x.wav", ExportOptions())


def test_subtitle_timestamps_and_blank_rows():
    cues = [Cue(3661.5, 3662.0, "A:\n\nB")]
    assert to_srt(cues) == "1\n01:01:01,500 --> 01:01:02,000\nA:\nB\n"
    assert to_vtt(cues) == "WEBVTT\n\n01:01:01.500 --> 01:01:02.000\nA:\nB\n"
