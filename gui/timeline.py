"""The timeline strip: the active takes in script order with their waveforms, gaps and gains, a playhead
that follows playback, a cursor to play from, and the mix's integrated loudness.

The mix is rebuilt off the GUI thread (reading takes and measuring loudness takes a while on long episodes);
the newest request wins."""

from __future__ import annotations

import math
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPen
from PySide6.QtWidgets import (QCheckBox, QDoubleSpinBox, QHBoxLayout, QLabel, QScrollArea, QSizePolicy, QToolButton,
                               QVBoxLayout, QWidget)

from gui import theme
from gui.waveform import envelope, paint_waveform
from projects.timeline import Timeline

RULER = 20
ENVELOPE_PER_SECOND = 400


@dataclass
class Clip:
    line_id: str
    start: float  # seconds
    duration: float
    stem: str  # "S1", "S2" or "S1+S2"
    gap_ms: float
    gain_db: float
    envelope: np.ndarray


@dataclass
class MixSnapshot:
    clips: list[Clip]
    mix: np.ndarray  # float32 mono
    sample_rate: int
    loudness_lufs: float | None

    @property
    def duration(self) -> float:
        return len(self.mix) / self.sample_rate if self.sample_rate else 0.0

    def clip_for(self, line_id: str) -> Clip | None:
        return next((c for c in self.clips if c.line_id == line_id), None)


MIX_CACHE_BYTES = 512 << 20  # processed clips the editor keeps between rebuilds


def snapshot(timeline: Timeline, envelopes: dict | None = None) -> MixSnapshot:
    """Everything the strip draws and plays, computed once per rebuild (runs on the builder's thread).

    `envelopes` (by clip shape) and the timeline's clip cache carry over between rebuilds: after a gap or gain
    edit only the clips whose shape changed are read and processed again; the rest is summed from memory."""
    from projects.loudness import integrated_loudness  # pyloudnorm pulls in scipy: import it off the start-up path

    envelopes = {} if envelopes is None else envelopes
    rate = timeline.sample_rate
    clips = []
    for p in timeline.placements:
        seconds = p.length / rate
        key = p.shape if p.spec.key is not None else None
        shape = envelopes.get(key) if key is not None else None
        if shape is None:
            shape = envelope(timeline.clip(p), max(16, int(seconds * ENVELOPE_PER_SECOND)))
            if key is not None:
                envelopes[key] = shape
        clips.append(Clip(p.spec.line_id, p.start / rate, seconds, p.spec.stem, p.spec.gap_ms, p.spec.gain_db, shape))
    mix = timeline.mix()
    return MixSnapshot(clips, mix, rate, integrated_loudness(mix, rate) if len(mix) else None)


class MixBuilder(QObject):
    """Rebuilds the mix of a project on a background thread; `ready` carries the newest result."""

    ready = Signal(object)  # MixSnapshot
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mix")
        self._generation = 0
        self._closed = False
        self._clips = OrderedDict()  # processed clips by shape, shared by successive timelines (builder thread only)
        self._envelopes: dict = {}

    def request(self, project) -> None:
        if self._closed:
            return
        self._generation += 1
        generation = self._generation

        def build() -> None:
            if generation != self._generation:
                return  # a newer request is already queued
            try:
                timeline = project.timeline(allow_missing=True)
                timeline.cache, timeline.cache_bytes = self._clips, MIX_CACHE_BYTES
                if len(self._envelopes) > 20_000:
                    self._envelopes.clear()
                result = snapshot(timeline, self._envelopes)
                if timeline.warnings:
                    self.failed.emit("; ".join(timeline.warnings))
            except Exception as e:  # a take file vanished, ...: show it, keep the old strip
                self.failed.emit(str(e))
                return
            if generation == self._generation:
                self.ready.emit(result)

        self._pool.submit(build)

    def shutdown(self) -> None:
        self._closed = True
        self._generation += 1
        self._pool.shutdown(wait=True, cancel_futures=True)


def stem_color(stem: str) -> QColor:
    return theme.speaker_color(stem.split("+")[0])


