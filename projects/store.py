"""Reading and writing `project.json`: atomic saves, a few previous versions kept, recovery from a corrupt file."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from pydantic import ValidationError

from .files import atomic_write_bytes
from .model import ProjectFile

PROJECT_FILE = "project.json"
BACKUP_DIR = "backups"
KEEP_BACKUPS = 5
BACKUP_EVERY_S = 30.0  # at most one backup per this many seconds


class ProjectError(Exception):
    """A project could not be opened or changed; the message is meant for the user."""


class CorruptProjectError(ProjectError):
    """`project.json` cannot be read. `backup` is the newest backup that can, if any."""

    def __init__(self, message: str, backup: Path | None) -> None:
        super().__init__(message)
        self.backup = backup


def backups(folder: Path) -> list[Path]:
    """Previous versions of `project.json`, newest first."""
    return sorted((Path(folder) / BACKUP_DIR).glob("project-*.json"), reverse=True)


def _parse(data: bytes) -> ProjectFile:
    try:
        return ProjectFile.model_validate_json(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "top level"
        reason = first["msg"].removeprefix("Value error, ")
        raise ValueError(f"{where}: {reason}") from None


def newest_good_backup(folder: Path) -> Path | None:
    for backup in backups(folder):
        try:
            _parse(backup.read_bytes())
        except (OSError, ValueError):
            continue
        return backup
    return None


def load(folder: Path) -> ProjectFile:
    """Read the project in `folder`. Raises ProjectError when there is none, CorruptProjectError when unreadable."""
    path = Path(folder) / PROJECT_FILE
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ProjectError(f"{folder} is not a Dia Studio project (no {PROJECT_FILE})") from None
    except OSError as error:
        raise ProjectError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        return _parse(data)
    except ValueError as error:
        backup = newest_good_backup(folder)
        offer = f"; the newest good backup is {backup}" if backup else "; there is no usable backup"
        raise CorruptProjectError(f"{path} is corrupt ({error}){offer}", backup) from None


def serialize(project: ProjectFile) -> bytes:
    return project.model_dump_json(indent=2).encode("utf-8") + b"\n"


def save(folder: Path, project: ProjectFile) -> None:
    """Atomically replace `project.json`, first keeping the current version among the backups."""
    write(folder, serialize(project))


def write(folder: Path, data: bytes) -> None:
    """Atomically replace `project.json` by `data` (see `serialize`), first keeping the current version."""
    folder = Path(folder)
    path = folder / PROJECT_FILE
    if path.exists():
        current = path.read_bytes()
        if current == data:
            return
        _keep_backup(folder, current)
    atomic_write_bytes(path, data)


def _keep_backup(folder: Path, data: bytes) -> None:
    existing = backups(folder)
    if existing and time.time() - existing[0].stat().st_mtime < BACKUP_EVERY_S:
        return  # a render saves after every take: spaced backups keep older states than the last few seconds
    try:
        json.loads(data)
    except ValueError:
        return  # never let a corrupt file push a good backup out
    now = time.time_ns()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now // 1_000_000_000)) + f"-{now % 1_000_000_000:09d}"
    atomic_write_bytes(folder / BACKUP_DIR / f"project-{stamp}.json", data)
    for old in backups(folder)[KEEP_BACKUPS:]:
        old.unlink(missing_ok=True)


def restore_backup(folder: Path, backup: Path) -> ProjectFile:
    """Make `backup` the current `project.json`; the unreadable file is kept beside it as `project.json.corrupt`."""
    folder = Path(folder)
    data = Path(backup).read_bytes()
    project = _parse(data)
    path = folder / PROJECT_FILE
    if path.exists():
        os.replace(path, folder / f"{PROJECT_FILE}.corrupt")
    atomic_write_bytes(path, data)
    return project
