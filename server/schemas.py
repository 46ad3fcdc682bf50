"""Request bodies. Unknown fields are refused (a typo such as `temprature` must not be silently ignored).

Ranges checked here are the ones a request can get wrong on its own; limits that depend on the model (text
length, decoder length, voice prompt length) are checked against the loaded engine before generation.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from dia_engine import DIA_DEFAULT_SAMPLING, SamplingParams

from .tempo import MAX_SPEED, MIN_SPEED

DEFAULTS = DIA_DEFAULT_SAMPLING
MAX_INPUT_CHARS = 4096  # OpenAI's limit; the model's own byte limit is checked against the engine
MAX_SEED = 2**63 - 1


class SamplingFields(BaseModel):
    """Sampling and reproducibility fields shared by both speech endpoints."""

    model_config = ConfigDict(extra="forbid")

    seed: int | None = Field(None, ge=0, le=MAX_SEED,
                             description="Same seed, voice, text and parameters give the same audio bytes. "
                                         "Omit for a random seed (returned in the X-Seed header).")
    temperature: float = Field(DEFAULTS.temperature, ge=0, le=10, description="0 = greedy")
    cfg_scale: float = Field(DEFAULTS.cfg_scale, ge=0, le=20)
    top_p: float = Field(DEFAULTS.top_p, gt=0, le=1)
    cfg_filter_top_k: int = Field(DEFAULTS.cfg_filter_top_k, ge=1, le=1024)
    max_tokens: int | None = Field(None, ge=1, description="decoder steps including the voice prompt "
                                                           "(about 86 per second); default: estimated from the text")
    speed: float = Field(1.0, ge=MIN_SPEED, le=MAX_SPEED, description="tempo; the pitch stays the same")
    stream: bool = Field(False, description="send the audio as it is generated (chunked pcm or wav, the WAV "
                                            "header's sizes left unknown); needs speed 1")

    def sampling(self) -> SamplingParams:
        return SamplingParams(cfg_scale=self.cfg_scale, temperature=self.temperature, top_p=self.top_p,
                              cfg_filter_top_k=self.cfg_filter_top_k, max_tokens=self.max_tokens)


class GenerateBody(SamplingFields):
    """POST /generate"""

    text: str = Field(max_length=MAX_INPUT_CHARS, description="dialogue text; untagged text is one [S1] turn")
    voice_id: str | None = Field(None, description="an id from GET /voices; omit for a random voice")
    response_format: str = Field("wav", description="wav, flac, mp3, opus or pcm (16-bit mono at 44.1 kHz)")


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
