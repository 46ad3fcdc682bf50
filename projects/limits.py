"""How much one generation can hold, from the model's own description (`dia_engine.ModelInfo`): its text limit
(bytes for Dia 1.6B, tokens for Dia2) and its longest generation, minus what the voice prompt takes."""

from __future__ import annotations

from dia_engine import ModelInfo

ESTIMATE_MARGIN = 0.8  # speech-length estimates are rough: keep a fifth of the audio budget in reserve
MIN_SPEECH_SECONDS = 3.0  # voice clips that leave less room than this for the line itself are refused
MIN_TEXT_UNITS = 8  # likewise for the text (bytes or tokens) the transcripts leave


def text_budget(info: ModelInfo, prompt_transcript: str = "") -> int:
    """Text left for a line (in `info.text_unit`) after the voice transcript the model reads in front of it."""
    if not prompt_transcript:
        return info.text_limit
    return info.text_limit - info.measure_text(prompt_transcript + " ")


def seconds_budget(info: ModelInfo, prompt_frames: int = 0) -> float:
    """About how many seconds of speech fit after a voice prompt of `prompt_frames` frames."""
    free = info.max_frames - prompt_frames
    return max(0.0, free / info.frames_per_second * ESTIMATE_MARGIN)


def prompt_frames(info: ModelInfo, clip_seconds: float) -> int:
    """Frames a voice prompt of `clip_seconds` takes of the model's generation."""
    return round(clip_seconds * info.frames_per_second)
