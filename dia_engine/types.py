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
    """How tokens are drawn. Defaults are the reference `Dia.generate` defaults."""

    cfg_scale: float = 3.0
    temperature: float = 1.2  # 0 means greedy
    top_p: float = 0.95
    cfg_filter_top_k: int = 45
    max_tokens: int | None = None  # decoder steps including prompt frames; None = estimate

    def __post_init__(self) -> None:
        if not np.isfinite(self.cfg_scale) or self.cfg_scale < 0:
            raise ValueError(f"cfg_scale must be a finite number >= 0, got {self.cfg_scale}")
        if not np.isfinite(self.temperature) or self.temperature < 0:
            raise ValueError(f"temperature must be a finite number >= 0, got {self.temperature}")
        if not (0 < self.top_p <= 1):
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if int(self.cfg_filter_top_k) != self.cfg_filter_top_k or self.cfg_filter_top_k < 1:
            raise ValueError(f"cfg_filter_top_k must be an integer >= 1, got {self.cfg_filter_top_k}")
        if self.max_tokens is not None and (int(self.max_tokens) != self.max_tokens or self.max_tokens < 1):
            raise ValueError(f"max_tokens must be an integer >= 1 or None, got {self.max_tokens}")


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
    codes: np.ndarray  # int64 [T, 9], delay reverted, prompt excluded
    audio: np.ndarray | None  # float32 mono at `sample_rate`, None without a codec
    sample_rate: int
    seed: int

    @property
    def duration(self) -> float:
        return len(self.codes) / FRAMES_PER_SECOND


@dataclass(frozen=True)
class Progress:
    """Reported through `on_progress` after every decoder step of a request."""

    index: int  # position of the request in the list given to `generate`
    step: int  # frames generated so far for this request (prompt excluded)
    total: int  # estimated total frames (upper bound until end-of-speech is seen)
    finished: bool = False
