"""Script checks: the project's lint issues (unknown tags, odd speaker tags, very short or long lines, voice
transcripts) as a list; clicking one jumps to its line."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from gui import theme
from gui.icons import severity_pixmap

ORDER = {"error": 0, "warning": 1, "info": 2}


def as_hint(issue):
    """An empty script is where every project starts, not a mistake: the editor shows it as a hint (render still
    refuses to render nothing)."""
    if issue.code != "empty-script":
        return issue
    return replace(issue, severity="info",
                   message="Write the first line to begin: [S1] for the first voice, [S2] for the second")


class ChecksPanel(QWidget):
    lineRequested = Signal(int)  # 1-based script line

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel()
        self.title.setStyleSheet(f"color: {theme.TEXT_DIM.name()}; padding: 2px 2px;")
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.list.itemActivated.connect(self._activated)
        self.list.itemClicked.connect(self._activated)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 0, 6, 6)
        layout.addWidget(self.title)
        layout.addWidget(self.list, 1)
        self.set_issues([])

    def set_issues(self, issues) -> None:
        self.list.clear()
        issues = [as_hint(issue) for issue in issues]
        for issue in sorted(issues, key=lambda i: (ORDER.get(i.severity, 3), i.source_line)):
            where = f"Line {issue.source_line}" if issue.source_line else "Script"
            item = QListWidgetItem(QIcon(severity_pixmap(issue.severity)), f"{where} · {issue.message}")
            item.setData(Qt.ItemDataRole.UserRole, issue.source_line)
            kind = "Hint" if issue.severity == "info" else issue.severity.capitalize()
            item.setToolTip(f"{kind} ({issue.code}): {issue.message}")
            self.list.addItem(item)
        errors = sum(1 for i in issues if i.severity == "error")
        warnings = sum(1 for i in issues if i.severity == "warning")
        if not errors and not warnings:
            self.title.setText("Script checks: all clear" if not issues else "Script checks: hints only")
        else:
            self.title.setText(f"Script checks: {errors} error(s), {warnings} warning(s)")

    def _activated(self, item: QListWidgetItem) -> None:
        line = item.data(Qt.ItemDataRole.UserRole)
        if line:
            self.lineRequested.emit(int(line))
