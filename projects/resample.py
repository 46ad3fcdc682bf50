"""Sample-rate conversion of takes to the project's export rate, so one episode can mix models of different rates
(Dia 1.6B's 44.1 kHz, Dia2's 24 kHz). soxr's high-quality mode: band-limited, deterministic, fast enough to
convert every take of an episode each time the mix is built."""

from __future__ import annotations

import numpy as np

EXPORT_RATES = (44100, 48000)
DEFAULT_EXPORT_RATE = 44100


def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Mono float32 `audio` at `to_rate`; duration and pitch unchanged. The same input always gives the same
    output; audio already at `to_rate` is returned as it is."""
    audio = np.asarray(audio, dtype=np.float32)
    if from_rate == to_rate or not len(audio):
        return audio
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError(f"sample rates must be positive, got {from_rate} and {to_rate}")
    import soxr

    return soxr.resample(audio, from_rate, to_rate, quality="HQ").astype(np.float32, copy=False)
