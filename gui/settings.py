"""The app's settings in QSettings, with typed accessors and the defaults in one place.

They live in `settings.ini` in the app's config folder (`dia_engine.appdirs`); settings an older version kept
in Qt's default place (organisation and application both "Dia Studio") are copied over on first start."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

from PySide6.QtCore import QByteArray, QSettings

from dia_engine import appdirs
from projects.catalogue import DEFAULT_MODEL
from projects.sampling import FIELD_SPECS, STORED_FIELDS

SETTINGS_FILE = "settings.ini"
LEGACY_QT_NAME = "Dia Studio"

MAX_RECENT = 8


@dataclass
class EngineSettings:
    model: str = DEFAULT_MODEL  # hub repo id or local folder
    codec: str = "auto"  # "auto" (official DAC), a weights.pth path, or "none"
    device: str = ""  # "" = automatic (CUDA when present), else cpu / cuda / mps
    dtype: str = ""  # "" = automatic (bfloat16 on CUDA, float32 otherwise)
    batch_size: int = 4  # lines per engine call


@dataclass
class ExportDefaults:
    loudness_preset: str = "podcast"
    format: str = "wav"


def _read(settings: QSettings, group: str, cls):
    settings.beginGroup(group)
    try:
        values = {}
        for f in fields(cls):
            default = f.default
            raw = settings.value(f.name, default)
            try:
                values[f.name] = type(default)(raw)
            except (TypeError, ValueError):
                values[f.name] = default  # a hand-edited or old settings file must not break the start
        return cls(**values)
    finally:
        settings.endGroup()


def _write(settings: QSettings, group: str, obj) -> None:
    settings.beginGroup(group)
    for name, value in asdict(obj).items():
        settings.setValue(name, value)
    settings.endGroup()


def default_qsettings() -> QSettings:
    """The user's settings file; on the first start after an update, filled from the old location."""
    path = appdirs.config_dir() / SETTINGS_FILE
    fresh = not path.exists()
    q = QSettings(str(path), QSettings.Format.IniFormat)
    if fresh:
        legacy = QSettings(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, LEGACY_QT_NAME, LEGACY_QT_NAME)
        for key in legacy.allKeys():
            q.setValue(key, legacy.value(key))
        q.sync()
    return q


class AppSettings:
    """Wraps a QSettings; pass one in tests to keep them away from the user's real settings."""

    def __init__(self, qsettings: QSettings | None = None):
        self.q = qsettings if qsettings is not None else default_qsettings()

    def engine(self) -> EngineSettings:
        return _read(self.q, "engine", EngineSettings)

    def set_engine(self, value: EngineSettings) -> None:
        _write(self.q, "engine", value)

    def sampling_defaults(self, family: str) -> dict[str, float | int | None]:
        """Sampling values new projects on a model of `family` start with (None = the family's default)."""
        values = self._read_sampling(f"sampling_{family}")
        if not any(v is not None for v in values.values()) and family == "dia":
            values = self._read_sampling("sampling")  # where versions before Dia2 kept Dia 1.6B's
        return values

    def set_sampling_defaults(self, family: str, values: Mapping[str, object]) -> None:
        self.q.remove(f"sampling_{family}")
        for name in STORED_FIELDS:
            if values.get(name) is not None:
                self.q.setValue(f"sampling_{family}/{name}", values[name])

    def _read_sampling(self, group: str) -> dict[str, float | int | None]:
        values: dict[str, float | int | None] = {}
        for name in STORED_FIELDS:
            raw = self.q.value(f"{group}/{name}")
            kind = FIELD_SPECS[name].kind if name in FIELD_SPECS else int
            try:
                values[name] = None if raw in (None, "") else kind(float(raw)) if kind is int else float(raw)
            except (TypeError, ValueError):
                values[name] = None  # a hand-edited settings file must not break the start
        if values.get("max_tokens") == 0:
            values["max_tokens"] = None
        return values

    def export(self) -> ExportDefaults:
        return _read(self.q, "export", ExportDefaults)

    def set_export(self, value: ExportDefaults) -> None:
        _write(self.q, "export", value)

    def recent_projects(self) -> list[str]:
        value = self.q.value("recent", [])
        if isinstance(value, str):  # QSettings returns a lone string for a one-element list on some backends
            value = [value]
        return [str(v) for v in (value or [])]

    def add_recent_project(self, path: str) -> None:
        recent = [p for p in self.recent_projects() if p != path]
        self.q.setValue("recent", ([path] + recent)[:MAX_RECENT])

    def remove_recent_project(self, path: str) -> None:
        self.q.setValue("recent", [p for p in self.recent_projects() if p != path])

    # An "open" marker that only a clean exit removes: if it is still there at start, the last run crashed.
    def mark_session_open(self, project_folder: str) -> None:
        self.q.setValue("session/open_project", project_folder)
        self.q.setValue("session/clean", False)
        self.q.sync()

    def mark_session_closed(self) -> None:
        self.q.setValue("session/clean", True)
        self.q.sync()

    def unclean_session(self) -> str | None:
        """The project folder that was open when the app last ended without a clean exit."""
        clean = self.q.value("session/clean", True)
        if str(clean).lower() in ("true", "1"):
            return None
        folder = self.q.value("session/open_project")
        return str(appdirs.relocated(folder)) if folder else None  # an old version's untitled project has moved

    def autosave_seconds(self) -> int:
        try:
            return max(1, int(self.q.value("autosave_seconds", 15)))
        except (TypeError, ValueError):
            return 15

    def window_state(self) -> tuple[QByteArray | None, QByteArray | None]:
        return self.q.value("window/geometry"), self.q.value("window/state")

    def set_window_state(self, geometry: QByteArray, state: QByteArray) -> None:
        self.q.setValue("window/geometry", geometry)
        self.q.setValue("window/state", state)

    def sync(self) -> None:
        self.q.sync()
