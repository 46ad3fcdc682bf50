"""Text to byte tokens, exactly as the reference does it: UTF-8 bytes, `[S1]`->1, `[S2]`->2, 0 = padding."""

from __future__ import annotations

import numpy as np

SPEAKER_TOKENS = {b"[S1]": b"\x01", b"[S2]": b"\x02"}


def encode_text(text: str) -> np.ndarray:
    """Byte tokens of `text` (no padding). NUL characters are dropped: byte 0 means padding to the model."""
    data = text.replace("\x00", "").encode("utf-8")
    for tag, token in SPEAKER_TOKENS.items():  # case-sensitive, like the reference
        data = data.replace(tag, token)
    return np.frombuffer(data, dtype=np.uint8).astype(np.int64)


def text_byte_length(text: str) -> int:
    """How many tokens the encoder sees for `text`; must not exceed the model's text length (1024)."""
    return int(encode_text(text).shape[0])
