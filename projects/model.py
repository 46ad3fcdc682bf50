"""The project document as stored in `project.json` (pydantic). Paths inside are relative to the project folder."""

from __future__ import annotations

from datetime import datetime
from pathlib import PurePosixPath, PureWindowsPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

SCHEMA_VERSION = 1
DEFAULT_GAP_MS = 300.0
LOUDNESS_PRESETS = {"podcast": -16.0, "mono": -19.0, "streaming": -14.0, "broadcast": -23.0}
DEFAULT_LUFS = LOUDNESS_PRESETS["podcast"]

SpeakerId = Literal["S1", "S2"]


def _relative_path(value: str | None) -> str | None:
    """A path inside the project folder, written with forward slashes, so the folder can move."""
    if value is None:
        return None
    value = value.replace("\\", "/")
    path = PurePosixPath(value)
    if path.is_absolute() or PureWindowsPath(value).drive or ".." in path.parts or not path.parts:
        raise ValueError(f"{value!r} must be a relative path inside the project folder")
    return path.as_posix()


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_assignment=True)


class Sampling(_Model):
    """Sampling parameters as stored (mirrors dia_engine.SamplingParams). None = the model family's default
    (`ModelInfo.default_sampling`); each family reads only its own fields (see `projects.sampling`)."""

    cfg_scale: float | None = None
    temperature: float | None = None
    top_p: float | None = None
    cfg_filter_top_k: int | None = None
    max_tokens: int | None = None
    top_k: int | None = None  # Dia2: audio top-k
    text_temperature: float | None = None  # Dia2: the text stream's
    text_top_k: int | None = None


class Speaker(_Model):
    name: str
    clip: str | None = None  # e.g. "voices/S1-3fa2c1d0.wav"
    clip_sha256: str | None = None  # content hash of the clip: part of every line's fingerprint
    clip_seconds: float | None = None  # length of the clip, to budget how much speech fits after the prompt
    transcript: str = ""  # what is said in the clip, with its speaker tag, e.g. "[S1] Hello there."

    @field_validator("clip")
    @classmethod
    def _check_clip(cls, value: str | None) -> str | None:
        return _relative_path(value)

    @model_validator(mode="after")
    def _clip_needs_transcript(self) -> Speaker:
        if self.clip and not self.transcript.strip():
            raise ValueError("a speaker with a reference clip needs the clip's transcript")
        return self


class Take(_Model):
    id: str  # e.g. "L3-2": line id and a per-line counter
    file: str  # e.g. "takes/L3-2.wav"
    seed: int
    sampling: Sampling
    model_id: str
    fingerprint: str
    duration: float  # seconds
    created: datetime
    parts: int = 1  # over-long lines are generated in parts and joined
    # What made the take, as recorded (older projects lack these): the fingerprint covers model and dtype;
    # device and kernel path are recorded because they can change the bits, not whether the take is current.
    dtype: str | None = None
    device: str | None = None
    kernels: list[str] | None = None
    sample_rate: int | None = None  # the rate its file is written at (models differ: 44.1 kHz, 24 kHz)
    words: list[tuple[str, float]] | None = None  # (word, start s) where the model times its words (Dia2)

    @field_validator("file")
    @classmethod
    def _check_file(cls, value: str) -> str:
        return _relative_path(value)


class Line(_Model):
    id: str  # "L1", "L2", ...: never reused within a project
    text: str  # the script line as written, used to recognise it after edits
    gap_ms: float | None = None  # silence before the line; negative overlaps; None = project default
    gain_db: float = 0.0
    trim_silence: bool = True
    seed: int | None = None  # the user's seed for the next take, used when pinned (the active take has its own)
    pinned: bool = False
    active_take: str | None = None
    takes: list[Take] = Field(default_factory=list)
    next_take: int = 1
    sampling: Sampling | None = None  # this line's own sampling parameters; None = the project's
    sampling_kept: dict[str, Sampling] = Field(default_factory=dict)  # its overrides for other model families

    def take(self, take_id: str | None) -> Take | None:
        return next((t for t in self.takes if t.id == take_id), None) if take_id else None


class ModelKey(_Model):
    """The model and precision takes are generated with: part of every line's fingerprint."""

    model_id: str
    dtype: str


EXPORT_RATES = (44100, 48000)  # the mix's rates a project offers (the values of ExportSettings.sample_rate)


class ExportSettings(_Model):
    sample_rate: Literal[44100, 48000] = EXPORT_RATES[0]  # the mix's rate: takes of other rates are resampled to it
    lufs: float = DEFAULT_LUFS
    format: Literal["wav", "flac"] = "wav"
    bit_depth: Literal["16", "24", "float"] = "24"
    stems: bool = False
    subtitles: bool = False
    last_folder: str | None = None  # where this project was last exported to (an absolute path, outside it)


def _default_speakers() -> dict[str, Speaker]:
    return {"S1": Speaker(name="Speaker 1"), "S2": Speaker(name="Speaker 2")}


class ProjectFile(_Model):
    schema_version: int = SCHEMA_VERSION
    name: str = "Untitled"
    seed: int | None = None  # project seed: makes a fresh render reproducible
    script: str = ""
    default_gap_ms: float = DEFAULT_GAP_MS
    sampling: Sampling = Field(default_factory=Sampling)  # for the family of the project's model
    sampling_family: str | None = None  # the family `sampling` belongs to (None: written before Dia2, so "dia")
    sampling_kept: dict[str, Sampling] = Field(default_factory=dict)  # the values of other families, restored
    #                                                                   when the project returns to one
    speakers: dict[SpeakerId, Speaker] = Field(default_factory=_default_speakers)
    lines: list[Line] = Field(default_factory=list)  # in script order
    removed_lines: list[Line] = Field(default_factory=list)  # lines cut from the script, kept with their takes
    next_line: int = 1
    model: ModelKey | None = None  # the engine that generated last: a different one turns lines stale
    export: ExportSettings = Field(default_factory=ExportSettings)

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value > SCHEMA_VERSION:
            raise ValueError(f"schema_version {value} was written by a newer Dia Studio "
                             f"(this one reads {SCHEMA_VERSION})")
        if value < 1:
            raise ValueError(f"schema_version {value} is not valid")
        return value

    @model_validator(mode="after")
    def _both_speakers(self) -> ProjectFile:
        for speaker_id, default in _default_speakers().items():
            self.speakers.setdefault(speaker_id, default)
        return self

    def line(self, line_id: str) -> Line | None:
        return next((line for line in self.lines if line.id == line_id), None)
