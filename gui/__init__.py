"""Dia Studio's desktop editor (PySide6): views, playback and the generation worker. Entry: `gui.app.run_app`."""
