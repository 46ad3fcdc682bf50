"""Take files in `takes/` and the state of a line: missing, damaged, stale or done.

Each take is two files: `takes/L3-2.wav` (the audio) and `takes/L3-2.json` (its record, written first). The
record beside the audio lets a project adopt a take whose audio was written but whose `project.json` save
was cut short by a crash: no finished take is ever lost.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path

import numpy as np
import soundfile as sf

from .audio import read_mono, write_audio
from .files import atomic_write_bytes
from .model import Line, Take
from .store import ProjectError

TAKES_DIR = "takes"


class LineStatus(str, Enum):
    MISSING = "missing"  # no take
    DAMAGED = "damaged"  # the active take's file is gone or cannot be read (see `take_problem`)
    STALE = "stale"  # the text, voices, sampling or model changed since the active take was made
    DONE = "done"


class TakeMissingError(ProjectError):
    """A take's audio file is not in the project folder or cannot be read."""


def take_path(folder: Path, take: Take) -> Path:
    return Path(folder) / take.file


def sidecar_path(folder: Path, take: Take) -> Path:
    return take_path(folder, take).with_suffix(".json")


_problems: dict[tuple[str, int, int], str | None] = {}  # (path, mtime, size) -> problem: headers read once


def take_problem(folder: Path, take: Take) -> str | None:
    """Why a take's file cannot be used (gone, empty, truncated, not audio, wrong rate), or None when it can."""
    path = take_path(folder, take)
    try:
        stat = path.stat()
    except OSError:
        return f"its file {path} is missing"
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _problems:
        _problems[key] = _check(path, stat.st_size, take)
        if len(_problems) > 10_000:
            _problems.clear()
    return _problems[key]


def _check(path: Path, size: int, take: Take) -> str | None:
    if size == 0:
        return f"its file {path} is empty (0 bytes)"
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError) as error:
        return f"its file {path} is not readable audio ({str(error).split(':')[-1].strip() or 'unknown format'})"
    if info.frames == 0:
        return f"its file {path} holds no audio"
    if take.sample_rate is not None and info.samplerate != take.sample_rate:
        return f"its file {path} is at {info.samplerate} Hz, the take was made at {take.sample_rate} Hz"
    # A WAV cut short by a crash or a full disk still has a header promising more data than there is.
    expected = round(take.duration * info.samplerate)
    if info.format == "WAV" and abs(info.frames - expected) > 1:
        return f"its file {path} is truncated ({info.frames / info.samplerate:.2f} s of {take.duration:.2f} s)"
    return None


def take_available(folder: Path, take: Take) -> bool:
    return take_problem(folder, take) is None


def load_take_audio(folder: Path, take: Take) -> np.ndarray:
    path = take_path(folder, take)
    try:
        audio, rate = read_mono(path)
    except (OSError, RuntimeError, sf.LibsndfileError) as error:
        raise TakeMissingError(f"take {take.id} cannot be read from {path}: {error}") from None
    if take.sample_rate is not None and rate != take.sample_rate:
        raise TakeMissingError(f"take {take.id} ({path}) is at {rate} Hz, not {take.sample_rate} Hz")
    return audio


def take_rate(folder: Path, take: Take) -> int:
    """The sample rate of a take (recorded; read from its file for takes of older projects)."""
    return take.sample_rate or sf.info(str(take_path(folder, take))).samplerate


def next_take_name(folder: Path, line: Line) -> tuple[str, str, int]:
    """(take id, relative file, number) for the line's next take, never reusing a file already on disk."""
    number = line.next_take
    while True:
        take_id = f"{line.id}-{number}"
        relative = f"{TAKES_DIR}/{take_id}.wav"
        wav = Path(folder) / relative
        if not wav.exists() and not wav.with_suffix(".json").exists():
            return take_id, relative, number
        number += 1


def write_take_files(folder: Path, line: Line, take: Take, audio: np.ndarray, sample_rate: int) -> None:
    """The record first, then the audio (both atomic): an audio file on disk always has its record beside it."""
    record = {"line_id": line.id, "line_text": line.text, "take": take.model_dump(mode="json")}
    atomic_write_bytes(sidecar_path(folder, take), (json.dumps(record, indent=1) + "\n").encode("utf-8"))
    # 32-bit float keeps the model's output exactly, so a mix rebuilt from takes is bit-identical.
    write_audio(take_path(folder, take), np.asarray(audio, dtype=np.float32), sample_rate, subtype="FLOAT")


def delete_take_files(folder: Path, take: Take) -> None:
    """Only for an explicit user action (Keep only active): the audio and its record."""
    take_path(folder, take).unlink(missing_ok=True)
    sidecar_path(folder, take).unlink(missing_ok=True)


def unrecorded_takes(folder: Path, recorded: set[str]) -> list[tuple[Path, dict | None]]:
    """Take files in `takes/` that no record in the project names, with their side records (None if unreadable)."""
    found = []
    takes = Path(folder) / TAKES_DIR
    if not takes.is_dir():
        return found
    for wav in sorted(takes.glob("*.wav")):
        if f"{TAKES_DIR}/{wav.name}" in recorded:
            continue
        try:
            record = json.loads(wav.with_suffix(".json").read_text("utf-8"))
            Take.model_validate(record["take"])
        except (OSError, ValueError, KeyError, TypeError):
            record = None
        found.append((wav, record))
    return found


def line_status(folder: Path, line: Line, fingerprint: str) -> LineStatus:
    take = line.take(line.active_take)
    if take is None:
        return LineStatus.MISSING
    if take_problem(folder, take) is not None:
        return LineStatus.DAMAGED
    if take.fingerprint != fingerprint or (line.pinned and line.seed is not None and take.seed != line.seed):
        return LineStatus.STALE
    return LineStatus.DONE
