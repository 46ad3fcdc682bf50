"""Loudness normalisation: integrated loudness (ITU-R BS.1770-4, with pyloudnorm's K-weighting filters) to a
target, under a true-peak ceiling.

The mix gets one static gain to the target, then the true-peak limiter; limiting lowers the loudness a
little, so the static gain is corrected and the pair re-run until the measured loudness is on target.
The result is a gain curve (a static gain, times the limiter's gain where it acts) that applies to the mix
and, unchanged, to its stems.

Everything works a stretch at a time, so an hour-long mix needs little memory beyond the mix itself: the
loudness meter filters stretch by stretch (carrying the filter state), the limiter only looks where a peak
can pass the ceiling (truepeak.PeakIndex), and its gain is kept only where it is below 1.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pyloudnorm
from scipy.signal import sosfilt, sosfilt_zi

from .limiter import limiter_regions
from .truepeak import PeakIndex, interval_peaks_in

CEILING_DBTP = -1.0
CEILING_MARGIN_DB = 0.1  # aim a little under the ceiling: the final quantisation must not push a peak over
TOLERANCE_LU = 0.05
MAX_ROUNDS = 12
MAX_STEP_DB = 6.0
MIN_SLOPE = 0.1
STRETCH = 1 << 20  # samples processed at a time
BLOCK_S, BLOCK_STEP = 0.400, 0.25  # BS.1770 gating blocks: 400 ms, 75 % overlap
ABSOLUTE_GATE = -70.0


class GainCurve:
    """Per-sample gain: `static` times the limiter's gain in its (start, gain) stretches, 1 elsewhere."""

    def __init__(self, length: int, static: float, regions: list[tuple[int, np.ndarray]]) -> None:
        self.length, self.static, self.regions = length, static, regions

    def apply(self, samples: np.ndarray, start: int) -> np.ndarray:
        """`samples` (which start at sample `start`) times the gain, float64."""
        out = np.asarray(samples, dtype=np.float64) * self.static
        end = start + len(out)
        for r_start, gain in self.regions:
            lo, hi = max(start, r_start), min(end, r_start + len(gain))
            if lo < hi:
                out[lo - start : hi - start] *= gain[lo - r_start : hi - r_start]
        return out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return self.apply(np.ones(self.length), 0).astype(dtype or np.float64)

    def __len__(self) -> int:
        return self.length

    @property
    def limited_db(self) -> float:
        """Deepest gain reduction of the limiter (0 when it never acted)."""
        lowest = min((float(g.min()) for _, g in self.regions), default=1.0)
        return max(0.0, -20.0 * float(np.log10(lowest))) if lowest > 0 else 0.0


@dataclass(frozen=True)
class Normalisation:
    gain: GainCurve  # per-sample gain: static gain times limiter gain (np.asarray(gain) gives every sample)
    loudness_lufs: float | None  # measured after normalisation; None when the audio is too short or silent to measure
    true_peak_dbtp: float
    static_gain_db: float
    limited_db: float  # deepest gain reduction of the limiter (0 when it never acted)


def _k_weighting(sample_rate: int) -> tuple[np.ndarray, float]:
    """Second-order sections and overall gain of pyloudnorm's BS.1770 K-weighting filters."""
    sections, gain = [], 1.0
    for stage in pyloudnorm.Meter(sample_rate)._filters.values():
        b, a = np.asarray(stage.b, dtype=np.float64), np.asarray(stage.a, dtype=np.float64)
        sections.append(np.concatenate([b / a[0], a / a[0]]))
        gain *= stage.passband_gain
    return np.array(sections), gain


def _stretches(audio: np.ndarray) -> Iterator[np.ndarray]:
    for start in range(0, len(audio), STRETCH):
        yield audio[start : start + STRETCH]


