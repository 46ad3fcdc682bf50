"""`run_app(argv)`: start the editor (what `python main.py` does without a subcommand)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from gui import icons
from gui.crash import CrashReporter
from gui.main_window import MainWindow
from gui.settings import AppSettings
from gui.theme import apply_theme

APP_NAME = "Dia Studio"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dia-studio", description="Dia Studio: the script-to-dialogue editor.")
    parser.add_argument("project", nargs="?", help="project folder to open")
    parser.add_argument("--quit-after-show", action="store_true",
                        help="open the window, finish starting up, then close cleanly (a start-up smoke test)")
    return parser.parse_args(argv)


def application() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setWindowIcon(icons.app_icon())
    apply_theme(app)
    return app


def run_app(argv: list[str]) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = application()
    reporter = CrashReporter()
    reporter.install()
    try:
        window = MainWindow(AppSettings())
        opened = False
        if args.project:
            opened = window.open_project(Path(args.project))
        elif not args.quit_after_show:  # the smoke test never waits on a question
            opened = window.offer_recovery()
        if not opened:
            window.new_project()
        window.show()
        if args.quit_after_show:
            QTimer.singleShot(0, window.close)
        return app.exec()
    finally:
        reporter.uninstall()
