"""Syntax highlighting of the script: speaker tags in their speaker's colour, known non-verbal tags in italics,
unknown tags with a wavy red underline (the editor shows why in a tooltip)."""

from __future__ import annotations

from PySide6.QtGui import QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument

from gui import theme
from gui.script_syntax import find_tags


class ScriptHighlighter(QSyntaxHighlighter):
    def __init__(self, document: QTextDocument, known_tags: frozenset[str]):
        super().__init__(document)
        self._known = known_tags
        self._speaker_formats = {}
        for speaker, color in theme.SPEAKER_COLORS.items():
            fmt = QTextCharFormat()
            fmt.setForeground(color)
            fmt.setFontWeight(QFont.Weight.Bold)
            self._speaker_formats[speaker] = fmt
        self._known_tag = QTextCharFormat()
        self._known_tag.setForeground(theme.KNOWN_TAG)
        self._known_tag.setFontItalic(True)
        self._unknown = QTextCharFormat()
        self._unknown.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
        self._unknown.setUnderlineColor(theme.ERROR)
        self._unknown.setForeground(theme.TEXT)

    def set_known_tags(self, known_tags: frozenset[str]) -> None:
        self._known = known_tags
        self.rehighlight()

    def highlightBlock(self, text: str) -> None:  # noqa: N802 (Qt override)
        for span in find_tags(text, self._known):
            if not span.known:
                fmt = self._unknown
            elif span.kind == "speaker":
                fmt = self._speaker_formats[span.speaker]
            else:
                fmt = self._known_tag
            self.setFormat(span.start, span.end - span.start, fmt)
