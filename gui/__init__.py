"""Dia Studio's desktop editor (PySide6): views, playback and the generation worker. Entry: `gui.app.run_app`."""

from gui import qt_compat as _qt_compat  # noqa: F401  (guards against a PySide6 6.12.0 refcount bug first)
