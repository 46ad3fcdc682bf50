"""The app's own folders (platformdirs, one place), moving an old version's data, the rotating crash log."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from dia_engine import appdirs
from dia_engine.cpu_kernels import cache_dir as kernel_cache_dir

QT_USER_CONFIG = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")  # Qt's default, to restore


@pytest.fixture
def home(tmp_path, monkeypatch):
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    monkeypatch.delenv("DIA_STUDIO_CACHE", raising=False)
    return tmp_path


def test_every_folder_comes_from_one_place(home, monkeypatch):
    assert appdirs.cache_dir() == home / "xdg_cache_home" / "dia-studio"
    assert kernel_cache_dir() == home / "xdg_cache_home" / "dia-studio" / "kernels"
    assert appdirs.data_dir() == home / "xdg_data_home" / "dia-studio"  # no doubled "Dia Studio/Dia Studio"
    assert appdirs.log_dir() == home / "xdg_state_home" / "dia-studio" / "log"
    assert appdirs.config_dir() == home / "xdg_config_home" / "dia-studio"
    monkeypatch.setenv("DIA_STUDIO_CACHE", str(home / "elsewhere"))
    assert kernel_cache_dir() == home / "elsewhere" / "kernels"


def test_an_old_versions_data_is_moved_once_and_old_paths_still_resolve(home):
    legacy = home / "xdg_data_home" / "Dia Studio" / "Dia Studio"
    old_project = legacy / "unsaved" / "untitled-20260101-120000"
    old_project.mkdir(parents=True)
    (old_project / "project.json").write_text("{}")
    (legacy / "logs").mkdir()
    (legacy / "logs" / "crash.log").write_text("old crash\n")

    data = appdirs.data_dir()
    moved = data / "unsaved" / "untitled-20260101-120000" / "project.json"
    assert moved.read_text() == "{}"
    assert (appdirs.log_dir() / "crash.log").read_text() == "old crash\n"
    assert not (home / "xdg_data_home" / "Dia Studio").exists()
    assert appdirs.relocated(old_project) == moved.parent  # e.g. the crashed session QSettings remembers
    assert appdirs.relocated(home / "a" / "project") == home / "a" / "project"


def test_the_crash_log_rotates(qtbot, tmp_path):
    from gui.crash import LOG_BACKUPS, CrashReporter

    reporter = CrashReporter(log_file=tmp_path / "crash.log", show_dialog=False, max_bytes=2_000)
    for i in range(20):
        reporter.write_log(f"Traceback {i}\n" + "x" * 500 + "\n")
    reporter.uninstall()
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["crash.log"] + [f"crash.log.{n}" for n in range(1, LOG_BACKUPS + 1)]
    assert all(p.stat().st_size <= 2_000 for p in tmp_path.iterdir())
    assert "Traceback 19" in (tmp_path / "crash.log").read_text()


def test_settings_of_an_old_version_are_carried_over(home, qapp):
    from gui.settings import AppSettings, default_qsettings

    QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, str(home / "old-config"))
    try:
        old = QSettings(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, "Dia Studio", "Dia Studio")
        old.setValue("engine/model", "/models/my-finetune")
        old.setValue("recent", ["/podcasts/ep1", "/podcasts/ep2"])
        old.sync()
        settings = AppSettings(default_qsettings())
    finally:
        QSettings.setPath(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, QT_USER_CONFIG)
    assert settings.q.fileName() == str(home / "xdg_config_home" / "dia-studio" / "settings.ini")
    assert settings.engine().model == "/models/my-finetune"
    assert settings.recent_projects() == ["/podcasts/ep1", "/podcasts/ep2"]
