"""Public request/result types of the engine. Plain data: no torch tensors cross this boundary."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

NUM_CHANNELS = 9
SAMPLE_RATE = 44100
HOP_LENGTH = 512  # audio samples per decoder step (one DAC frame)
FRAMES_PER_SECOND = SAMPLE_RATE / HOP_LENGTH  # ~86.13


@dataclass(frozen=True)
class SamplingParams:
    """How tokens are drawn. A field left None means the loaded model's default (`engine.info.default_sampling`).

    Dia 1.6B reads cfg_scale, temperature, top_p, cfg_filter_top_k (defaults: the reference `Dia.generate`'s);
    Dia2 reads cfg_scale, temperature and top_k for audio, text_temperature and text_top_k for its text stream,
    and cfg_filter_top_k. Setting a field the loaded family does not read is refused (`ModelInfo.resolve_sampling`).
    A temperature of 0 means greedy. `max_tokens` counts decoder steps including prompt frames; None = estimate.
    """

    cfg_scale: float | None = None
    temperature: float | None = None
    top_p: float | None = None
    cfg_filter_top_k: int | None = None
    max_tokens: int | None = None
    top_k: int | None = None
    text_temperature: float | None = None
    text_top_k: int | None = None
    initial_padding: int | None = None  # Dia2 only: pad steps before the first word (None = 2, the reference's)

    FIELDS = ("cfg_scale", "temperature", "top_p", "cfg_filter_top_k", "top_k", "text_temperature", "text_top_k")

    def __post_init__(self) -> None:
        for name in ("cfg_scale", "temperature", "text_temperature"):
            value = getattr(self, name)
            if value is not None and (not np.isfinite(value) or value < 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value}")
        if self.top_p is not None and not (0 < self.top_p <= 1):
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        for name in ("cfg_filter_top_k", "top_k", "text_top_k"):
            value = getattr(self, name)
            if value is not None and (int(value) != value or value < 1):
                raise ValueError(f"{name} must be an integer >= 1, got {value}")
        if self.max_tokens is not None and (int(self.max_tokens) != self.max_tokens or self.max_tokens < 1):
            raise ValueError(f"max_tokens must be an integer >= 1 or None, got {self.max_tokens}")
        if self.initial_padding is not None and (int(self.initial_padding) != self.initial_padding
                                                 or not 0 <= self.initial_padding <= 64):
            raise ValueError(f"initial_padding must be an integer in [0, 64] or None, got {self.initial_padding}")

    def filled_from(self, defaults: "SamplingParams") -> "SamplingParams":
        """These values, with every None sampling field taken from `defaults` (max_tokens and initial_padding
        stay as they are)."""
        values = {name: getattr(defaults, name) if getattr(self, name) is None else getattr(self, name)
                  for name in self.FIELDS}
        return SamplingParams(max_tokens=self.max_tokens, initial_padding=self.initial_padding, **values)


# The reference `Dia.generate` defaults (Dia 1.6B, both releases).
DIA_DEFAULT_SAMPLING = SamplingParams(cfg_scale=3.0, temperature=1.2, top_p=0.95, cfg_filter_top_k=45)


@dataclass(frozen=True, eq=False)
class VoiceClip:
    """One speaker's clip of a Dia2 voice prompt: its transcript, Mimi codes [F, N] (no delay) and word timings.

    `words` are (word, start s, end s) as a transcriber gives them; `approximate` says they were derived from
    the clip's energy and the words' lengths (see `dia_engine.dia2.prefix.approximate_words`), not measured."""

    transcript: str
    codes: np.ndarray
    words: tuple[tuple[str, float, float], ...] = ()
    approximate: bool = False

    def __post_init__(self) -> None:
        codes = np.asarray(self.codes)
        if codes.ndim != 2 or not len(codes):
            raise ValueError(f"clip codes must have shape [frames, codebooks], got {list(codes.shape)}")
        if codes.min() < 0:
            raise ValueError("clip codes must be >= 0")
        object.__setattr__(self, "codes", codes.astype(np.int64, copy=False))
        if not self.transcript.strip():
            raise ValueError("a voice clip needs its transcript: Dia conditions on the spoken text of the clip")
        words = tuple((str(w), float(s), float(e)) for w, s, e in self.words)
        for word, start, end in words:
            if not word.strip() or not (0 <= start <= end):
                raise ValueError(f"bad word timing ({word!r}, {start}, {end}): need a word and 0 <= start <= end")
        if any(b[1] < a[1] for a, b in zip(words, words[1:])):
            raise ValueError("clip word timings must be in order of their start times")
        object.__setattr__(self, "words", words)

    @property
    def num_frames(self) -> int:
        return int(len(self.codes))


@dataclass(frozen=True, eq=False)
class VoicePrompt:
    """A reference voice.

    Dia 1.6B: the transcript of the clip and its DAC codes [T, 9] (no delay applied); `codes` may be None for
    a transcript-only prompt (text conditioning without audio).
    Dia2: `clips` holds one or two `VoiceClip`s (speaker 1, then optionally speaker 2) and `codes` stays None;
    `keep_audio` keeps the prompt's audio (and its words' timestamps) at the start of the result, as the
    reference's include-prefix switch does. Build one with `VoicePrompt.from_clips` or `engine.encode_voice`.
    """

    transcript: str
    codes: np.ndarray | None = None
    clips: tuple[VoiceClip, ...] = ()
    keep_audio: bool = False

    def __post_init__(self) -> None:
        if self.codes is not None:
            codes = np.asarray(self.codes)
            if codes.ndim != 2 or codes.shape[1] != NUM_CHANNELS:
                raise ValueError(f"voice codes must have shape [T, {NUM_CHANNELS}], got {list(codes.shape)}")
            if codes.size and (codes.min() < 0 or codes.max() > 1023):
                raise ValueError("voice codes must lie in [0, 1023]")
            object.__setattr__(self, "codes", codes.astype(np.int64, copy=False))
        if self.codes is not None and len(self.codes) and not self.transcript.strip():
            raise ValueError("a voice clip needs its transcript: Dia conditions on the spoken text of the clip")
        object.__setattr__(self, "clips", tuple(self.clips))
        if self.clips and self.codes is not None:
            raise ValueError("a voice prompt holds either DAC codes (Dia 1.6B) or clips (Dia2), not both")
        if len(self.clips) > 2:
            raise ValueError(f"a Dia2 voice prompt holds one or two clips (speaker 1, speaker 2), got {len(self.clips)}")
        if any(not isinstance(c, VoiceClip) for c in self.clips):
            raise TypeError("VoicePrompt.clips must hold VoiceClip objects")

    @classmethod
    def from_clips(cls, *clips: VoiceClip, keep_audio: bool = False) -> "VoicePrompt":
        """A Dia2 prompt: speaker 1's clip, then optionally speaker 2's."""
        return cls(transcript=" ".join(c.transcript.strip() for c in clips), clips=clips, keep_audio=keep_audio)

    @property
    def num_frames(self) -> int:
        if self.clips:
            return sum(c.num_frames for c in self.clips)
        return 0 if self.codes is None else int(len(self.codes))


@dataclass(frozen=True)
class GenerationRequest:
    text: str
    seed: int | None = None
    sampling: SamplingParams = field(default_factory=SamplingParams)
    voice: VoicePrompt | None = None

    def model_text(self) -> str:
        """The text the model sees: the voice transcript, a space, then the line (reference semantics)."""
        if self.voice is not None and self.voice.transcript:
            return self.voice.transcript + " " + self.text
        return self.text


@dataclass(frozen=True, eq=False)
class GenerationResult:
    codes: np.ndarray  # int64 [T, codebooks], delay reverted, prompt excluded
    audio: np.ndarray | None  # float32 mono at `sample_rate`, None without a codec
    sample_rate: int
    seed: int
    frames_per_second: float = FRAMES_PER_SECOND
    words: tuple[tuple[str, float], ...] | None = None  # Dia2: (word, start s); Dia 1.6B: None

    @property
    def duration(self) -> float:
        return len(self.codes) / self.frames_per_second


@dataclass(frozen=True)
class Progress:
    """Reported through `on_progress` after every decoder step of a request."""

    index: int  # position of the request in the list given to `generate`
    step: int  # frames generated so far for this request (prompt excluded)
    total: int  # estimated total frames (upper bound until end-of-speech is seen)
    finished: bool = False
