"""Loudness normalisation: integrated loudness (ITU-R BS.1770-4, via pyloudnorm) to a target, under a true-peak ceiling.

The mix gets one static gain to the target, then the true-peak limiter; limiting lowers the loudness a
little, so the static gain is corrected and the pair re-run until the measured loudness is on target.
The result is a gain curve that applies to the mix and, unchanged, to its stems.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyloudnorm

from .limiter import limiter_gain
from .truepeak import interval_peaks, true_peak_db

CEILING_DBTP = -1.0
CEILING_MARGIN_DB = 0.1  # aim a little under the ceiling: the final quantisation must not push a peak over
TOLERANCE_LU = 0.05
MAX_ROUNDS = 12
MAX_STEP_DB = 6.0
MIN_SLOPE = 0.1


@dataclass(frozen=True)
class Normalisation:
    gain: np.ndarray  # per-sample gain: static gain times limiter gain
    loudness_lufs: float | None  # measured after normalisation; None when the audio is too short or silent to measure
    true_peak_dbtp: float
    static_gain_db: float
    limited_db: float  # deepest gain reduction of the limiter (0 when it never acted)


def integrated_loudness(audio: np.ndarray, sample_rate: int) -> float | None:
    """Integrated loudness in LUFS, or None for audio shorter than one 400 ms gating block or below the gate."""
    x = np.asarray(audio, dtype=np.float64)
    if len(x) < int(0.4 * sample_rate) + 1 or not np.any(x):
        return None
    value = float(pyloudnorm.Meter(sample_rate).integrated_loudness(x))
    return value if np.isfinite(value) else None


def normalise(audio: np.ndarray, sample_rate: int, target_lufs: float,
              ceiling_dbtp: float = CEILING_DBTP) -> Normalisation:
    """Gain curve taking `audio` to `target_lufs` with its true peak at or under `ceiling_dbtp`."""
    x = np.asarray(audio, dtype=np.float64)
    ceiling = ceiling_dbtp - CEILING_MARGIN_DB
    measured = integrated_loudness(x, sample_rate)
    if measured is None:  # nothing to measure: only keep peaks under the ceiling
        gain = limiter_gain(x, sample_rate, ceiling)
        return Normalisation(gain, None, true_peak_db(x * gain), 0.0, _depth(gain))
    peaks = interval_peaks(x)  # measured once: at any static gain they simply scale
    next_db = target_lufs - measured
    previous: tuple[float, float] | None = None
    for _ in range(MAX_ROUNDS):
        static_db = next_db
        scale = 10.0 ** (static_db / 20.0)
        scaled = x * scale
        limiter = limiter_gain(scaled, sample_rate, ceiling, peaks=peaks * scale)
        loudness = integrated_loudness(scaled * limiter, sample_rate)
        if loudness is None or abs(loudness - target_lufs) <= TOLERANCE_LU:
            break
        # Secant step: under heavy limiting a dB of gain buys less than a dB of loudness.
        slope = 1.0
        if previous is not None and static_db != previous[0]:
            slope = min(1.0, (loudness - previous[1]) / (static_db - previous[0]))
            if slope < MIN_SLOPE:  # the limiter eats the gain: the target cannot be reached under the ceiling
                break
        previous = (static_db, loudness)
        next_db = static_db + float(np.clip((target_lufs - loudness) / slope, -MAX_STEP_DB, MAX_STEP_DB))
    gain = 10.0 ** (static_db / 20.0) * limiter
    return Normalisation(gain, loudness, true_peak_db(x * gain), static_db, _depth(limiter))


def _depth(limiter: np.ndarray) -> float:
    return max(0.0, float(-20 * np.log10(limiter.min()))) if len(limiter) and limiter.min() > 0 else 0.0
