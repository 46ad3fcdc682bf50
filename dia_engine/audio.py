"""Reading reference clips: any format libsndfile reads, mixed to mono, resampled to 44.1 kHz."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from .errors import AudioInputError
from .types import SAMPLE_RATE

log = logging.getLogger(__name__)

LONG_CLIP_SECONDS = 15.0  # Dia's guidance: 5-10 s prompts; longer ones eat the length budget
MAX_CLIP_SECONDS = 20.0
SILENCE_PEAK = 1e-4


def read_clip(audio: str | Path | np.ndarray, sample_rate: int | None = None, target_rate: int = SAMPLE_RATE
              ) -> np.ndarray:
    """Mono float32 at `target_rate` (Dia 1.6B's 44.1 kHz unless told), trimmed to MAX_CLIP_SECONDS.
    Raises AudioInputError naming the problem."""
    if isinstance(audio, (str, Path)):
        import soundfile as sf

        path = Path(audio)
        if not path.is_file():
            raise AudioInputError(f"voice clip not found: {path}")
        try:
            data, sample_rate = sf.read(str(path), dtype="float32", always_2d=True)
        except Exception as exc:  # libsndfile reports every unreadable file as a RuntimeError/LibsndfileError
            raise AudioInputError(f"cannot read voice clip {path.name}: {exc}") from None
        name = path.name
    else:
        if sample_rate is None:
            raise AudioInputError("sample_rate is required when the voice clip is given as an array")
        data = np.asarray(audio, dtype=np.float32)
        if data.ndim == 1:
            data = data[:, None]
        elif data.ndim == 2 and data.shape[0] < data.shape[1] and data.shape[0] <= 8:
            data = data.T  # channels-first input
        elif data.ndim != 2:
            raise AudioInputError(f"voice clip array must be 1-D or 2-D, got shape {list(data.shape)}")
        name = "voice clip"
    if sample_rate is None or sample_rate <= 0:
        raise AudioInputError(f"{name}: invalid sample rate {sample_rate}")
    if data.size == 0 or data.shape[0] == 0:
        raise AudioInputError(f"{name} is empty")
    if not np.all(np.isfinite(data)):
        raise AudioInputError(f"{name} contains invalid samples (NaN or infinity)")
    mono = data.mean(axis=1).astype(np.float32)
    if np.max(np.abs(mono)) < SILENCE_PEAK:
        raise AudioInputError(f"{name} is silent")
    if sample_rate != target_rate:
        mono = resample(mono, int(sample_rate), target_rate)
    seconds = len(mono) / target_rate
    if seconds > LONG_CLIP_SECONDS:
        log.warning("%s is %.1f s long; Dia works best with 5-10 s prompts (using the first %.0f s at most)",
                    name, seconds, MAX_CLIP_SECONDS)
        mono = mono[: int(MAX_CLIP_SECONDS * target_rate)]
    return np.ascontiguousarray(mono, dtype=np.float32)


def resample(audio: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    import torch
    import torchaudio.functional as AF

    return AF.resample(torch.from_numpy(np.ascontiguousarray(audio)), src_rate, dst_rate).numpy()
