"""The check of a take against its script line: words (missing, extra, wrong), speaking rate, silences, clipping.

Pure: it compares what the recogniser heard (text) and the take's samples with the line's spoken text, so it is
tested without a model. Words are compared normalised (`dia_engine.normalise_words`: tags and punctuation
removed, numbers as digits). The speaking rate is words per second of speech (leading and trailing silence
excluded), compared with the voice's own rate, measured the same way on the speaker's reference clip.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from dia_engine import align_words, normalise_words

DEFAULT_WORDS_PER_SECOND = 2.8  # conversational English, when a speaker has no reference clip
FRAME_SECONDS = 0.02
PAUSE_SECONDS = 0.25  # a silence this long is a pause, not a gap between syllables
MIN_WORDS_FOR_RATE = 4  # a rate from fewer words (or under a second of speech) says nothing
MAX_LISTED_WORDS = 3


@dataclass(frozen=True)
class CheckThresholds:
    """When a take fails. Settings: the editor and `render` can change each; these are the defaults."""

    max_word_error_rate: float = 0.25
    max_missing_words: int = 0
    max_extra_words: int = 2
    min_rate_ratio: float = 0.65  # words per second against the voice's own rate
    max_rate_ratio: float = 1.5
    max_leading_silence: float = 1.0  # seconds
    max_trailing_silence: float = 2.0
    max_pause: float = 1.5  # longest silence inside the take
    max_clipped_fraction: float = 0.001  # share of samples in runs at full scale

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> CheckThresholds:
        known = {name: type(getattr(cls(), name))(value) for name, value in data.items() if hasattr(cls(), name)}
        return cls(**known)


@dataclass(frozen=True)
class SilenceProfile:
    leading: float  # seconds before the first sound
    trailing: float  # seconds after the last sound
    longest_pause: float  # longest silence between two sounds
    speech_seconds: float  # from the first sound to the last, less the pauses (silences of 0.25 s or more)


@dataclass(frozen=True)
class TakeCheck:
    expected: tuple[str, ...]  # the line's words, normalised
    heard: tuple[str, ...]  # what the recogniser heard, normalised
    word_error_rate: float
    missing: tuple[str, ...]
    extra: tuple[str, ...]
    wrong: tuple[tuple[str, str], ...]  # (written, heard)
    words_per_second: float | None
    voice_words_per_second: float
    silence: SilenceProfile
    clipped_fraction: float
    problems: tuple[str, ...]  # each failed threshold, in words

    @property
    def passed(self) -> bool:
        return not self.problems

    @property
    def verdict(self) -> str:
        """What the inspector shows: "ok", or the problems, e.g. "2 words missing: 'really', 'big'"."""
        return "; ".join(self.problems) if self.problems else "ok"

    @property
    def rate_ratio(self) -> float | None:
        return None if self.words_per_second is None else self.words_per_second / self.voice_words_per_second

    @property
    def badness(self) -> float:
        """Lower is better: failed checks first, then word errors, then distance from the voice's rate."""
        rate = abs(math.log(self.rate_ratio)) if self.rate_ratio else 0.0
        return 10.0 * len(self.problems) + self.word_error_rate + 0.1 * rate


def measure_silence(audio: np.ndarray, sample_rate: int, *, floor_db: float = -50.0,
                    below_peak_db: float = 35.0) -> SilenceProfile:
    """Silences from 20 ms frames: a frame is silent below -50 dBFS or 35 dB under the loudest frame."""
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    frame = max(1, int(round(FRAME_SECONDS * sample_rate)))
    count = len(audio) // frame
    duration = len(audio) / sample_rate
    if count == 0:
        return SilenceProfile(duration, 0.0, 0.0, 0.0)
    frames = audio[: count * frame].reshape(count, frame).astype(np.float64)
    level = 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    sound = level > max(floor_db, float(level.max()) - below_peak_db)
    if not sound.any():
        return SilenceProfile(duration, 0.0, 0.0, 0.0)
    first, last = int(np.argmax(sound)), int(count - 1 - np.argmax(sound[::-1]))
    seconds = frame / sample_rate
    inside = np.concatenate(([1], sound[first : last + 1].astype(np.int8), [1]))
    edges = np.flatnonzero(np.diff(inside))
    pauses = (edges[1::2] - edges[0::2]) * seconds  # lengths of the silent runs between sounds
    paused = float(pauses[pauses >= PAUSE_SECONDS].sum())
    leading = first * seconds
    trailing = duration - (last + 1) * seconds
    return SilenceProfile(round(leading, 3), round(trailing, 3), round(float(pauses.max(initial=0.0)), 3),
                          round((last + 1 - first) * seconds - paused, 3))


