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

    def filled_from(self, defaults: "SamplingParams") -> "SamplingParams":
        """These values, with every None sampling field taken from `defaults` (max_tokens stays as it is)."""
        values = {name: getattr(defaults, name) if getattr(self, name) is None else getattr(self, name)
                  for name in self.FIELDS}
        return SamplingParams(max_tokens=self.max_tokens, **values)


# The reference `Dia.generate` defaults (Dia 1.6B, both releases).
DIA_DEFAULT_SAMPLING = SamplingParams(cfg_scale=3.0, temperature=1.2, top_p=0.95, cfg_filter_top_k=45)


@dataclass(frozen=True, eq=False)
class VoicePrompt:
    """A reference voice: the transcript of the clip and its DAC codes [T, 9] (no delay applied).

    `codes` may be None for a transcript-only prompt (text conditioning without audio)."""

    transcript: str
    codes: np.ndarray | None = None

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

    @property
    def num_frames(self) -> int:
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