class TimelineView(QWidget):
    cursorMoved = Signal(float)  # seconds, set by a click
    clipSelected = Signal(str)  # line id
    gapDragged = Signal(str, float)  # line id, new gap in ms (on release)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.snapshot: MixSnapshot | None = None
        self.pixels_per_second = 40.0
        self.playhead: float | None = None
        self.cursor_seconds = 0.0
        self.selected: str | None = None
        self._drag: tuple[str, float, float] | None = None  # line id, press x, offset px
        self.fit_to_width = True  # until the user zooms, the whole episode fits the strip
        self.overlays: list = []  # paint(view, painter) callables drawn over the clips
        self.setMinimumHeight(90)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)

    # ----- state --------------------------------------------------------------------------------------------------
    def set_snapshot(self, snap: MixSnapshot | None) -> None:
        self.snapshot = snap
        if self.fit_to_width:
            self.fit(self.parentWidget().width() if self.parentWidget() else self.width())
        self._resize()
        self.update()

    def fit(self, width: int) -> None:
        duration = self.snapshot.duration if self.snapshot else 0.0
        if duration > 0 and width > 100:
            self.pixels_per_second = max(5.0, min(400.0, (width - 24) / (duration * 1.04)))

    def set_playhead(self, seconds: float | None) -> None:
        self.playhead = seconds
        self.update()

    def set_cursor(self, seconds: float) -> None:
        self.cursor_seconds = max(0.0, seconds)
        self.update()

    def select(self, line_id: str | None) -> None:
        self.selected = line_id
        self.update()

    def zoom(self, factor: float) -> None:
        self.fit_to_width = False
        self.pixels_per_second = max(5.0, min(400.0, self.pixels_per_second * factor))
        self._resize()
        self.update()

    def x_of(self, seconds: float) -> float:
        return 8 + seconds * self.pixels_per_second

    def seconds_at(self, x: float) -> float:
        return max(0.0, (x - 8) / self.pixels_per_second)

    def _resize(self) -> None:
        duration = self.snapshot.duration if self.snapshot else 0.0
        margin = 0.0 if self.fit_to_width else 2.0
        self.setMinimumWidth(int(self.x_of(duration * 1.02 + margin)) + 8)  # the scroll area widens it to its viewport

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt override)
        return QSize(self.width(), 110)

    def clip_at(self, x: float, y: float) -> Clip | None:
        if not self.snapshot or y < RULER:
            return None
        t = self.seconds_at(x)
        return next((c for c in self.snapshot.clips if c.start <= t <= c.start + c.duration), None)

    # ----- painting -----------------------------------------------------------------------------------------------
    def paintEvent(self, e) -> None:  # noqa: N802 (Qt override)
        p = QPainter(self)
        p.fillRect(self.rect(), theme.BACKGROUND)
        self._paint_ruler(p)
        if self.snapshot is None or not self.snapshot.clips:
            p.setPen(theme.TEXT_DIM)
            p.drawText(QRectF(self.rect()).adjusted(12, RULER, 0, 0),
                       Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                       "The timeline fills as lines are generated.")
        else:
            self._paint_clips(p)
        for paint in self.overlays:  # e.g. the live waveform of lines rendering (gui.live_view)
            paint(self, p)
        self._paint_line(p, self.cursor_seconds, theme.ACCENT, 1.0)
        if self.playhead is not None:
            self._paint_line(p, self.playhead, theme.PLAYHEAD, 2.0)
        p.end()

    def _paint_ruler(self, p: QPainter) -> None:
        p.fillRect(QRectF(0, 0, self.width(), RULER), theme.PANEL)
        p.setPen(theme.BORDER)
        p.drawLine(0, RULER - 1, self.width(), RULER - 1)
        step = next(s for s in (0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300) if s * self.pixels_per_second >= 50)
        t = 0.0
        end = self.seconds_at(self.width())
        p.setPen(theme.TEXT_DIM)
        while t <= end:
            x = self.x_of(t)
            p.drawLine(QPointF(x, RULER - 6), QPointF(x, RULER - 1))
            label = f"{int(t // 60)}:{t % 60:04.1f}" if step < 1 else f"{int(t // 60)}:{int(t % 60):02d}"
            p.drawText(QPointF(x + 3, RULER - 7), label)
            t += step

    def _paint_clips(self, p: QPainter) -> None:
        top, height = RULER + 6, self.height() - RULER - 12
        offset = self._drag_shift()
        for clip in self.snapshot.clips:
            shift = offset.get(clip.line_id, 0.0)
            x0, x1 = self.x_of(clip.start) + shift, self.x_of(clip.start + clip.duration) + shift
            rect = QRectF(x0, top, max(2.0, x1 - x0), height)
            if rect.right() < 0 or rect.left() > self.width():
                continue  # scrolled out of view
            color = stem_color(clip.stem)
            fill = QLinearGradient(rect.topLeft(), rect.bottomLeft())
            fill.setColorAt(0, QColor(color.red(), color.green(), color.blue(), 60))
            fill.setColorAt(1, QColor(color.red(), color.green(), color.blue(), 25))
            p.setBrush(fill)
            selected = clip.line_id == self.selected
            p.setPen(QPen(theme.TEXT if selected else color.darker(140), 2.0 if selected else 1.0))
            p.drawRoundedRect(rect, 4, 4)
            paint_waveform(p, rect.adjusted(2, 14, -2, -3), clip.envelope, color)
            p.setPen(theme.TEXT if selected else theme.TEXT_DIM)
            label = clip.line_id + (f"  {clip.gain_db:+.1f} dB" if clip.gain_db else "")
            p.drawText(rect.adjusted(5, 1, -3, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, label)

    def _paint_line(self, p: QPainter, seconds: float, color: QColor, width: float) -> None:
        x = self.x_of(seconds)
        p.setPen(QPen(color, width))
        p.drawLine(QPointF(x, 0), QPointF(x, self.height()))

    # ----- mouse --------------------------------------------------------------------------------------------------
    def _drag_shift(self) -> dict[str, float]:
        """While a clip is dragged, it and every clip after it move together (its gap changes)."""
        if self._drag is None or self.snapshot is None:
            return {}
        line_id, _x, dx = self._drag
        ids = [c.line_id for c in self.snapshot.clips]
        return {i: dx for i in ids[ids.index(line_id):]} if line_id in ids else {}

    def mousePressEvent(self, e) -> None:  # noqa: N802 (Qt override)
        pos = e.position()
        clip = self.clip_at(pos.x(), pos.y())
        if clip is not None:
            self.select(clip.line_id)
            self.clipSelected.emit(clip.line_id)
            if self.snapshot.clips[0] is not clip:  # the first clip has no gap before it
                self._drag = (clip.line_id, pos.x(), 0.0)
        self.set_cursor(self.seconds_at(pos.x()))
        self.cursorMoved.emit(self.cursor_seconds)

    def mouseMoveEvent(self, e) -> None:  # noqa: N802 (Qt override)
        pos = e.position()
        if self._drag is not None:
            line_id, x0, _ = self._drag
            self._drag = (line_id, x0, pos.x() - x0)
            self.update()
            return
        clip = self.clip_at(pos.x(), pos.y())
        if clip is not None:
            self.setToolTip(f"{clip.line_id} · starts {clip.start:.2f} s · {clip.duration:.2f} s\n"
                            f"gap before {clip.gap_ms:.0f} ms · gain {clip.gain_db:+.1f} dB\n"
                            "Drag sideways to change the gap before it")
        else:
            self.setToolTip("")

    def mouseReleaseEvent(self, e) -> None:  # noqa: N802 (Qt override)
        if self._drag is None:
            return
        line_id, _x0, dx = self._drag
        self._drag = None
        clip = self.snapshot.clip_for(line_id) if self.snapshot else None
        if clip is not None and abs(dx) >= 2:
            self.gapDragged.emit(line_id, round(clip.gap_ms + dx / self.pixels_per_second * 1000.0))
        self.update()

    def wheelEvent(self, e) -> None:  # noqa: N802 (Qt override)
        if e.modifiers() & Qt.KeyboardModifier.ControlModifier:
            self.zoom(math.pow(1.15, e.angleDelta().y() / 120))
            e.accept()
        else:
            e.ignore()


class TimelinePanel(QWidget):
    """The strip with its header: loudness, duration, the selected clip's gap/gain/trim, zoom."""

    gapChanged = Signal(str, object)  # line id, gap ms
    gainChanged = Signal(str, float)
    trimChanged = Signal(str, bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = TimelineView()
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.view)
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setFrameShape(QScrollArea.Shape.NoFrame)

        self.loudness_label = QLabel("— LUFS")
        self.loudness_label.setToolTip("Integrated loudness of the mix (ITU-R BS.1770) before export normalisation")
        self.duration_label = QLabel("0:00.0")
        self.selection_label = QLabel("No clip selected")
        self.selection_label.setStyleSheet(f"color: {theme.TEXT_DIM.name()};")
        self.gap_spin = QDoubleSpinBox()
        self.gap_spin.setRange(-5000, 10000)
        self.gap_spin.setDecimals(0)
        self.gap_spin.setSingleStep(50)
        self.gap_spin.setSuffix(" ms")
        self.gap_spin.setToolTip("Silence before this line; negative overlaps the line before (crossfade)")
        self.gain_spin = QDoubleSpinBox()
        self.gain_spin.setRange(-24, 12)
        self.gain_spin.setDecimals(1)
        self.gain_spin.setSingleStep(0.5)
        self.gain_spin.setSuffix(" dB")
        self.trim_box = QCheckBox("Trim silence")
        self.trim_box.setToolTip("Cut silence at the start and end of this line's take")
        self.gap_spin.editingFinished.connect(self._gap_edited)
        self.gain_spin.editingFinished.connect(self._gain_edited)
        self.trim_box.toggled.connect(self._trim_toggled)
        zoom_in, zoom_out = QToolButton(), QToolButton()
        zoom_in.setText("+")
        zoom_out.setText("−")
        zoom_in.setToolTip("Zoom in (Ctrl+wheel)")
        zoom_out.setToolTip("Zoom out (Ctrl+wheel)")
        zoom_in.clicked.connect(lambda: self.view.zoom(1.25))
        zoom_out.clicked.connect(lambda: self.view.zoom(0.8))
        fit = QToolButton()
        fit.setText("Fit")
        fit.setToolTip("Show the whole episode")
        fit.clicked.connect(self.fit)

        head = QHBoxLayout()
        head.setContentsMargins(6, 2, 6, 2)
        head.setSpacing(8)
        head.addWidget(self.selection_label)
        head.addWidget(QLabel("Gap"))
        head.addWidget(self.gap_spin)
        head.addWidget(QLabel("Gain"))
        head.addWidget(self.gain_spin)
        head.addWidget(self.trim_box)
        head.addStretch(1)
        head.addWidget(self.duration_label)
        head.addWidget(self.loudness_label)
        head.addWidget(zoom_out)
        head.addWidget(zoom_in)
        head.addWidget(fit)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(head)
        layout.addWidget(self.scroll, 1)
        self.view.gapDragged.connect(lambda line_id, gap: self.gapChanged.emit(line_id, float(gap)))
        self._line = None
        self._shown = (0.0, 0.0)
        self.show_line(None)

    def set_snapshot(self, snap: MixSnapshot | None) -> None:
        self.view.set_snapshot(snap)
        if snap is None:
            self.loudness_label.setText("— LUFS")
            self.duration_label.setText("0:00.0")
            return
        lufs = snap.loudness_lufs
        self.loudness_label.setText(f"{lufs:.1f} LUFS" if lufs is not None else "— LUFS")
        d = snap.duration
        self.duration_label.setText(f"{int(d // 60)}:{d % 60:04.1f}")

    def show_line(self, line) -> None:
        """Show the options of a project line (or none) in the header. A value typed for the line shown before
        and not yet committed is committed to that line first."""
        if self._line is not None and (line is None or line.id != self._line.id):
            self._gap_edited()
            self._gain_edited()
        same = line is not None and self._line is not None and line.id == self._line.id
        self._line = line
        for w in (self.gap_spin, self.gain_spin, self.trim_box):
            w.setEnabled(line is not None)
            w.blockSignals(True)
        if line is None:
            self.selection_label.setText("No clip selected")
        else:
            self.selection_label.setText(f"{line.id}:")
            clip = self.view.snapshot.clip_for(line.id) if self.view.snapshot else None
            gap = line.gap_ms if line.gap_ms is not None else (clip.gap_ms if clip else 0.0)
            if not (same and self.gap_spin.hasFocus()):  # a refresh does not overwrite what is being typed
                self.gap_spin.setValue(gap)
            if not (same and self.gain_spin.hasFocus()):
                self.gain_spin.setValue(line.gain_db)
            self.trim_box.setChecked(line.trim_silence)
        # What the fields show now: an edit is a value that differs from these, for the line shown. (A field
        # that loses focus reports editingFinished even when nothing was typed, possibly after the selection
        # moved to another line: that must not write anything.)
        self._shown = ((round(float(gap), self.gap_spin.decimals()), round(float(line.gain_db), self.gain_spin.decimals()))
                       if line is not None else (0.0, 0.0))
        for w in (self.gap_spin, self.gain_spin, self.trim_box):
            w.blockSignals(False)
        self.view.select(line.id if line is not None else None)

    def fit(self) -> None:
        self.view.fit_to_width = True
        self.view.set_snapshot(self.view.snapshot)

    def resizeEvent(self, e) -> None:  # noqa: N802 (Qt override)
        super().resizeEvent(e)
        if self.view.fit_to_width:
            self.view.set_snapshot(self.view.snapshot)

    def ensure_visible(self, seconds: float) -> None:
        self.scroll.ensureVisible(int(self.view.x_of(seconds)), 10, 60, 0)

    def _gap_edited(self) -> None:
        value = float(self.gap_spin.value())
        if self._line is not None and value != self._shown[0]:
            self._shown = (value, self._shown[1])
            self.gapChanged.emit(self._line.id, value)

    def _gain_edited(self) -> None:
        value = float(self.gain_spin.value())
        if self._line is not None and value != self._shown[1]:
            self._shown = (self._shown[0], value)
            self.gainChanged.emit(self._line.id, value)

    def _trim_toggled(self, checked: bool) -> None:
        if self._line is not None:
            self.trimChanged.emit(self._line.id, checked)
