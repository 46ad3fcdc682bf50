"""Icons drawn with QPainter, so they are crisp at any scale and need no image files.

Line-state icons differ in shape (circle, clock, ring, check, warning triangle, cross), not only in colour."""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap, QPolygonF

from gui import theme
from gui.line_state import LineState


def _canvas(size: int) -> tuple[QPixmap, QPainter]:
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    return pm, p


def state_pixmap(state: LineState, size: int = 16, progress: float | None = None) -> QPixmap:
    """The gutter icon of a line state; GENERATING shows a filling ring when `progress` is known."""
    if state is LineState.GENERATING and progress is not None:
        return _progress_ring(size, max(0.0, min(1.0, progress)))
    return _state_pixmap_cached(state, size)


@lru_cache(maxsize=64)
def _state_pixmap_cached(state: LineState, size: int) -> QPixmap:
    pm, p = _canvas(size)
    s = float(size)
    r = QRectF(2, 2, s - 4, s - 4)
    if state is LineState.MISSING:
        p.setPen(QPen(theme.TEXT_DIM, 1.5))
        p.drawEllipse(r)
    elif state is LineState.QUEUED:  # clock face
        p.setPen(QPen(theme.ACCENT, 1.5))
        p.drawEllipse(r)
        c = r.center()
        p.drawLine(c, QPointF(c.x(), r.top() + 3))
        p.drawLine(c, QPointF(r.right() - 3.5, c.y()))
    elif state is LineState.GENERATING:
        p.end()
        return _progress_ring(size, 0.0)
    elif state is LineState.DONE:  # check mark in a filled disc
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(theme.OK)
        p.drawEllipse(r)
        p.setPen(QPen(theme.BACKGROUND, 2.0, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        path = QPainterPath(QPointF(s * 0.30, s * 0.52))
        path.lineTo(QPointF(s * 0.45, s * 0.67))
        path.lineTo(QPointF(s * 0.72, s * 0.36))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPath(path)
    elif state is LineState.STALE:  # warning triangle with "!"
        tri = QPolygonF([QPointF(s / 2, 1.5), QPointF(s - 1.5, s - 2), QPointF(1.5, s - 2)])
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(theme.WARNING)
        p.drawPolygon(tri)
        p.setPen(QPen(theme.BACKGROUND, 1.8, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        p.drawLine(QPointF(s / 2, s * 0.38), QPointF(s / 2, s * 0.62))
        p.drawPoint(QPointF(s / 2, s * 0.77))
    elif state is LineState.CHECK_FAILED:  # "?" in a filled disc: generated, but it may not say the line
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(theme.WARNING)
        p.drawEllipse(r)
        p.setPen(QPen(theme.BACKGROUND, 1.8, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        path = QPainterPath(QPointF(s * 0.36, s * 0.38))
        path.cubicTo(QPointF(s * 0.36, s * 0.18), QPointF(s * 0.66, s * 0.18), QPointF(s * 0.64, s * 0.40))
        path.cubicTo(QPointF(s * 0.62, s * 0.52), QPointF(s * 0.50, s * 0.50), QPointF(s * 0.50, s * 0.62))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPath(path)
        p.drawPoint(QPointF(s / 2, s * 0.78))
    elif state is LineState.FAILED:  # cross in a filled square
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(theme.ERROR)
        p.drawRoundedRect(r, 3, 3)
        p.setPen(QPen(theme.BACKGROUND, 2.0, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        d = s * 0.30
        p.drawLine(QPointF(d, d), QPointF(s - d, s - d))
        p.drawLine(QPointF(s - d, d), QPointF(d, s - d))
    p.end()
    return pm


def _progress_ring(size: int, progress: float) -> QPixmap:
    pm, p = _canvas(size)
    r = QRectF(2.5, 2.5, size - 5, size - 5)
    p.setPen(QPen(theme.BORDER, 2.5))
    p.drawEllipse(r)
    p.setPen(QPen(theme.ACCENT, 2.5, Qt.PenStyle.SolidLine, Qt.PenCapStyle.FlatCap))
    # Always show a sliver so "just started" still reads as a ring, not as the empty circle of MISSING.
    span = max(0.08, progress)
    p.drawArc(r, 90 * 16, int(-span * 360 * 16))
    p.end()
    return pm


def _glyph_icon(draw, color: QColor = theme.TEXT, size: int = 32) -> QIcon:
    pm, p = _canvas(size)
    p.setPen(QPen(color, size / 14, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
    p.setBrush(color)
    draw(p, float(size))
    p.end()
    icon = QIcon(pm)
    return icon


def play_icon() -> QIcon:
    return _glyph_icon(lambda p, s: p.drawPolygon(QPolygonF([QPointF(s * .3, s * .2), QPointF(s * .8, s * .5),
                                                             QPointF(s * .3, s * .8)])), theme.OK)


def stop_icon() -> QIcon:
    return _glyph_icon(lambda p, s: p.drawRect(QRectF(s * .27, s * .27, s * .46, s * .46)), theme.TEXT)


def cancel_icon() -> QIcon:
    def draw(p: QPainter, s: float) -> None:
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawEllipse(QRectF(s * .15, s * .15, s * .7, s * .7))
        p.drawLine(QPointF(s * .3, s * .3), QPointF(s * .7, s * .7))
    return _glyph_icon(draw, theme.ERROR)


def generate_icon(all_lines: bool = False) -> QIcon:
    """A small waveform with a spark: 'make audio'. The 'all' variant stacks two waveforms."""
    def draw(p: QPainter, s: float) -> None:
        p.setBrush(Qt.BrushStyle.NoBrush)
        heights = (0.18, 0.36, 0.26, 0.44, 0.2)
        rows = (0.38, 0.72) if all_lines else (0.55,)
        for row in rows:
            for i, h in enumerate(heights):
                x = s * (0.14 + i * 0.13)
                hh = h * s * (0.55 if all_lines else 0.9)
                p.drawLine(QPointF(x, s * row - hh / 2), QPointF(x, s * row + hh / 2))
        star = QPolygonF([QPointF(s * .84, s * .06), QPointF(s * .89, s * .2), QPointF(s * .98, s * .24),
                          QPointF(s * .89, s * .28), QPointF(s * .84, s * .42), QPointF(s * .79, s * .28),
                          QPointF(s * .70, s * .24), QPointF(s * .79, s * .2)])
        p.setBrush(theme.PLAYHEAD)
        p.setPen(Qt.PenStyle.NoPen)
        p.drawPolygon(star)
    return _glyph_icon(draw, theme.ACCENT)


def export_icon() -> QIcon:
    def draw(p: QPainter, s: float) -> None:
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawLine(QPointF(s * .5, s * .12), QPointF(s * .5, s * .62))
        p.drawPolyline(QPolygonF([QPointF(s * .3, s * .42), QPointF(s * .5, s * .62), QPointF(s * .7, s * .42)]))
        p.drawPolyline(QPolygonF([QPointF(s * .15, s * .65), QPointF(s * .15, s * .85), QPointF(s * .85, s * .85),
                                  QPointF(s * .85, s * .65)]))
    return _glyph_icon(draw, theme.TEXT)


def app_icon() -> QIcon:
    def draw(p: QPainter, s: float) -> None:
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(theme.PANEL_ALT)
        p.drawRoundedRect(QRectF(0, 0, s, s), s * .2, s * .2)
        heights = (0.25, 0.5, 0.75, 0.45, 0.6, 0.3)
        for i, h in enumerate(heights):
            color = theme.SPEAKER_COLORS["S1" if i < 3 else "S2"]
            p.setPen(QPen(color, s * .08, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
            x = s * (0.18 + i * 0.13)
            p.drawLine(QPointF(x, s * (0.5 - h / 2.4)), QPointF(x, s * (0.5 + h / 2.4)))
    return _glyph_icon(draw, theme.TEXT, 64)


@lru_cache(maxsize=16)
def severity_pixmap(severity: str, size: int = 16) -> QPixmap:
    """Script-check icons: error = cross in a square, warning = triangle, info = "i" in a circle."""
    if severity == "error":
        return _state_pixmap_cached(LineState.FAILED, size)
    if severity == "warning":
        return _state_pixmap_cached(LineState.STALE, size)
    pm, p = _canvas(size)
    s = float(size)
    p.setPen(QPen(theme.ACCENT, 1.5))
    p.drawEllipse(QRectF(2, 2, s - 4, s - 4))
    p.setPen(QPen(theme.ACCENT, 1.8, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
    p.drawLine(QPointF(s / 2, s * 0.45), QPointF(s / 2, s * 0.72))
    p.drawPoint(QPointF(s / 2, s * 0.3))
    p.end()
    return pm
