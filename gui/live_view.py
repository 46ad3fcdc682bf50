"""Hooks "Play as it renders" into the main window: the toolbar toggle, the status label, the worker's
signals into the LivePlayer, and the growing waveform of lines in progress drawn over the timeline."""

from __future__ import annotations

import numpy as np

from projects.model import EXPORT_RATES
from PySide6.QtCore import QObject, QRectF, Qt, Slot
from PySide6.QtGui import QAction, QColor, QPainter, QPen
from PySide6.QtWidgets import QLabel, QToolBar

from gui import theme
from gui.live_playback import LiveChunk, LivePlayer
from gui.timeline import RULER, stem_color
from gui.waveform import envelope, paint_waveform

ENVELOPE_PER_SECOND = 200


class LiveView(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window = window
        self.player = LivePlayer(self)
        self.action = QAction("Play as it renders", window)
        self.action.setCheckable(True)
        self.action.setToolTip("Hear lines while they generate: playback follows the newest audio, line after "
                               "line with their gaps, and waits when generation falls behind")
        self.action.toggled.connect(self.set_enabled)
        if not self.player.available:
            self.action.setEnabled(False)
            self.action.setStatusTip(self.player.unavailable_reason)
        self.label = QLabel()
        self.label.setStyleSheet(f"color: {theme.PLAYHEAD.name()}; padding: 0 6px;")
        toolbar = window.findChild(QToolBar, "main-toolbar")
        if toolbar is not None:
            toolbar.insertAction(window.act_play, self.action)
        window.statusBar().addPermanentWidget(self.label)

        worker = window.controller.worker  # lives on the worker thread: bound slots make the calls queued
        worker.linesStarted.connect(self._lines_started)
        worker.liveChunk.connect(self._chunk)
        worker.lineFailed.connect(self._line_failed)
        worker.lineSkipped.connect(self._line_ended)
        worker.linesDropped.connect(self._lines_dropped)
        worker.queueDrained.connect(self._drained)
        self.player.lineChanged.connect(self._show_state)
        self.player.waitingChanged.connect(self._show_state)
        window.timeline.view.overlays.append(self.paint)

    @Slot(bool)
    def set_enabled(self, enabled: bool) -> None:
        self.player.set_enabled(enabled)
        self.window.controller.worker.live_audio = enabled  # the next batch streams its audio
        self._show_state()

    # --- worker signals --------------------------------------------------------------------------------------
    @Slot(list)
    def _lines_started(self, line_ids: list) -> None:
        session = self.window.session
        if session is None or not self.player.enabled:
            return
        project = session.project
        lines = []
        for line_id in line_ids:
            try:
                gap = project.line(line_id).gap_ms
            except Exception:  # deleted meanwhile: it will be skipped
                gap = None
            lines.append((line_id, project.doc.default_gap_ms if gap is None else gap))
        self.player.lines_started(lines)

    @Slot(object)
    def _chunk(self, chunk: LiveChunk) -> None:
        self.player.add_chunk(chunk)
        if chunk.samples is not None:
            self.window.timeline.view.update()

    @Slot(str, str)
    def _line_failed(self, line_id: str, _message: str) -> None:
        self.player.line_ended(line_id)

    @Slot(str)
    def _line_ended(self, line_id: str) -> None:
        self.player.line_ended(line_id)

    @Slot(list)
    def _lines_dropped(self, line_ids: list) -> None:
        for line_id in line_ids:
            self.player.line_ended(line_id)

    @Slot(bool, int)
    def _drained(self, _stopped: bool, _last: int) -> None:
        self.player.run_ended()
        self.window.timeline.view.update()

    def _show_state(self, *_args) -> None:
        queue = self.player.queue
        if not self.player.enabled or queue is None or not self.player.is_playing:
            self.label.setText("")
        elif queue.waiting:
            self.label.setText(f"Live: waiting for {queue.current_line or 'the next line'}…")
        else:
            self.label.setText(f"Live: {queue.current_line}")

    # --- timeline ---------------------------------------------------------------------------------------------
    def live_clips(self) -> list[tuple[str, float, np.ndarray]]:
        """(line id, start seconds, audio so far) of lines still rendering, where the timeline will put them:
        over the line's present clip, or after the end of the timeline with the gaps."""
        queue = self.player.queue
        if queue is None:
            return []
        snap = self.window.timeline.view.snapshot
        end = snap.duration if snap is not None else 0.0
        clips = []
        for line_id, gap, audio, finished in queue.lines():
            present = snap.clip_for(line_id) if snap is not None else None
            start = present.start if present is not None else end + (gap if end > 0 else 0.0)
            if present is None:
                end = start + len(audio) / queue.sample_rate
            if not finished and len(audio):
                clips.append((line_id, start, audio))
        return clips

    def paint(self, view, p: QPainter) -> None:
        top, height = RULER + 6, view.height() - RULER - 12
        rate = self.player.queue.sample_rate if self.player.queue is not None else EXPORT_RATES[0]
        for line_id, start, audio in self.live_clips():
            x0, x1 = view.x_of(start), view.x_of(start + len(audio) / rate)
            rect = QRectF(x0, top, max(2.0, x1 - x0), height)
            color = QColor(stem_color("S1"))
            p.setPen(QPen(theme.PLAYHEAD, 1.0, Qt.PenStyle.DashLine))
            p.setBrush(QColor(color.red(), color.green(), color.blue(), 40))
            p.drawRoundedRect(rect, 4, 4)
            points = max(16, int(len(audio) / rate * ENVELOPE_PER_SECOND))
            paint_waveform(p, rect.adjusted(2, 14, -2, -3), envelope(audio, points), color)
            p.setPen(theme.TEXT_DIM)
            p.drawText(rect.adjusted(5, 1, -3, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                       f"{line_id} …")
