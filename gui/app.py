"""`run_app(argv)`: start the editor (what `python main.py` does without a subcommand)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPainter, QPixmap
from PySide6.QtWidgets import QApplication, QSplashScreen

from gui import icons, theme
from gui.crash import CrashReporter
from gui.settings import AppSettings
from gui.theme import apply_theme

APP_NAME = "Dia Studio"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dia-studio", description="Dia Studio: the script-to-dialogue editor.")
    parser.add_argument("project", nargs="?", help="project folder to open (an empty folder starts a project there)")
    parser.add_argument("--new", action="store_true", help="start a new project in PROJECT if it does not exist")
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


def splash_screen() -> QSplashScreen:
    """Shown while the engine stack (torch) is imported: a few seconds on a cold start."""
    pm = QPixmap(420, 180)
    pm.fill(theme.PANEL)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    icons.app_icon().paint(p, 24, 40, 96, 96)
    font = QFont(p.font())
    font.setPointSize(20)
    font.setBold(True)
    p.setFont(font)
    p.setPen(theme.TEXT)
    p.drawText(140, 92, APP_NAME)
    font.setPointSize(10)
    font.setBold(False)
    p.setFont(font)
    p.setPen(QColor(theme.TEXT_DIM))
    p.drawText(140, 118, "Script-to-dialogue on Dia 1.6B")
    p.end()
    splash = QSplashScreen(pm)
    splash.showMessage("Starting…", Qt.AlignmentFlag.AlignBottom | Qt.AlignmentFlag.AlignRight, theme.TEXT_DIM)
    return splash


def run_app(argv: list[str]) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = application()
    reporter = CrashReporter()
    reporter.install()
    try:
        splash = splash_screen()
        splash.show()
        app.processEvents()
        from gui.main_window import MainWindow  # imports torch (through projects and dia_engine): the slow part

        window = MainWindow(AppSettings())
        opened = False
        if args.project:
            opened = window.open_from_command_line(Path(args.project), new=args.new)
        elif not args.quit_after_show:  # the smoke test never waits on a question
            opened = window.offer_recovery()
        if not opened:
            window.new_project()
        window.show()
        splash.finish(window)
        if args.quit_after_show:
            QTimer.singleShot(0, window.close)
        return app.exec()
    finally:
        reporter.uninstall()
