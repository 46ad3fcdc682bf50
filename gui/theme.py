"""The studio look: a dark palette, one colour per speaker, and the fonts the editor uses.

Colours carry meaning only together with a shape or a word (icons, labels); see `gui.icons`."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import QApplication

BACKGROUND = QColor("#1b1d21")
PANEL = QColor("#23262b")
PANEL_ALT = QColor("#2a2e34")
BORDER = QColor("#3a3f47")
TEXT = QColor("#d8dce2")
TEXT_DIM = QColor("#8a919c")
ACCENT = QColor("#5aa9ff")
WARNING = QColor("#e5b454")
ERROR = QColor("#ef5f5f")
OK = QColor("#5fcf8a")
PLAYHEAD = QColor("#ffd24a")
KNOWN_TAG = QColor("#c49bff")

# One colour per speaker tag; S1 warm, S2 cool, so the two read apart at a glance.
SPEAKER_COLORS = {"S1": QColor("#f0a35e"), "S2": QColor("#4fc3c9")}


def speaker_color(speaker: str) -> QColor:
    return SPEAKER_COLORS.get(speaker, TEXT_DIM)


def editor_font(point_size: int = 12) -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSize(point_size)
    return font


def apply_theme(app: QApplication) -> None:
    """Fusion with a dark palette: the same look on every platform, readable offscreen too."""
    app.setStyle("Fusion")
    pal = QPalette()
    pal.setColor(QPalette.ColorRole.Window, PANEL)
    pal.setColor(QPalette.ColorRole.WindowText, TEXT)
    pal.setColor(QPalette.ColorRole.Base, BACKGROUND)
    pal.setColor(QPalette.ColorRole.AlternateBase, PANEL_ALT)
    pal.setColor(QPalette.ColorRole.ToolTipBase, PANEL_ALT)
    pal.setColor(QPalette.ColorRole.ToolTipText, TEXT)
    pal.setColor(QPalette.ColorRole.PlaceholderText, TEXT_DIM)
    pal.setColor(QPalette.ColorRole.Text, TEXT)
    pal.setColor(QPalette.ColorRole.Button, PANEL_ALT)
    pal.setColor(QPalette.ColorRole.ButtonText, TEXT)
    pal.setColor(QPalette.ColorRole.BrightText, ERROR)
    pal.setColor(QPalette.ColorRole.Link, ACCENT)
    pal.setColor(QPalette.ColorRole.Highlight, QColor("#2f5f93"))
    pal.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, TEXT_DIM.darker(130))
    app.setPalette(pal)
    app.setStyleSheet(
        """
        QToolTip { border: 1px solid #3a3f47; padding: 4px; }
        QDockWidget::title { padding: 4px 6px; background: #2a2e34; }
        QToolBar { border: none; spacing: 4px; padding: 2px; }
        QStatusBar QLabel { padding: 0 6px; }
        QGroupBox { border: 1px solid #3a3f47; border-radius: 4px; margin-top: 10px; padding-top: 6px; }
        QGroupBox::title { subcontrol-origin: margin; left: 8px; padding: 0 4px; color: #8a919c; }
        """
    )
