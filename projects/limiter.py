"""A look-ahead true-peak limiter that returns a smooth gain curve instead of clipping.

The gain each sample needs (ceiling / true peak of the intervals it touches) goes through a forward
minimum (the look-ahead: gain starts falling before a peak arrives), a backward minimum (hold: it stays down
a while after), then two moving averages (smooth S-shaped attack and release). Because the look-ahead window
spans both averages, the smoothed gain never exceeds the needed gain at any sample. Everything is vectorised
(numpy), so a long episode limits in seconds. The gain curve is returned so stems can get exactly the same
treatment as the mix.
"""

from __future__ import annotations

import numpy as np

from .truepeak import interval_peaks

ATTACK_MS = 4.0  # each of the two smoothing stages; the look-ahead is their sum
HOLD_MS = 60.0  # short dips between syllables do not pump the gain back up
MAX_PASSES = 6


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


def _one_pass(x: np.ndarray, sample_rate: int, ceiling: float) -> np.ndarray:
    peaks = interval_peaks(x)
    interval_need = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))
    # A sample needs the lower of the gains of the two intervals it bounds.
    need = np.ones(len(x))
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


def limiter_gain(audio: np.ndarray, sample_rate: int, ceiling_db: float) -> np.ndarray:
    """Gain (<= 1) per sample such that `audio * gain` stays at or under `ceiling_db` dBTP.

    A fast-moving gain slightly reshapes the waveform between samples, so after deep limiting the result
    can peak a little over; a further pass on the limited signal catches that (rarely more than one)."""
    x = np.asarray(audio, dtype=np.float64)
    gain = np.ones(len(x))
    if not len(x):
        return gain
    ceiling = 10.0 ** (ceiling_db / 20.0)
    for _ in range(MAX_PASSES):
        step = _one_pass(x * gain, sample_rate, ceiling)
        if step.min() >= 1.0:
            break
        gain *= step
    return gain
