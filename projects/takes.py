"""Take files in `takes/` and the state of a line: missing, stale or done."""

from __future__ import annotations

from enum import Enum
from pathlib import Path

import numpy as np

from dia_engine import SAMPLE_RATE

from .audio import read_mono, write_audio
from .model import Line, Take
from .store import ProjectError

TAKES_DIR = "takes"


class LineStatus(str, Enum):
    MISSING = "missing"  # no take, or the active take's file is gone
    STALE = "stale"  # the text, voices or sampling changed since the active take was made
    DONE = "done"


class TakeMissingError(ProjectError):
    """A take's audio file is not in the project folder."""


def take_path(folder: Path, take: Take) -> Path:
    return Path(folder) / take.file


def take_available(folder: Path, take: Take) -> bool:
    return take_path(folder, take).is_file()


def load_take_audio(folder: Path, take: Take) -> np.ndarray:
    path = take_path(folder, take)
    try:
        audio, rate = read_mono(path)
    except (OSError, RuntimeError) as error:
        raise TakeMissingError(f"take {take.id} cannot be read from {path}: {error}") from None
    if rate != SAMPLE_RATE:
        raise ProjectError(f"take {take.id} ({path}) is at {rate} Hz; takes are {SAMPLE_RATE} Hz")
    return audio


def next_take_name(folder: Path, line: Line) -> tuple[str, str, int]:
    """(take id, relative file, number) for the line's next take, never reusing a file already on disk."""
    number = line.next_take
    while True:
        take_id = f"{line.id}-{number}"
        relative = f"{TAKES_DIR}/{take_id}.wav"
        if not (Path(folder) / relative).exists():
            return take_id, relative, number
        number += 1


def write_take_audio(folder: Path, relative: str, audio: np.ndarray, sample_rate: int) -> None:
    # 32-bit float keeps the model's output exactly, so a mix rebuilt from takes is bit-identical.
    write_audio(Path(folder) / relative, np.asarray(audio, dtype=np.float32), sample_rate, subtype="FLOAT")


def line_status(folder: Path, line: Line, fingerprint: str) -> LineStatus:
    take = line.take(line.active_take)
    if take is None or not take_available(folder, take):
        return LineStatus.MISSING
    if take.fingerprint != fingerprint or (line.pinned and line.seed is not None and take.seed != line.seed):
        return LineStatus.STALE
    return LineStatus.DONE
