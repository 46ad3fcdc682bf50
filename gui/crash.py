"""Unhandled exceptions go to a log file and to a dialog: the app never exits silently.

Python exceptions raised inside Qt slots do not unwind through Qt; `sys.excepthook` sees them. Exceptions in
other threads arrive through `threading.excepthook`, and are shown on the GUI thread via a queued signal."""

from __future__ import annotations

import datetime
import logging
import sys
import threading
import traceback
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, Qt, Signal
from PySide6.QtWidgets import QApplication, QMessageBox

log = logging.getLogger("dia_studio")


def log_dir() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    path = Path(base or Path.home() / ".dia-studio") / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


class CrashReporter(QObject):
    """Installs the hooks; `reported` fires on the GUI thread for every unhandled exception."""

    reported = Signal(str, str)  # summary, full traceback
    _from_thread = Signal(str, str)

    def __init__(self, log_file: Path | None = None, show_dialog: bool = True):
        super().__init__()
        self.log_file = log_file or log_dir() / "crash.log"
        self.show_dialog = show_dialog
        self._previous = (sys.excepthook, threading.excepthook)
        self._from_thread.connect(self._show, Qt.ConnectionType.QueuedConnection)
        self._showing = False

    def install(self) -> None:
        sys.excepthook = self._hook
        threading.excepthook = lambda args: self._hook(args.exc_type, args.exc_value, args.exc_traceback)

    def uninstall(self) -> None:
        sys.excepthook, threading.excepthook = self._previous

    def _hook(self, exc_type, exc, tb) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            QApplication.quit()
            return
        text = "".join(traceback.format_exception(exc_type, exc, tb))
        summary = f"{exc_type.__name__}: {exc}"
        self.write_log(text)
        log.error("unhandled exception\n%s", text)
        if threading.current_thread() is threading.main_thread():
            self._show(summary, text)
        else:
            self._from_thread.emit(summary, text)

    def write_log(self, text: str) -> None:
        try:
            with self.log_file.open("a", encoding="utf-8") as f:
                f.write(f"\n===== {datetime.datetime.now().isoformat(timespec='seconds')} =====\n{text}")
        except OSError:
            sys.stderr.write(text)  # the log folder is unwritable: stderr is the last resort

    def _show(self, summary: str, text: str) -> None:
        self.reported.emit(summary, text)
        if not self.show_dialog or self._showing or QApplication.instance() is None:
            return
        self._showing = True  # one dialog at a time: an error in a paint event would otherwise cascade
        try:
            box = QMessageBox(QApplication.activeWindow())
            box.setIcon(QMessageBox.Icon.Critical)
            box.setWindowTitle("Unexpected error")
            box.setText("Something went wrong. Your project is autosaved; you can keep working or save now.")
            box.setInformativeText(f"{summary}\n\nDetails were written to:\n{self.log_file}")
            box.setDetailedText(text)
            box.exec()
        finally:
            self._showing = False