def integrated_loudness(audio: np.ndarray | Iterable[np.ndarray], sample_rate: int,
                        length: int | None = None) -> float | None:
    """Integrated loudness in LUFS (as pyloudnorm measures it), or None for audio shorter than one 400 ms
    gating block or below the gate. `audio` may be an array or, with `length`, its stretches in order."""
    if length is None:
        length = len(audio)
        audio = _stretches(audio)
    if length < int(BLOCK_S * sample_rate) + 1:
        return None
    window = BLOCK_S * sample_rate
    blocks = int(np.round((length / sample_rate - BLOCK_S) / (BLOCK_S * BLOCK_STEP))) + 1
    j = np.arange(blocks)
    lower = np.minimum((BLOCK_S * (j * BLOCK_STEP) * sample_rate).astype(np.int64), length)
    upper = np.minimum((BLOCK_S * (j * BLOCK_STEP + 1) * sample_rate).astype(np.int64), length)
    bounds = np.unique(np.concatenate([lower, upper]))
    energy_to = np.zeros(len(bounds))  # sum of squared filtered samples before each bound
    sos, gain = _k_weighting(sample_rate)
    state = np.zeros((len(sos), 2))
    total, offset, heard = 0.0, 0, False
    for stretch in audio:
        x = np.asarray(stretch, dtype=np.float64)
        if not len(x):
            continue
        heard = heard or bool(np.any(x))
        if offset == 0:
            state = sosfilt_zi(sos) * 0.0  # lfilter starts from rest, like pyloudnorm
        y, state = sosfilt(sos, x, zi=state)
        running = np.cumsum(np.square(y * gain))
        inside = (bounds > offset) & (bounds <= offset + len(x))
        energy_to[inside] = total + running[bounds[inside] - offset - 1]
        total += float(running[-1])
        offset += len(x)
    if not heard:
        return None
    position = {int(b): i for i, b in enumerate(bounds)}
    z = (energy_to[[position[int(u)] for u in upper]] - energy_to[[position[int(v)] for v in lower]]) / window
    with np.errstate(divide="ignore"):
        block_loudness = -0.691 + 10.0 * np.log10(z)
    above = block_loudness >= ABSOLUTE_GATE
    if not np.any(above):
        return None
    relative = -0.691 + 10.0 * np.log10(np.mean(z[above])) - 10.0
    gated = (block_loudness > relative) & (block_loudness > ABSOLUTE_GATE)
    if not np.any(gated):
        return None
    value = float(-0.691 + 10.0 * np.log10(np.mean(z[gated])))
    return value if np.isfinite(value) else None


def _loudness_with(audio: np.ndarray, sample_rate: int, curve: GainCurve) -> float | None:
    chunks = (curve.apply(audio[s : s + STRETCH], s) for s in range(0, len(audio), STRETCH))
    return integrated_loudness(chunks, sample_rate, length=len(audio))


def _true_peak_db(audio: np.ndarray, index: PeakIndex, curve: GainCurve) -> float:
    """True peak of `audio * curve`: scaled from the index where the gain is static, measured where it moves."""
    peak = 0.0
    covered = np.zeros(len(index.block_max), dtype=bool)
    block = PeakIndex.BLOCK_PEAKS
    for start, gain in curve.regions:  # whole index blocks, so the rest can be taken from the index
        lo = max(0, start - 1) // block * block
        hi = min(len(audio), -(-(start + len(gain) + 1) // block) * block)
        context = 4096
        a, b = max(0, lo - context), min(len(audio), hi + context)
        shaped = curve.apply(audio[a:b], a)
        peaks = interval_peaks_in(shaped, lo - a, hi - a)
        peak = max(peak, float(peaks.max()) if len(peaks) else 0.0)
        covered[lo // block : -(-hi // block)] = True
    rest = index.block_max[~covered]
    if len(rest):
        peak = max(peak, float(rest.max()) * curve.static)
    return float(20 * np.log10(peak)) if peak > 0 else float("-inf")


def normalise(audio: np.ndarray, sample_rate: int, target_lufs: float,
              ceiling_dbtp: float = CEILING_DBTP) -> Normalisation:
    """Gain curve taking `audio` to `target_lufs` with its true peak at or under `ceiling_dbtp`."""
    x = np.asarray(audio)
    if x.dtype not in (np.float32, np.float64):
        x = x.astype(np.float64)
    ceiling = ceiling_dbtp - CEILING_MARGIN_DB
    measured = integrated_loudness(x, sample_rate)
    index = PeakIndex(x)  # measured once: at any static gain the peaks simply scale

    def curve_at(static_db: float) -> GainCurve:
        scale = 10.0 ** (static_db / 20.0)
        return GainCurve(len(x), scale, limiter_regions(x, sample_rate, ceiling, scale, index))

    if measured is None:  # nothing to measure: only keep peaks under the ceiling
        curve = curve_at(0.0)
        return Normalisation(curve, None, _true_peak_db(x, index, curve), 0.0, curve.limited_db)
    next_db = target_lufs - measured
    previous: tuple[float, float] | None = None
    for _ in range(MAX_ROUNDS):
        static_db = next_db
        curve = curve_at(static_db)
        # Without limiting, loudness scales exactly with the gain: no need to measure again.
        loudness = measured + static_db if not curve.regions else _loudness_with(x, sample_rate, curve)
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
    return Normalisation(curve, loudness, _true_peak_db(x, index, curve), static_db, curve.limited_db)
