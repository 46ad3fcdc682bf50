"""How much one generation can hold: the model's text length and audio length, minus the voice prompt."""

from __future__ import annotations

from dia_engine import FRAMES_PER_SECOND, text_byte_length

MAX_TEXT_BYTES = 1024  # Dia's encoder length; use engine.max_text_bytes when an engine is at hand
MAX_DECODER_FRAMES = 3072  # Dia's audio length: BOS, the voice prompt, the speech and the 15-frame delay tail
DELAY_FRAMES = 16
ESTIMATE_MARGIN = 0.8  # speech-length estimates are rough: keep a fifth of the audio budget in reserve
MIN_SPEECH_SECONDS = 3.0  # voice clips that leave less room than this for the line itself are refused
MIN_TEXT_BYTES = 8  # likewise for the text the transcripts leave


def text_budget(prompt_transcript: str, max_text_bytes: int = MAX_TEXT_BYTES) -> int:
    """Bytes left for a line's text after the voice transcript the model reads in front of it."""
    if not prompt_transcript:
        return max_text_bytes
    return max_text_bytes - text_byte_length(prompt_transcript + " ")


def seconds_budget(prompt_frames: int) -> float:
    """About how many seconds of speech fit after a voice prompt of `prompt_frames` frames."""
    free = MAX_DECODER_FRAMES - DELAY_FRAMES - 1 - prompt_frames
    return max(0.0, free / FRAMES_PER_SECOND * ESTIMATE_MARGIN)
