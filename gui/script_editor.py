"""The script editor: a plain-text editor with tag highlighting, tag completion and a line-state gutter.

Undo and redo are not handled here: the main window routes them through its QUndoStack, which wraps the
document's own text undo steps (see `gui.undo`), so text edits and project edits share one history."""

from __future__ import annotations

import re

from PySide6.QtCore import QEvent, QRect, QSize, QStringListModel, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QPainter, QTextCursor, QTextFormat
from PySide6.QtWidgets import QCompleter, QPlainTextEdit, QTextEdit, QToolTip, QWidget

from gui import theme
from gui.highlighter import ScriptHighlighter
from gui.icons import state_pixmap
from gui.line_state import LineView
from gui.script_syntax import SPEAKER_TAGS, tag_at

# What may follow an opener while a completion is in progress: tag names are words and spaces.
_PAREN_PREFIX = re.compile(r"\(([A-Za-z ]{0,30})$")
_BRACKET_PREFIX = re.compile(r"\[([A-Za-z0-9]{0,3})$")
_ACCEPT_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab)


class ScriptEditor(QPlainTextEdit):
    lineActivated = Signal(int)  # block number double-clicked in the gutter (play that line)
    currentLineChanged = Signal(int)  # block number of the cursor

    def __init__(self, known_tags: tuple[str, ...] = (), parent: QWidget | None = None):
        super().__init__(parent)
        self.setFont(theme.editor_font())
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setPlaceholderText("[S1] Write the first line here. (laughs)\n[S2] And the answer here.")
        self.setCursorWidth(2)
        self._known_tags: tuple[str, ...] = ()
        self._known_set: frozenset[str] = frozenset()
        self._views: dict[int, LineView] = {}
        self._last_block = -1

        self.highlighter = ScriptHighlighter(self.document(), frozenset())
        self.gutter = LineGutter(self)

        self._tag_model = QStringListModel(self)
        self._speaker_model = QStringListModel(list(SPEAKER_TAGS), self)
        self.completer = QCompleter(self)
        self.completer.setWidget(self)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setModelSorting(QCompleter.ModelSorting.UnsortedModel)
        self.completer.activated[str].connect(self.insert_completion)
        self.set_known_tags(known_tags)

        self.blockCountChanged.connect(self._update_gutter_width)
        self.updateRequest.connect(self._update_gutter)
        self.cursorPositionChanged.connect(self._on_cursor_moved)
        self._update_gutter_width()
        self._on_cursor_moved()

    # ----- public API -------------------------------------------------------------------------------------------
    def set_known_tags(self, tags: tuple[str, ...]) -> None:
        """The non-verbal tags Dia knows, without parentheses, e.g. ("laughs", "clears throat")."""
        self._known_tags = tuple(f"({t})" for t in tags)
        self._known_set = frozenset(t.lower() for t in tags)
        self._tag_model.setStringList(list(self._known_tags))
        self.highlighter.set_known_tags(self._known_set)

    def set_line_views(self, views: dict[int, LineView]) -> None:
        """What the gutter shows, keyed by block (text line) number; blocks without an entry show nothing."""
        self._views = dict(views)
        self.gutter.update()

    def line_view(self, block_number: int) -> LineView | None:
        return self._views.get(block_number)

    def current_block_number(self) -> int:
        return self.textCursor().blockNumber()

    def move_to_block(self, block_number: int) -> None:
        block = self.document().findBlockByNumber(block_number)
        if block.isValid():
            cursor = QTextCursor(block)
            self.setTextCursor(cursor)
            self.centerCursor()

    def tag_problem_at(self, block_number: int, column: int) -> str:
        """The tooltip text for the tag at a position, or "" when there is none or it is known."""
        text = self.document().findBlockByNumber(block_number).text()
        span = tag_at(text, column, self._known_set)
        return span.problem(self._known_tags) if span else ""

    # ----- completion ---------------------------------------------------------------------------------------------
    def _completion_context(self) -> tuple[str, str] | None:
        """(opener, typed prefix) when the cursor sits right after an unfinished `(` or `[` tag."""
        cursor = self.textCursor()
        before = cursor.block().text()[: cursor.positionInBlock()]
        if m := _PAREN_PREFIX.search(before):
            return "(", "(" + m.group(1)
        if m := _BRACKET_PREFIX.search(before):
            return "[", "[" + m.group(1)
        return None

    def start_completion(self) -> bool:
        """Open (or refresh) the completion popup for the tag being typed. Returns whether it is shown."""
        context = self._completion_context()
        popup = self.completer.popup()
        if context is None:
            popup.hide()
            return False
        opener, prefix = context
        model = self._tag_model if opener == "(" else self._speaker_model
        if self.completer.model() is not model:
            self.completer.setModel(model)
        self.completer.setCompletionPrefix(prefix)
        if self.completer.completionCount() == 0:
            popup.hide()
            return False
        popup.setCurrentIndex(self.completer.completionModel().index(0, 0))
        rect = self.cursorRect()
        rect.setWidth(popup.sizeHintForColumn(0) + popup.verticalScrollBar().sizeHint().width() + 12)
        self.completer.complete(rect)
        return True

    def insert_completion(self, completion: str) -> None:
        """Replace the typed prefix by the whole tag; never doubles a closing `)` or `]` already there."""
        context = self._completion_context()
        if context is None:
            return
        _, prefix = context
        cursor = self.textCursor()
        cursor.beginEditBlock()
        cursor.movePosition(QTextCursor.MoveOperation.Left, QTextCursor.MoveMode.KeepAnchor, len(prefix))
        after = cursor.block().text()[cursor.selectionEnd() - cursor.block().position():]
        cursor.insertText(completion)
        closer = completion[-1]
        if after.startswith(closer):
            cursor.deleteChar()
            after = after[1:]
        if completion in SPEAKER_TAGS and not after.startswith(" "):
            cursor.insertText(" ")
        cursor.endEditBlock()
        self.setTextCursor(cursor)
        self.completer.popup().hide()

    # ----- events -------------------------------------------------------------------------------------------------
    def event(self, e: QEvent) -> bool:
        if e.type() == QEvent.Type.ShortcutOverride:
            ke: QKeyEvent = e  # type: ignore[assignment]
            if ke.key() == Qt.Key.Key_Escape and self.completer.popup().isVisible():
                e.accept()  # Esc closes the popup here instead of stopping generation
                return True
            if ke.matches(QKeySequence.StandardKey.Undo) or ke.matches(QKeySequence.StandardKey.Redo):
                e.ignore()  # let the window's Undo/Redo actions (the shared QUndoStack) take it
                return False
        return super().event(e)

    def keyPressEvent(self, e: QKeyEvent) -> None:  # noqa: N802 (Qt override)
        popup = self.completer.popup()
        if popup.isVisible():
            if e.key() in _ACCEPT_KEYS:
                index = popup.currentIndex()
                self.insert_completion(index.data() if index.isValid() else self.completer.currentCompletion())
                e.accept()
                return
            if e.key() == Qt.Key.Key_Escape:
                popup.hide()
                e.accept()
                return
        if e.matches(QKeySequence.StandardKey.Undo) or e.matches(QKeySequence.StandardKey.Redo):
            e.ignore()
            return
        if e.key() == Qt.Key.Key_Space and e.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.start_completion()
            return
        was_open = popup.isVisible()
        super().keyPressEvent(e)
        typed = e.text()
        if typed in ("(", "[") or (was_open and (typed or e.key() == Qt.Key.Key_Backspace)):
            self.start_completion()
        elif was_open and e.key() in (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Home, Qt.Key.Key_End):
            self.start_completion()

    def viewportEvent(self, e: QEvent) -> bool:  # noqa: N802 (Qt override)
        if e.type() == QEvent.Type.ToolTip:
            cursor = self.cursorForPosition(e.pos())
            problem = self.tag_problem_at(cursor.blockNumber(), cursor.positionInBlock())
            if not problem and cursor.positionInBlock() > 0:  # the hit test rounds to the nearest gap
                problem = self.tag_problem_at(cursor.blockNumber(), cursor.positionInBlock() - 1)
            if problem:
                QToolTip.showText(e.globalPos(), problem, self.viewport())
            else:
                QToolTip.hideText()
                e.ignore()
            return True
        return super().viewportEvent(e)

    def resizeEvent(self, e) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(e)
        cr = self.contentsRect()
        self.gutter.setGeometry(QRect(cr.left(), cr.top(), self.gutter.width_hint(), cr.height()))

    # ----- gutter plumbing ----------------------------------------------------------------------------------------
    def _update_gutter_width(self, *_args) -> None:
        self.setViewportMargins(self.gutter.width_hint(), 0, 0, 0)

    def _update_gutter(self, rect: QRect, dy: int) -> None:
        if dy:
            self.gutter.scroll(0, dy)
        else:
            self.gutter.update(0, rect.y(), self.gutter.width(), rect.height())

    def reset_current_line(self) -> None:
        """After the whole text was replaced (another project): highlight and announce the cursor's line again."""
        self._last_block = -1
        self._on_cursor_moved()

    def _on_cursor_moved(self) -> None:
        if self.document().isEmpty():
            self.setExtraSelections([])  # the highlight would hide the placeholder's first line
        else:
            sel = QTextEdit.ExtraSelection()
            sel.format.setBackground(theme.PANEL_ALT)
            sel.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
            sel.cursor = self.textCursor()
            sel.cursor.clearSelection()
            self.setExtraSelections([sel])
        block = self.textCursor().blockNumber()
        if block != self._last_block:
            self._last_block = block
            self.currentLineChanged.emit(block)
            self.gutter.update()

    def visible_blocks(self):
        """(block, top, bottom) in viewport coordinates for each visible block."""
        block = self.firstVisibleBlock()
        top = self.blockBoundingGeometry(block).translated(self.contentOffset()).top()
        height = self.viewport().height()
        while block.isValid() and top <= height:
            bottom = top + self.blockBoundingRect(block).height()
            if block.isVisible():
                yield block, int(top), int(bottom)
            block = block.next()
            top = bottom


