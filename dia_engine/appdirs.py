"""Where Dia Studio keeps its own files on this computer: the one place that names the folders.

The folders follow each platform's convention through `platformdirs` (on Linux: `~/.cache/dia-studio`,
`~/.local/share/dia-studio`, `~/.local/state/dia-studio/log`, `~/.config/dia-studio`; the XDG variables move
them). `DIA_STUDIO_CACHE` moves the cache alone (the compiled CPU kernels). Model weights are not here: they
stay in the Hugging Face hub cache (`HF_HOME`), which other tools share.

Before 0.1 the editor kept its data in Qt's AppDataLocation with the organisation and application both named
"Dia Studio" (".../Dia Studio/Dia Studio"); `data_dir()` moves what it finds there (untitled projects, logs)
into the new folders once, so nothing a user had is left behind.
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
from pathlib import Path

import platformdirs

log = logging.getLogger(__name__)

APP_NAME = "dia-studio"
LEGACY_NAME = "Dia Studio"


def _dirs() -> platformdirs.PlatformDirs:
    # Built per call: the XDG variables (and tests) may change between calls.
    return platformdirs.PlatformDirs(APP_NAME, appauthor=False)


def cache_dir() -> Path:
    """Rebuildable files (the compiled CPU kernels). `DIA_STUDIO_CACHE` overrides it."""
    override = os.environ.get("DIA_STUDIO_CACHE")
    return Path(override).expanduser() if override else _dirs().user_cache_path


def data_dir() -> Path:
    """The user's own files that live outside projects (untitled projects in progress). Created on first use."""
    path = _dirs().user_data_path
    _migrate_legacy_once(path, log_dir())
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_dir() -> Path:
    """Log files (the crash log). Created on first use."""
    path = _dirs().user_log_path
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_dir() -> Path:
    """The settings file. Created on first use."""
    path = _dirs().user_config_path
    path.mkdir(parents=True, exist_ok=True)
    return path


def legacy_data_dirs() -> list[Path]:
    """Where versions before 0.1 kept their data (Qt's AppDataLocation under "Dia Studio/Dia Studio")."""
    base = Path(platformdirs.user_data_dir(roaming=True))  # Qt's AppDataLocation root on every platform
    return [base / LEGACY_NAME / LEGACY_NAME, Path.home() / ".dia-studio"]


def relocated(path: str | os.PathLike) -> Path:
    """`path` as it is after the legacy data was moved (a path recorded by an old version), else unchanged."""
    path = Path(path)
    for legacy in legacy_data_dirs():
        try:
            rest = path.relative_to(legacy)
        except ValueError:
            continue
        if rest.parts[:1] == ("logs",):
            moved = log_dir().joinpath(*rest.parts[1:])
        else:
            moved = _dirs().user_data_path / rest
        if not path.exists() and moved.exists():
            return moved
    return path


@functools.cache
def _migrate_legacy_once(new_data: Path, new_logs: Path) -> None:
    for legacy in legacy_data_dirs():
        if not legacy.is_dir():
            continue
        for child in list(legacy.iterdir()):
            target = new_logs if child.name == "logs" else new_data / child.name
            try:
                if child.name == "logs":
                    for old in child.iterdir():  # keep the old crash log beside the new one
                        if not (target / old.name).exists():
                            shutil.move(str(old), str(target / old.name))
                elif not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.move(str(child), str(target))
            except OSError as exc:  # leave it where it is: the old folder still holds it, nothing is lost
                log.warning("could not move %s to %s: %s", child, target, exc)
        parents = [legacy.parent] if legacy.parent.name == LEGACY_NAME else []
        for folder in [legacy / "logs", legacy, *parents]:
            try:
                folder.rmdir()  # only when empty
            except OSError:
                pass
