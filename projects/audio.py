"""Small sample-level helpers shared by takes, the timeline and export (numpy only, mono float)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from .files import atomic_path

EDGE_FADE_MS = 8.0  # 5-10 ms at every clip edge: long enough that joins never click, too short to hear
PART_CROSSFADE_MS = 30.0  # joins the parts of a line that was generated in pieces
TRIM_BELOW_PEAK_DB = 40.0  # trimming treats anything this far under the clip's peak as silence
TRIM_FLOOR_DBFS = -70.0
TRIM_KEEP_MS = 30.0  # leave a breath of the silence so consonants are not clipped


def db_to_gain(db: float) -> float:
    return float(10.0 ** (db / 20.0))


def gain_to_db(gain: float) -> float:
    return float(20.0 * np.log10(gain)) if gain > 0 else float("-inf")


def ms_to_samples(ms: float, sample_rate: int) -> int:
    return int(round(ms * sample_rate / 1000.0))


def _ramp(length: int) -> np.ndarray:
    """Raised-cosine ramp from 0 towards 1 over `length` samples."""
    if length <= 0:
        return np.ones(0)
    return 0.5 - 0.5 * np.cos(np.pi * (np.arange(length) + 0.5) / length)


def apply_fades(audio: np.ndarray, fade_in: int, fade_out: int) -> np.ndarray:
    """Raised-cosine fade-in and fade-out of the given lengths in samples (a new array)."""
    out = np.array(audio, dtype=np.float64, copy=True)
    n = len(out)
    fade_in, fade_out = min(fade_in, n), min(fade_out, n)
    if fade_in:
        out[:fade_in] *= _ramp(fade_in)
    if fade_out:
        out[n - fade_out :] *= _ramp(fade_out)[::-1]
    return out


def equal_power_curves(length: int) -> tuple[np.ndarray, np.ndarray]:
    """(fade out, fade in) curves whose powers sum to one: a crossfade between unrelated sounds keeps its level."""
    t = (np.arange(length) + 0.5) / max(length, 1)
    return np.cos(0.5 * np.pi * t), np.sin(0.5 * np.pi * t)


def crossfade_join(parts: list[np.ndarray], crossfade: int) -> np.ndarray:
    """Concatenate `parts`, overlapping neighbours by up to `crossfade` samples with an equal-power crossfade."""
    if not parts:
        return np.zeros(0, dtype=np.float32)
    out = np.asarray(parts[0], dtype=np.float64)
    for part in parts[1:]:
        part = np.asarray(part, dtype=np.float64)
        overlap = min(crossfade, len(out), len(part))
        if overlap == 0:
            out = np.concatenate([out, part])
            continue
        fade_out, fade_in = equal_power_curves(overlap)
        middle = out[len(out) - overlap :] * fade_out + part[:overlap] * fade_in
        out = np.concatenate([out[: len(out) - overlap], middle, part[overlap:]])
    return out.astype(np.float32)


def silence_bounds(audio: np.ndarray, sample_rate: int) -> tuple[int, int]:
    """(start, end) of the audible part of `audio`, keeping a short margin; (0, 0) when all of it is silence."""
    magnitude = np.abs(np.asarray(audio, dtype=np.float64))
    if not len(magnitude):
        return 0, 0
    peak = float(magnitude.max())
    threshold = max(peak * db_to_gain(-TRIM_BELOW_PEAK_DB), db_to_gain(TRIM_FLOOR_DBFS))
    loud = np.flatnonzero(magnitude >= threshold)
    if not len(loud):
        return 0, 0
    keep = ms_to_samples(TRIM_KEEP_MS, sample_rate)
    return max(0, int(loud[0]) - keep), min(len(magnitude), int(loud[-1]) + 1 + keep)


def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """`audio` at `to_rate` (the same array when the rates agree), so takes of models with other rates can mix:
    soxr's high-quality mode (band-limited, deterministic, fast enough to convert every take of an episode)."""
    if from_rate == to_rate or not len(audio):
        return audio
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {from_rate} and {to_rate}")
    import soxr

    return soxr.resample(np.asarray(audio, dtype=np.float32), from_rate, to_rate, quality="HQ").astype(
        np.float32, copy=False)


def read_mono(path: Path) -> tuple[np.ndarray, int]:
    """Float32 mono samples (channels averaged) and the sample rate of an audio file."""
    audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return audio.mean(axis=1).astype(np.float32), int(rate)


def write_audio(path: Path, audio: np.ndarray, sample_rate: int, *, format: str = "WAV",
                subtype: str = "FLOAT") -> None:
    """Write an audio file atomically."""
    with atomic_path(Path(path)) as temp:
        sf.write(str(temp), np.asarray(audio), sample_rate, format=format, subtype=subtype)