class LineGutter(QWidget):
    """Left margin of the editor: per line a state icon (with a tooltip) and the estimated or actual length."""

    ICON = 16

    def __init__(self, editor: ScriptEditor):
        super().__init__(editor)
        self.editor = editor
        self.setMouseTracking(True)

    def width_hint(self) -> int:
        return 8 + self.ICON + 6 + self.fontMetrics().horizontalAdvance("~00.0s") + 8

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(self.width_hint(), 0)

    def block_at(self, y: int) -> int | None:
        for block, top, bottom in self.editor.visible_blocks():
            if top <= y < bottom:
                return block.blockNumber()
        return None

    def paintEvent(self, e) -> None:  # noqa: N802 (Qt override)
        p = QPainter(self)
        p.fillRect(e.rect(), theme.PANEL)
        p.setPen(theme.BORDER)
        p.drawLine(self.width() - 1, e.rect().top(), self.width() - 1, e.rect().bottom())
        current = self.editor.current_block_number()
        fm = self.fontMetrics()
        line_height = fm.height()
        for block, top, bottom in self.editor.visible_blocks():
            if bottom < e.rect().top():
                continue
            n = block.blockNumber()
            view = self.editor.line_view(n)
            if view is None:
                continue
            if view.speaker:  # a stripe in the colour of the voice this line opens with
                p.fillRect(self.width() - 4, top + 2, 3, bottom - top - 4, theme.speaker_color(view.speaker))
            y_icon = top + max(0, (min(bottom - top, line_height + 4) - self.ICON) // 2)
            p.drawPixmap(8, y_icon, state_pixmap(view.state, self.ICON, view.progress))
            seconds = view.take_seconds if view.take_seconds is not None else view.estimated_seconds
            if seconds is not None:
                label = f"{seconds:.1f}s" if view.take_seconds is not None else f"~{seconds:.1f}s"
                p.setPen(theme.TEXT if (view.take_seconds is not None or n == current) else theme.TEXT_DIM)
                rect = QRect(8 + self.ICON + 4, top, self.width() - self.ICON - 18, line_height + 4)
                p.drawText(rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)
        p.end()

    def event(self, e: QEvent) -> bool:
        if e.type() == QEvent.Type.ToolTip:
            n = self.block_at(e.pos().y())
            view = self.editor.line_view(n) if n is not None else None
            if view is not None:
                QToolTip.showText(e.globalPos(), view.tooltip(), self)
            else:
                QToolTip.hideText()
            return True
        return super().event(e)

    def mousePressEvent(self, e) -> None:  # noqa: N802 (Qt override)
        n = self.block_at(int(e.position().y()))
        if n is not None:
            self.editor.move_to_block(n)

    def mouseDoubleClickEvent(self, e) -> None:  # noqa: N802 (Qt override)
        n = self.block_at(int(e.position().y()))
        if n is not None:
            self.editor.lineActivated.emit(n)
