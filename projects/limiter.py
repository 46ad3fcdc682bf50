"""A look-ahead true-peak limiter that returns a smooth gain curve instead of clipping.

The gain each sample needs (ceiling / true peak of the intervals it touches) goes through a forward
minimum (the look-ahead: gain starts falling before a peak arrives), a backward minimum (hold: it stays down
a while after), then two moving averages (smooth S-shaped attack and release). Because the look-ahead window
spans both averages, the smoothed gain never exceeds the needed gain at any sample. A gain that moves
reshapes the waveform between samples a little, so the limited regions are measured again and corrected
if needed. Everything is vectorised (numpy). The gain curve is returned so stems get exactly the mix's
treatment.
"""

from __future__ import annotations

import numpy as np

from .truepeak import CONTEXT, interval_peaks, interval_peaks_in

ATTACK_MS = 4.0  # each of the two smoothing stages; the look-ahead is their sum
HOLD_MS = 40.0  # short dips between syllables do not pump the gain back up
MAX_PASSES = 6
REGION_MARGIN = 256  # samples around a limited region whose peaks are measured again


def _window_min(values: np.ndarray, window: int, forward: bool) -> np.ndarray:
    """min(values[n : n + window]) (forward) or min(values[n - window + 1 : n + 1]); ones beyond the edges."""
    if window <= 1:
        return values.copy()
    ones = np.ones(window - 1)
    padded = np.concatenate([values, ones]) if forward else np.concatenate([ones, values])
    # Minima over windows of doubling width w (m[i] = min(padded[i : i + w])) in log2(window) passes...
    m, width = padded, 1
    while 2 * width <= window:
        m = np.minimum(m[:-width], m[width:])
        width *= 2
    # ...then the window is covered by two overlapping windows of width w.
    rest = window - width
    result = np.minimum(m[: len(m) - rest], m[rest:]) if rest else m
    return result[: len(values)]


def _moving_average(values: np.ndarray, window: int) -> np.ndarray:
    """mean(values[n - window + 1 : n + 1]), the first value repeated before the start.

    (Repeating the first value, not 1, keeps the start as limited as the samples it looks ahead to.)"""
    if window <= 1:
        return values.copy()
    padded = np.concatenate([np.full(window - 1, values[0]), values])
    sums = np.cumsum(np.concatenate([[0.0], padded]))
    return (sums[window:] - sums[:-window]) / window


def _gain_for(peaks: np.ndarray, length: int, sample_rate: int, ceiling: float) -> np.ndarray:
    """Smooth gain per sample keeping every interval peak (times the gain) at or under `ceiling`."""
    interval_need = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))
    need = np.ones(length)  # a sample needs the lower gain of the two intervals it bounds
    need[: len(interval_need)] = interval_need
    need[1 : len(interval_need) + 1] = np.minimum(need[1 : len(interval_need) + 1], interval_need)
    if need.min() >= 1.0:
        return need
    stage = max(1, int(round(ATTACK_MS * sample_rate / 1000)))
    hold = max(1, int(round(HOLD_MS * sample_rate / 1000)))
    gain = _window_min(need, 2 * stage - 1, forward=True)
    gain = _window_min(gain, hold, forward=False)
    gain = _moving_average(_moving_average(gain, stage), stage)
    return np.minimum(gain, 1.0)


def _limited_regions(gain: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) spans where the gain is below 1, widened by REGION_MARGIN and merged."""
    acting = np.flatnonzero(gain < 1.0)
    if not len(acting):
        return []
    breaks = np.flatnonzero(np.diff(acting) > 2 * (REGION_MARGIN + CONTEXT))
    starts = np.concatenate([[acting[0]], acting[breaks + 1]])
    ends = np.concatenate([acting[breaks], [acting[-1]]]) + 1
    return [(max(0, s - REGION_MARGIN), min(len(gain), e + REGION_MARGIN)) for s, e in zip(starts, ends)]


def _remeasure(limited: np.ndarray, peaks: np.ndarray, gain: np.ndarray) -> np.ndarray:
    """Interval peaks of `limited` = audio * gain: measured again where the gain acts, scaled elsewhere."""
    result = peaks * np.minimum(gain[:-1], gain[1:]) if len(peaks) == len(gain) - 1 else peaks.copy()
    for start, end in _limited_regions(gain):
        lo, hi = max(0, start - CONTEXT), min(len(limited), end + CONTEXT)
        local = interval_peaks(limited[lo:hi])
        result[start : min(end, len(result))] = local[start - lo : start - lo + min(end, len(result)) - start]
    return result


def limiter_gain(audio: np.ndarray, sample_rate: int, ceiling_db: float,
                 peaks: np.ndarray | None = None) -> np.ndarray:
    """Gain (<= 1) per sample such that `audio * gain` stays at or under `ceiling_db` dBTP.

    `peaks` are `interval_peaks(audio)` when the caller already has them (normalising re-limits the same
    audio at several gains: the peaks simply scale)."""
    x = np.asarray(audio, dtype=np.float64)
    if not len(x):
        return np.ones(0)
    ceiling = 10.0 ** (ceiling_db / 20.0)
    peaks = interval_peaks(x) if peaks is None else peaks
    gain = _gain_for(peaks, len(x), sample_rate, ceiling)
    for _ in range(MAX_PASSES):
        if gain.min() >= 1.0:
            break
        step = _gain_for(_remeasure(x * gain, peaks, gain), len(x), sample_rate, ceiling)
        if step.min() >= 1.0:
            break
        gain *= step
    return gain


def limiter_regions(audio: np.ndarray, sample_rate: int, ceiling_db: float, scale: float,
                    index) -> list[tuple[int, np.ndarray]]:
    """The limiter gain of `audio * scale` as (start, gain) stretches where it is below 1 (1 everywhere else).

    For long mixes: only the neighbourhood of blocks whose peak (from `index`, a truepeak.PeakIndex) passes the
    ceiling is looked at, with margins wider than every window of the limiter, so each stretch gets the gain
    the whole-signal limiter would give it."""
    ceiling = 10.0 ** (ceiling_db / 20.0)
    n = len(audio)
    stage = max(1, int(round(ATTACK_MS * sample_rate / 1000)))
    hold = max(1, int(round(HOLD_MS * sample_rate / 1000)))
    margin = 4 * stage + hold + REGION_MARGIN + 2 * CONTEXT
    spans = index.hot_spans(ceiling / scale)
    merged: list[list[int]] = []
    for a, b in spans:
        if merged and a - merged[-1][1] <= 2 * margin:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    regions = []
    for a, b in merged:
        lo, hi = max(0, a - margin), min(n, b + margin)
        local = np.asarray(audio[lo:hi], dtype=np.float64) * scale
        peaks = interval_peaks_in(audio, lo, hi)[: len(local) - 1] * scale
        gain = limiter_gain(local, sample_rate, ceiling_db, peaks=peaks)
        acting = np.flatnonzero(gain < 1.0)
        if len(acting):
            regions.append((lo + int(acting[0]), gain[acting[0] : acting[-1] + 1].copy()))
    return regions
