"""Request bodies. Unknown fields are refused (a typo such as `temprature` must not be silently ignored).

Ranges checked here are the ones a request can get wrong on its own; limits that depend on the model (text
length, decoder length, voice prompt length) are checked against the loaded engine before generation.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from dia_engine import SamplingParams

from .tempo import MAX_SPEED, MIN_SPEED

MAX_INPUT_CHARS = 4096  # OpenAI's limit; the model's own text limit is checked against the engine
FAMILY_DEFAULT = "default: the loaded model's (GET /v1/models lists them)"
MAX_SEED = 2**63 - 1


class SamplingFields(BaseModel):
    """Sampling and reproducibility fields shared by both speech endpoints."""

    model_config = ConfigDict(extra="forbid")

    seed: int | None = Field(None, ge=0, le=MAX_SEED,
                             description="Same seed, voice, text and parameters give the same audio bytes. "
                                         "Omit for a random seed (returned in the X-Seed header).")
    # Sampling: None (left out) = the loaded model's default. Each model family reads its own fields (Dia 1.6B:
    # cfg_scale, temperature, top_p, cfg_filter_top_k; Dia2: cfg_scale, temperature and top_k for audio,
    # text_temperature and text_top_k, cfg_filter_top_k); a field the loaded family lacks is refused.
    temperature: float | None = Field(None, ge=0, le=10, description=f"0 = greedy; {FAMILY_DEFAULT}")
    cfg_scale: float | None = Field(None, ge=0, le=20, description=FAMILY_DEFAULT)
    top_p: float | None = Field(None, gt=0, le=1, description=f"Dia 1.6B; {FAMILY_DEFAULT}")
    cfg_filter_top_k: int | None = Field(None, ge=1, le=4096, description=FAMILY_DEFAULT)
    top_k: int | None = Field(None, ge=1, le=4096, description=f"Dia2 audio top-k; {FAMILY_DEFAULT}")
    text_temperature: float | None = Field(None, ge=0, le=10, description=f"Dia2 text stream, 0 = greedy; "
                                                                          f"{FAMILY_DEFAULT}")
    text_top_k: int | None = Field(None, ge=1, le=4096, description=f"Dia2 text stream; {FAMILY_DEFAULT}")
    max_tokens: int | None = Field(None, ge=1, description="frames to generate including the voice prompt "
                                                           "(frames_per_second in GET /v1/models); default: "
                                                           "estimated from the text")
    speed: float = Field(1.0, ge=MIN_SPEED, le=MAX_SPEED, description="tempo; the pitch stays the same")
    stream: bool = Field(False, description="send the audio as it is generated (chunked pcm or wav, the WAV "
                                            "header's sizes left unknown); needs speed 1")

    def sampling(self) -> SamplingParams:
        return SamplingParams(**{name: getattr(self, name) for name in SamplingParams.FIELDS},
                              max_tokens=self.max_tokens)


class GenerateBody(SamplingFields):
    """POST /generate"""

    text: str = Field(max_length=MAX_INPUT_CHARS, description="dialogue text; untagged text is one [S1] turn")
    voice_id: str | None = Field(None, description="an id from GET /voices; omit for a random voice")
    response_format: str = Field("wav", description="wav, flac, mp3, opus or pcm (16-bit mono at the "
                                                                 "model's rate, in the X-Sample-Rate header)")


class VoiceRef(BaseModel):
    """OpenAI's custom-voice object form: {"id": "..."}."""

    model_config = ConfigDict(extra="forbid")
    id: str


class SpeechBody(SamplingFields):
    """POST /v1/audio/speech: OpenAI's fields plus our extensions (seed and the sampling fields)."""

    model: str
    input: str = Field(max_length=MAX_INPUT_CHARS)
    voice: str | VoiceRef
    response_format: str | None = Field(None, description="mp3 (default), opus, flac, wav or pcm "
                                                          "(16-bit mono at 24 kHz, as OpenAI sends it)")
    instructions: str | None = None  # OpenAI field; Dia cannot follow it, so only an empty value is accepted
    stream_format: str | None = Field(None, description="audio (raw bytes; streamed as generated with "
                                                        "stream: true) or sse (OpenAI's speech.audio.delta events, "
                                                        "always streamed)")

    @property
    def voice_id(self) -> str:
        return self.voice.id if isinstance(self.voice, VoiceRef) else self.voice
