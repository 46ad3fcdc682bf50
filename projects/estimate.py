"""Rough speech-length estimates from text, used for lint warnings and to split over-long lines.

Dia speaks briskly: about 15 characters of English text per second, and each non-verbal tag takes
about as long as a short word or two. The model makes about 86 audio frames per second.
"""

from __future__ import annotations

from dia_engine import FRAMES_PER_SECOND

from .tags import find_tags, strip_tags

CHARS_PER_SECOND = 15.0
SECONDS_PER_TAG = 0.8


def estimate_seconds(spoken_text: str) -> float:
    """Estimated duration in seconds of `spoken_text` (speaker tags removed, non-verbal tags allowed)."""
    words = " ".join(strip_tags(spoken_text).split())
    return len(words) / CHARS_PER_SECOND + SECONDS_PER_TAG * len(find_tags(spoken_text))


def estimate_frames(spoken_text: str) -> int:
    """Estimated number of decoder frames the model needs to say `spoken_text`."""
    return int(round(estimate_seconds(spoken_text) * FRAMES_PER_SECOND))
