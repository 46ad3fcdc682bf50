"""Script checks: the project's lint issues (unknown tags, odd speaker tags, very short or long lines, voice
transcripts) as a list; clicking one jumps to its line."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from gui import theme
from gui.icons import severity_pixmap

ORDER = {"error": 0, "warning": 1, "info": 2}


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
        for issue in sorted(issues, key=lambda i: (ORDER.get(i.severity, 3), i.source_line)):
            where = f"Line {issue.source_line}" if issue.source_line else "Script"
            item = QListWidgetItem(QIcon(severity_pixmap(issue.severity)), f"{where} · {issue.message}")
            item.setData(Qt.ItemDataRole.UserRole, issue.source_line)
            item.setToolTip(f"{issue.severity.capitalize()} ({issue.code}): {issue.message}")
            self.list.addItem(item)
        errors = sum(1 for i in issues if i.severity == "error")
        warnings = sum(1 for i in issues if i.severity == "warning")
        self.title.setText("Script checks: all clear" if not issues else
                           f"Script checks: {errors} error(s), {warnings} warning(s)")

    def _activated(self, item: QListWidgetItem) -> None:
        line = item.data(Qt.ItemDataRole.UserRole)
        if line:
            self.lineRequested.emit(int(line))
