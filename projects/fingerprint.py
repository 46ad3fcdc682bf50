"""The fingerprint of what a take is made from: the line's model text, the voices, the sampling parameters, and
the model and precision (dtype) that generated it.

The seed is not part of it: a take made with any seed from the same inputs is up to date. Device and kernel
path are recorded on each take but not fingerprinted: they decide the last bits, not what the take says, and
moving a project to another machine must not make every line stale.
"""

from __future__ import annotations

import hashlib
import json

from .model import ModelKey, Sampling

FINGERPRINT_VERSION = 2  # 2: model id and dtype joined the fingerprint


def line_fingerprint(model_text: str, voices: str, sampling: Sampling, model: ModelKey | None = None) -> str:
    payload = {"v": FINGERPRINT_VERSION, "text": model_text, "voices": voices, "sampling": sampling.model_dump(),
               "model": model.model_dump() if model is not None else None}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()[:24]
