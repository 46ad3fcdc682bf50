"""Waveform drawing: a min/max envelope computed once per clip, drawn per pixel column, with a playhead and, for
takes that carry word timings (Dia2), each word's start marked and labelled where there is room."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from PySide6.QtCore import QLineF, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from gui import theme

ENVELOPE_POINTS = 4096


def envelope(audio: np.ndarray, points: int = ENVELOPE_POINTS) -> np.ndarray:
    """[n, 2] (min, max) over `n <= points` equal slices of `audio`."""
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    if audio.size == 0:
        return np.zeros((0, 2), np.float32)
    n = min(points, audio.size)
    edges = np.linspace(0, audio.size, n + 1).astype(np.int64)
    lo = np.minimum.reduceat(audio, edges[:-1])
    hi = np.maximum.reduceat(audio, edges[:-1])
    return np.stack([lo, hi], axis=1)


def resample_envelope(env: np.ndarray, columns: int) -> np.ndarray:
    """The envelope squeezed (or stretched) to `columns` pixel columns."""
    if len(env) == 0 or columns <= 0:
        return np.zeros((0, 2), np.float32)
    edges = np.linspace(0, len(env), columns + 1).astype(np.int64)
    edges = np.minimum(edges, len(env) - 1)
    starts = edges[:-1]
    lo = np.minimum.reduceat(env[:, 0], starts)
    hi = np.maximum.reduceat(env[:, 1], starts)
    return np.stack([lo, hi], axis=1)


def paint_waveform(p: QPainter, rect: QRectF, env: np.ndarray, color: QColor, gain: float = 1.0) -> None:
    """Draw an envelope into `rect` as vertical min/max strokes (one per pixel column)."""
    columns = max(1, int(rect.width()))
    cols = resample_envelope(env, columns)
    if len(cols) == 0:
        return
    mid = rect.center().y()
    half = rect.height() / 2 - 1
    p.setPen(QPen(color, 1.0))
    x0 = rect.left()
    top = (mid - np.clip(cols[:, 1] * gain, -1, 1) * half).tolist()
    bottom = (mid - np.clip(cols[:, 0] * gain, -1, 1) * half - 0.5).tolist()
    # One drawLines call: a drawLine per column costs a Python round trip each (the timeline paints 60+ clips).
    p.drawLines([QLineF(x0 + i + 0.5, t, x0 + i + 0.5, b) for i, (t, b) in enumerate(zip(top, bottom))])


def word_marks(words: Sequence[tuple[str, float]], duration: float, left: float, width: float,
               text_width: Callable[[str], float], gap: float = 4.0) -> list[tuple[float, str, bool]]:
    """(x, word, labelled) for each word starting inside the clip: every word gets a tick at its start; a label
    is drawn only where it does not run into the label before it."""
    marks, free_from = [], left
    for word, start in words:
        if duration <= 0 or not 0 <= start < duration:
            continue
        x = left + width * start / duration
        labelled = x >= free_from
        if labelled:
            free_from = x + text_width(word) + gap
        marks.append((x, word, labelled))
    return marks


class WaveformView(QWidget):
    """One clip's waveform with a playhead; clicking asks to play from that point."""

    seekRequested = Signal(float)  # seconds

    def __init__(self, parent: QWidget | None = None, color: QColor = theme.ACCENT, compact: bool = False):
        super().__init__(parent)
        self._env = np.zeros((0, 2), np.float32)
        self._duration = 0.0
        self._playhead: float | None = None
        self._color = QColor(color)
        self._placeholder = "No audio"
        self._words: tuple[tuple[str, float], ...] = ()
        self._compact = compact
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(28 if compact else 64)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(240, 32 if self._compact else 72)

    def set_audio(self, audio: np.ndarray | None, sample_rate: int, color: QColor | None = None) -> None:
        if audio is None or len(audio) == 0:
            self._env, self._duration = np.zeros((0, 2), np.float32), 0.0
        else:
            self._env, self._duration = envelope(audio), len(audio) / sample_rate
        if color is not None:
            self._color = QColor(color)
        self._playhead = None
        self._words = ()
        self.update()

    def set_words(self, words: Sequence[tuple[str, float]] | None) -> None:
        """Mark each word's start (seconds into the clip); None or () shows none."""
        self._words = tuple(words or ())
        self.setToolTip("Word starts as the model timed them" if self._words else "")
        self.update()

    @property
    def words(self) -> tuple[tuple[str, float], ...]:
        return self._words

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self.update()

    @property
    def duration(self) -> float:
        return self._duration

    def set_playhead(self, seconds: float | None) -> None:
        self._playhead = seconds
        self.update()

    def paintEvent(self, e) -> None:  # noqa: N802 (Qt override)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        r = QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
        p.fillRect(r, theme.BACKGROUND)
        p.setPen(theme.BORDER)
        p.drawRect(r)
        if len(self._env) == 0:
            p.setPen(theme.TEXT_DIM)
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, self._placeholder)
            return
        p.setPen(QPen(theme.BORDER, 1, Qt.PenStyle.DotLine))
        p.drawLine(QPointF(r.left(), r.center().y()), QPointF(r.right(), r.center().y()))
        paint_waveform(p, r.adjusted(2, 3, -2, -3), self._env, self._color)
        if self._words and not self._compact:
            metrics = p.fontMetrics()
            for x, word, labelled in word_marks(self._words, self._duration, r.left() + 2, r.width() - 4,
                                                metrics.horizontalAdvance):
                p.setPen(QPen(theme.TEXT_DIM, 1, Qt.PenStyle.DotLine))
                p.drawLine(QPointF(x, r.top() + 2), QPointF(x, r.bottom() - 2))
                if labelled:
                    p.setPen(theme.TEXT)
                    p.drawText(QPointF(x + 2, r.bottom() - 4), word)
        if self._playhead is not None and self._duration > 0:
            x = r.left() + 2 + (r.width() - 4) * min(1.0, self._playhead / self._duration)
            p.setPen(QPen(theme.PLAYHEAD, 1.5))
            p.drawLine(QPointF(x, r.top()), QPointF(x, r.bottom()))
        if not self._compact:
            p.setPen(theme.TEXT_DIM)
            p.drawText(r.adjusted(6, 2, -6, -2), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop,
                       f"{self._duration:.2f} s")

    def mousePressEvent(self, e) -> None:  # noqa: N802 (Qt override)
        if self._duration > 0 and e.button() == Qt.MouseButton.LeftButton:
            frac = (e.position().x() - 2) / max(1.0, self.width() - 4)
            self.seekRequested.emit(max(0.0, min(1.0, frac)) * self._duration)
