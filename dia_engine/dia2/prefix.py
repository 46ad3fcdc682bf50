"""Voice prefixes: one or two clips (speaker 1, optionally speaker 2) turned into the reference's warm-up plan.

Per clip, the timed words become entries (`script.words_to_entries`); speaker 1's planned new-word steps get
+3 (the reference's BOS/PAD offset) and speaker 2's are offset by speaker 1's frame count, without the +3.
The clips' codes are concatenated (P frames). During warm-up (steps 0..P-1) the state machine is forced:
new word at the planned steps, pad elsewhere.

Clips without word timings get approximate ones (`approximate_words`): speech is taken to run from the first
to the last 80 ms frame whose energy passes 10% of the loudest frame's, and the words are spread over it in
proportion to their length, each at least its tokens + 1 frames after the previous one (the spacing the state
machine needs to consume every word during the warm-up). Good enough for a voice; a transcriber with real
timings does better.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..types import VoiceClip, VoicePrompt
from .script import Entry, words_to_entries
from .tokenizer import Dia2Tokenizer

SPEAKER_1_OFFSET = 3
ENERGY_THRESHOLD = 0.1  # of the loudest frame's RMS


@dataclass(frozen=True)
class PrefixPlan:
    entries: list[Entry]
    new_word_steps: frozenset[int]
    codes: np.ndarray  # int64 [P, N] aligned (no delay)

    @property
    def frames(self) -> int:
        return int(len(self.codes))


def plan_prefix(prompt: VoicePrompt, tokenizer: Dia2Tokenizer, frame_rate: float) -> PrefixPlan:
    entries: list[Entry] = []
    steps: list[int] = []
    offset = SPEAKER_1_OFFSET
    for clip, tag in zip(prompt.clips, ("[S1]", "[S2]")):
        words = clip.words or approximate_words(clip.transcript, clip.num_frames / frame_rate, tokenizer, frame_rate)
        clip_entries, clip_steps = words_to_entries(words, tokenizer, tag, frame_rate)
        entries += clip_entries
        steps += [s + offset for s in clip_steps]
        offset = clip.num_frames  # speaker 2: offset by speaker 1's frames, without the +3
    codes = np.concatenate([c.codes for c in prompt.clips])
    return PrefixPlan(entries, frozenset(steps), codes)


def speech_span(audio: np.ndarray, sample_rate: int, frame_rate: float) -> tuple[float, float]:
    """(start s, end s) of the frames whose RMS passes ENERGY_THRESHOLD of the loudest frame's."""
    hop = max(1, int(round(sample_rate / frame_rate)))
    frames = len(audio) // hop + (len(audio) % hop > 0)
    padded = np.zeros(frames * hop, dtype=np.float64)
    padded[: len(audio)] = audio
    rms = np.sqrt((padded.reshape(frames, hop) ** 2).mean(axis=1))
    loud = np.flatnonzero(rms >= ENERGY_THRESHOLD * rms.max()) if rms.max() > 0 else np.arange(frames)
    return float(loud[0] / frame_rate), float((loud[-1] + 1) / frame_rate)


def approximate_words(transcript: str, seconds: float, tokenizer: Dia2Tokenizer, frame_rate: float,
                      span: tuple[float, float] | None = None) -> tuple[tuple[str, float, float], ...]:
    """Word timings spread over `span` (default: the whole clip) by word length, minimally spaced."""
    words = transcript.split()
    if not words:
        return ()
    start, end = span or (0.0, seconds)
    weights = np.array([len(w) + 1 for w in words], dtype=np.float64)
    bounds = start + (end - start) * np.concatenate([[0.0], np.cumsum(weights) / weights.sum()])
    out, earliest = [], 0.0
    for i, word in enumerate(words):
        tokens = len(tokenizer.encode(f"[S1] {word}" if i == 0 else word))
        begin = max(float(bounds[i]), earliest)
        finish = max(float(bounds[i + 1]), begin + tokens / frame_rate)
        out.append((word, round(begin, 3), round(finish, 3)))
        earliest = begin + (tokens + 1) / frame_rate
    return tuple(out)


def clip_with_words(transcript: str, codes: np.ndarray, words, audio: np.ndarray | None, sample_rate: int,
                    tokenizer: Dia2Tokenizer, frame_rate: float) -> VoiceClip:
    """A VoiceClip with the given timings, or approximate ones from the audio's energy."""
    if words:
        return VoiceClip(transcript.strip(), codes, tuple(words))
    seconds = len(codes) / frame_rate
    span = speech_span(audio, sample_rate, frame_rate) if audio is not None else None
    return VoiceClip(transcript.strip(), codes, approximate_words(transcript, seconds, tokenizer, frame_rate, span),
                     approximate=True)