def clipped_fraction(audio: np.ndarray, *, level: float = 0.999, min_run: int = 3) -> float:
    """Share of samples in runs of at least `min_run` consecutive samples at full scale (flat-topped waves)."""
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    if len(audio) == 0:
        return 0.0
    hot = np.concatenate(([0], (np.abs(audio) >= level).astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(hot))
    runs = edges[1::2] - edges[0::2]
    return float(runs[runs >= min_run].sum()) / len(audio)


def speaking_rate(word_count: int, speech_seconds: float) -> float | None:
    if word_count < MIN_WORDS_FOR_RATE or speech_seconds < 1.0:
        return None
    return word_count / speech_seconds


def voice_rate(transcript: str, audio: np.ndarray, sample_rate: int) -> float | None:
    """Words per second in a speaker's reference clip (its typed transcript over its speech)."""
    return speaking_rate(len(normalise_words(transcript)), measure_silence(audio, sample_rate).speech_seconds)


def check_take(spoken_text: str, heard_text: str, audio: np.ndarray, sample_rate: int, *,
               voice_words_per_second: float | None = None,
               thresholds: CheckThresholds = CheckThresholds()) -> TakeCheck:
    """Compare a take (its samples and what was heard in it) with the words it should say."""
    expected, heard = normalise_words(spoken_text), normalise_words(heard_text)
    missing, extra, wrong = [], [], []
    for pair in align_words(expected, heard):
        if pair.op == "delete":
            missing.append(expected[pair.ref])
        elif pair.op == "insert":
            extra.append(heard[pair.hyp])
        elif pair.op == "substitute":
            wrong.append((expected[pair.ref], heard[pair.hyp]))
    errors = len(missing) + len(extra) + len(wrong)
    wer = errors / len(expected) if expected else (1.0 if heard else 0.0)
    silence = measure_silence(audio, sample_rate)
    clipped = clipped_fraction(audio)
    rate = speaking_rate(len(heard), silence.speech_seconds)
    voice = voice_words_per_second or DEFAULT_WORDS_PER_SECOND

    t = thresholds
    problems = []
    if len(missing) > t.max_missing_words:
        problems.append(_count_words(missing, "missing"))
    if len(extra) > t.max_extra_words:
        problems.append(_count_words(extra, "extra"))
    if expected and wer > t.max_word_error_rate:
        if wrong:
            problems.append(f"{_plural(len(wrong), 'word')} wrong: "
                            + _listed([f"{a}→{b}" for a, b in wrong]))
        problems.append(f"word error rate {wer:.0%}")
    if rate is not None and len(expected) >= MIN_WORDS_FOR_RATE:
        if rate / voice > t.max_rate_ratio:
            problems.append(f"too fast: {rate:.1f} words/s (voice {voice:.1f})")
        elif rate / voice < t.min_rate_ratio:
            problems.append(f"too slow: {rate:.1f} words/s (voice {voice:.1f})")
    if silence.speech_seconds == 0.0:
        problems.append("silent")
    else:
        if silence.leading > t.max_leading_silence:
            problems.append(f"{silence.leading:.1f} s silence at the start")
        if silence.longest_pause > t.max_pause:
            problems.append(f"{silence.longest_pause:.1f} s pause")
        if silence.trailing > t.max_trailing_silence:
            problems.append(f"{silence.trailing:.1f} s silence at the end")
    if clipped > t.max_clipped_fraction:
        problems.append(f"clipped ({clipped:.1%} of samples)")
    return TakeCheck(tuple(expected), tuple(heard), round(wer, 4), tuple(missing), tuple(extra), tuple(wrong),
                     None if rate is None else round(rate, 3), voice, silence, round(clipped, 6), tuple(problems))


def best_take(checks: Sequence[tuple[str, TakeCheck]]) -> str | None:
    """The id of the best checked take (lowest badness; the earliest on ties), or None for no takes."""
    if not checks:
        return None
    return min(enumerate(checks), key=lambda item: (item[1][1].badness, item[0]))[1][0]


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _listed(words: Sequence[str]) -> str:
    shown = ", ".join(f"'{w}'" for w in words[:MAX_LISTED_WORDS])
    return shown + (f" and {len(words) - MAX_LISTED_WORDS} more" if len(words) > MAX_LISTED_WORDS else "")


def _count_words(words: Sequence[str], what: str) -> str:
    return f"{_plural(len(words), 'word')} {what}: {_listed(words)}"
