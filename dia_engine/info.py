"""`ModelInfo`: the engine's description of the loaded model — the one place faces read model facts from.

Nothing above `dia_engine` may know which model family it talks to except through this object: sample rate,
frame rate, length limits, the text limit and its unit, which sampling parameters the family reads and their
defaults, and whether results carry word timestamps. Each family builds its own (see `dia_info`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .types import GenerationRequest, SamplingParams

SPEAKER_TAGS = ("[S1]", "[S2]")


@dataclass(frozen=True)
class ModelInfo:
    family: str  # "dia" (Dia 1.6B, both releases) or "dia2"
    variant: str  # "0626", "v0.1", or the Dia2 size ("1b", "2b", or "custom" for other shapes)
    model_id: str  # what it was loaded from: a hub repo id or a folder
    sample_rate: int  # of the audio the codec produces (and of voice clips it encodes)
    frames_per_second: float  # codec frames (decoder steps) per second of audio
    max_frames: int  # longest generation in frames, voice prompt included
    text_limit: int  # longest model text (voice transcripts + line) in `text_unit`s
    text_unit: str  # "bytes" (Dia 1.6B) or "tokens" (Dia2)
    codebooks: int  # audio codebooks per frame
    word_timestamps: bool  # whether GenerationResult.words is filled
    default_sampling: SamplingParams  # every field set: what a None field means for this family
    sampling_fields: tuple[str, ...]  # the SamplingParams fields this family reads; others must stay None
    speech_chars_per_second: float  # typical speaking rate of the family's voices, for length estimates
    measure_text: Callable[[str], int] = field(repr=False, compare=False, default=len)  # length in text_unit

    @property
    def max_seconds(self) -> float:
        return self.max_frames / self.frames_per_second

    def resolve_sampling(self, params: SamplingParams) -> SamplingParams:
        """`params` with every None replaced by this family's default.

        Raises ValueError naming any parameter that this family does not read but `params` sets."""
        unused = [name for name in SamplingParams.FIELDS if name not in self.sampling_fields
                  and getattr(params, name) is not None]
        if unused:
            raise ValueError(
                f"{self.family_name} has no sampling parameter {', '.join(unused)}; "
                f"it reads {', '.join(self.sampling_fields)}"
            )
        return params.filled_from(self.default_sampling)

    def resolve_requests(self, requests: Sequence[GenerationRequest]) -> list[GenerationRequest]:
        """The requests with their sampling filled from this family's defaults (parameters it lacks refused,
        naming the request)."""
        resolved = []
        for i, req in enumerate(requests):
            if not isinstance(req, GenerationRequest):
                raise TypeError(f"request {i} is a {type(req).__name__}, not a GenerationRequest")
            try:
                sampling = self.resolve_sampling(req.sampling)
            except ValueError as exc:
                raise ValueError(f"request {i}: {exc}") from None
            resolved.append(dataclasses.replace(req, sampling=sampling))
        return resolved

    @property
    def family_name(self) -> str:
        return {"dia": "Dia 1.6B", "dia2": "Dia2"}.get(self.family, self.family)
