"""The models a project can use: the released Dia checkpoints and any local folder, with their download size and
whether they are already on this machine (a folder, or complete in the Hugging Face cache).

The model picker (Settings), `render --model` and `serve --model` all offer these ids; anything else that names a
folder or a hub repo is accepted too and described from its own config.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CatalogueEntry:
    model_id: str  # hub repo id (or a folder, for `local_entry`)
    title: str
    family: str  # "dia" or "dia2", as `ModelInfo.family`
    download_bytes: int | None  # about how much the weights are (float32 as published); None = unknown
    summary: str
    codec_id: str | None = None  # the codec repo the family needs besides the weights


RELEASED = (
    CatalogueEntry("nari-labs/Dia-1.6B-0626", "Dia 1.6B (0626)", "dia", 6_440_000_000,
                   "The first Dia: 44.1 kHz, up to about 35 s per line; voices from a reference clip."),
    CatalogueEntry("nari-labs/Dia2-1B", "Dia2 1B", "dia2", 4_300_000_000,
                   "Streaming Dia2: 24 kHz, up to 2 minutes per line, word timestamps; the smaller model.",
                   codec_id="kyutai/mimi"),
    CatalogueEntry("nari-labs/Dia2-2B", "Dia2 2B", "dia2", 7_700_000_000,
                   "Streaming Dia2: 24 kHz, up to 2 minutes per line, word timestamps; steadier voices.",
                   codec_id="kyutai/mimi"),
)
DEFAULT_MODEL = RELEASED[0].model_id


def released(model_id: str) -> CatalogueEntry | None:
    return next((entry for entry in RELEASED if entry.model_id == model_id), None)


def model_title(model_id: str) -> str:
    """A short name for a model id: the released model's title, else the folder's (or repo's) last part."""
    entry = released(model_id)
    if entry is not None:
        return entry.title
    return Path(model_id).name or model_id


@dataclass(frozen=True)
class ModelChoice:
    """One row of the model picker: an entry and where it stands on this machine."""

    entry: CatalogueEntry
    cached: bool  # the weights are here: loading needs no download
    local_bytes: int  # size of the weights found here (0 when not here)

    @property
    def size_bytes(self) -> int | None:
        return self.local_bytes or self.entry.download_bytes

    def label(self) -> str:
        size = format_bytes(self.size_bytes) if self.size_bytes else "size unknown"
        where = "downloaded" if self.cached else "not downloaded"
        return f"{self.entry.title} — {size}, {where}"


def local_entry(folder: str | os.PathLike) -> CatalogueEntry:
    """A model in a folder of the user's; its family is known once it is described."""
    path = Path(folder)
    return CatalogueEntry(str(path), f"Local folder: {path.name or path}", "", None, f"The model in {path}")


def choices(local_folder: str | os.PathLike | None = None, cache_dir: str | None = None) -> list[ModelChoice]:
    """The released models, then `local_folder` if given, each with whether it is here (no network used)."""
    from dia_engine.describe import find_local_copy  # the engine package loads torch: only when asked

    entries = list(RELEASED) + ([local_entry(local_folder)] if local_folder else [])
    out = []
    for entry in entries:
        copy = find_local_copy(entry.model_id, cache_dir=cache_dir)
        out.append(ModelChoice(entry, copy.present, copy.weight_bytes))
    return out


def format_bytes(count: int) -> str:
    if count >= 1e9:
        return f"{count / 1e9:.1f} GB"
    if count >= 1e6:
        return f"{count / 1e6:.0f} MB"
    return f"{count / 1e3:.0f} kB"
