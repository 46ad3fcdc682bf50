"""Tempo change without pitch change (WSOLA), for the OpenAI `speed` parameter.

Resampling or interpolating the waveform would change the pitch along with the tempo. WSOLA instead cuts
the signal into overlapping windowed frames, takes them from the input at `speed` times the output hop,
and shifts each frame by up to a few milliseconds to where it best continues the previous one, so
periods line up and the overlap-add does not smear the voice.
"""

from __future__ import annotations

import numpy as np

MIN_SPEED = 0.25
MAX_SPEED = 4.0
FRAME_SECONDS = 0.030  # long enough to hold a few pitch periods of a low voice (~80 Hz)
TOLERANCE_SECONDS = 0.008  # how far a frame may move to line up with the previous one


def change_tempo(audio: np.ndarray, sample_rate: int, speed: float) -> np.ndarray:
    """Play `audio` `speed` times faster (0.25-4.0) at the same pitch; the result has len/speed samples."""
    if not (MIN_SPEED <= speed <= MAX_SPEED):
        raise ValueError(f"speed must be between {MIN_SPEED} and {MAX_SPEED}, got {speed}")
    x = np.asarray(audio, dtype=np.float32).reshape(-1)
    out_len = int(round(len(x) / speed))
    if speed == 1.0 or len(x) == 0:
        return x.copy()

    frame = 2 * max(8, int(sample_rate * FRAME_SECONDS) // 2)
    hop = frame // 2  # synthesis hop; a periodic Hann window at 50 % overlap sums to exactly 1
    tol = max(1, int(sample_rate * TOLERANCE_SECONDS))
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(frame) / frame)).astype(np.float32)

    # Pad so every frame and search region lies inside the signal: tol in front, a frame and more behind.
    padded = np.concatenate([np.zeros(tol + hop, np.float32), x, np.zeros(frame + tol + hop + 2, np.float32)])
    n_frames = out_len // hop + 2
    out = np.zeros(n_frames * hop + frame, np.float32)
    fft_size = 1 << int(np.ceil(np.log2(frame + 2 * tol + frame)))

    position = tol  # start of the chosen input frame in `padded`; frame k is centred near k*hop*speed
    for k in range(n_frames):
        if k > 0:
            nominal = tol + int(round(k * hop * speed))
            # The natural continuation of the previous frame is what the next frame should resemble.
            continuation = padded[position + hop:position + hop + frame]
            region = padded[nominal - tol:nominal + tol + frame]
            position = nominal - tol + _best_offset(region, continuation, 2 * tol + 1, fft_size)
        out[k * hop:k * hop + frame] += padded[position:position + frame] * window
    # Output sample 0 corresponds to input sample -hop (the first frame starts half a frame early).
    return out[hop:hop + out_len]


def _best_offset(region: np.ndarray, target: np.ndarray, n_offsets: int, fft_size: int) -> int:
    """Offset in `region` where `target` correlates best (cross-correlation via FFT)."""
    spectrum = np.fft.rfft(region, fft_size) * np.conj(np.fft.rfft(target, fft_size))
    correlation = np.fft.irfft(spectrum, fft_size)[:n_offsets]
    return int(np.argmax(correlation))
