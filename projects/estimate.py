"""Speech-length estimates from text, used for lint warnings, the editor's gutter and to split over-long lines.

The one speaking rate is the family's own (`ModelInfo.speech_chars_per_second`: characters of text per second of
speech, calibrated per family in `dia_engine`); each non-verbal tag takes about as long as a short word or two.
"""

from __future__ import annotations

from dia_engine import ModelInfo

from .tags import find_tags, strip_tags

SECONDS_PER_TAG = 0.8


def estimate_seconds(spoken_text: str, info: ModelInfo) -> float:
    """Estimated duration in seconds of `spoken_text` (speaker tags removed, non-verbal tags allowed)."""
    words = " ".join(strip_tags(spoken_text).split())
    return len(words) / info.speech_chars_per_second + SECONDS_PER_TAG * len(find_tags(spoken_text))


def estimate_frames(spoken_text: str, info: ModelInfo) -> int:
    """Estimated number of frames (decoder steps) the model needs to say `spoken_text`."""
    return int(round(estimate_seconds(spoken_text, info) * info.frames_per_second))
