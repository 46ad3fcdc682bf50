"""Unhandled exceptions go to a log file and to a dialog: the app never exits silently.

Python exceptions raised inside Qt slots do not unwind through Qt; `sys.excepthook` sees them. Exceptions in
other threads arrive through `threading.excepthook`, and are shown on the GUI thread via a queued signal.
The log rotates (1 MB, three old files kept), so years of crashes cannot fill the disk."""

from __future__ import annotations

import datetime
import logging
import sys
import threading
import traceback
from logging.handlers import RotatingFileHandler
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QMessageBox

from dia_engine.appdirs import log_dir

log = logging.getLogger("dia_studio")

LOG_MAX_BYTES = 1_000_000
LOG_BACKUPS = 3  # crash.log.1 .. crash.log.3


class _CrashLogHandler(RotatingFileHandler):
    """Writes each report whole, and falls back to stderr when the log folder is unwritable."""

    def __init__(self, path: Path, max_bytes: int):
        super().__init__(path, maxBytes=max_bytes, backupCount=LOG_BACKUPS, encoding="utf-8", delay=True)
        self.setFormatter(logging.Formatter("%(message)s"))

    def handleError(self, record: logging.LogRecord) -> None:
        sys.stderr.write(record.getMessage())  # the log folder is unwritable: stderr is the last resort


class CrashReporter(QObject):
    """Installs the hooks; `reported` fires on the GUI thread for every unhandled exception."""

    reported = Signal(str, str)  # summary, full traceback
    _from_thread = Signal(str, str)

    def __init__(self, log_file: Path | None = None, show_dialog: bool = True, max_bytes: int = LOG_MAX_BYTES):
        super().__init__()
        self.log_file = log_file or log_dir() / "crash.log"
        self._log = _CrashLogHandler(self.log_file, max_bytes)
        self.show_dialog = show_dialog
        self._previous = (sys.excepthook, threading.excepthook)
        self._from_thread.connect(self._show, Qt.ConnectionType.QueuedConnection)
        self._showing = False

    def install(self) -> None:
        sys.excepthook = self._hook
        threading.excepthook = lambda args: self._hook(args.exc_type, args.exc_value, args.exc_traceback)

    def uninstall(self) -> None:
        sys.excepthook, threading.excepthook = self._previous
        self._log.close()

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
        stamp = datetime.datetime.now().isoformat(timespec="seconds")
        record = logging.LogRecord("dia_studio.crash", logging.ERROR, __file__, 0, "%s", (f"===== {stamp} =====\n{text}",),
                                   None)
        self._log.handle(record)
        self._log.flush()

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
