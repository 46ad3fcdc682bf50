"""The fingerprint of what a take is made from: the line's model text, the voices and the sampling parameters.

The seed is not part of it: a take made with any seed from the same inputs is up to date. The model id is
recorded on each take but not fingerprinted, so moving a project between machines does not make it stale.
"""

from __future__ import annotations

import hashlib
import json

from .model import Sampling

FINGERPRINT_VERSION = 1


def line_fingerprint(model_text: str, voices: str, sampling: Sampling) -> str:
    payload = {"v": FINGERPRINT_VERSION, "text": model_text, "voices": voices, "sampling": sampling.model_dump()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode("utf-8")).hexdigest()[:24]
