"""The delay pattern: channel c of audio frame f sits at decoder position 1 + f + delay[c]."""

from __future__ import annotations

import numpy as np


def delayed_prefill(prompt: np.ndarray | None, delays: tuple[int, ...], bos: int) -> np.ndarray:
    """Decoder positions 0 .. T+max(delay)-1 for a prompt of T frames; -1 marks positions still to generate.

    Like the reference, the buffer stops one short of channel 8's last delayed prompt slot (position
    T + 15): that slot is sampled by the model. This off-by-one is part of the reference numerics.
    """
    frames = 0 if prompt is None else len(prompt)
    length = frames + max(delays)
    out = np.full((length, len(delays)), -1, dtype=np.int64)
    for c, d in enumerate(delays):
        out[: min(d + 1, length), c] = bos
        if frames:
            out[d + 1 : d + 1 + frames, c] = prompt[: max(0, length - d - 1), c]
    return out


def revert_delay(tokens: np.ndarray, start: int, length: int, delays: tuple[int, ...], num_codes: int) -> np.ndarray:
    """Frames [0, length) read back from decoder positions `start + t + delay[c]`, cleaned to valid codes.

    Values outside [0, num_codes) (EOS, PAD, BOS, never-written -1) become 0, as in the reference.
    """
    out = np.zeros((length, len(delays)), dtype=np.int64)
    t = np.arange(length)
    for c, d in enumerate(delays):
        idx = start + t + d
        ok = idx < len(tokens)
        out[ok, c] = tokens[idx[ok], c]
    out[(out < 0) | (out >= num_codes)] = 0
    return out
