"""The GUI side of generation: owns the worker thread, keeps each line's live state (queued, generating with
progress, failed) and the queue's progress and ETA. Lives on the GUI thread; talks to the worker only
through queued signals and its thread-safe queue."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, QThread, Signal

from gui.line_state import LineState
from gui.worker import GenerationWorker, QueuedLine
from projects.project import Project


@dataclass
class LiveState:
    state: LineState  # QUEUED, GENERATING or FAILED
    progress: float = 0.0
    error: str = ""


class GenerationController(QObject):
    liveStateChanged = Signal(str)  # line id
    takeArrived = Signal(str, str)  # line id, take id
    queueProgress = Signal(float, object, int, int)  # fraction, eta seconds (None = unknown), done, total
    busyChanged = Signal(bool)
    engineLoading = Signal()
    engineReady = Signal(str, str, str)  # model id, device, dtype
    engineFailed = Signal(str)
    lineFailed = Signal(str, str)  # line id, error
    finished = Signal(bool)  # queue drained; True if stopped

    _wake = Signal()

    def __init__(self, engine_factory: Callable[[], object], batch_size: int = 4, parent: QObject | None = None):
        super().__init__(parent)
        self.live: dict[str, LiveState] = {}
        self.engine_info: tuple[str, str, str] | None = None
        self.model_info = None  # the loaded engine's ModelInfo
        self._busy = False
        self._total = 0
        self._done = 0
        self._started_at = 0.0
        self._last_progress_emit = 0.0
        self._sent = 0  # number of the last line handed to the worker (see GenerationWorker.queueDrained)
        self._stopped = False
        self._thread = QThread()
        self._thread.setObjectName("generation")
        self.worker = GenerationWorker(engine_factory, batch_size)
        self.worker.moveToThread(self._thread)
        self._wake.connect(self.worker.process)
        w = self.worker
        w.engineLoading.connect(lambda _source: self.engineLoading.emit())
        w.engineReady.connect(self._on_engine_ready)
        w.engineFailed.connect(self._on_engine_failed)
        w.linesStarted.connect(self._on_lines_started)
        w.lineProgress.connect(self._on_progress)
        w.takeFinished.connect(self._on_take)
        w.lineFailed.connect(self._on_failed)
        w.lineSkipped.connect(self._on_skipped)
        w.linesDropped.connect(self._on_dropped)
        w.queueDrained.connect(self._on_drained)
        self._thread.start()

    # ----- commands -----------------------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._busy

    def generate(self, project: Project, line_ids: list[str], force: bool) -> list[str]:
        """Queue lines (those already queued or generating are left alone). Returns the ids actually queued."""
        new = [i for i in dict.fromkeys(line_ids)
               if self.live.get(i) is None or self.live[i].state is LineState.FAILED]
        if not new:
            return []
        for line_id in new:
            self.live[line_id] = LiveState(LineState.QUEUED)
            self.liveStateChanged.emit(line_id)
        if not self._busy:
            self._total, self._done, self._started_at = 0, 0, time.monotonic()
        self._total += len(new)
        self._sent = self.worker.enqueue([QueuedLine(project, line_id, force) for line_id in new])
        self._set_busy(True)
        self._emit_progress(force=True)
        self._wake.emit()
        return new

    def stop(self) -> None:
        """Cancel between decoder steps: finished takes stay, the rest of the queue is dropped."""
        if self._busy:
            self._stopped = True
            self.worker.request_stop()

    def forget_engine(self) -> None:
        self.worker.forget_engine()
        self.engine_info = self.model_info = None

    def clear_failures(self, line_ids: list[str] | None = None) -> None:
        for line_id in list(self.live):
            if self.live[line_id].state is LineState.FAILED and (line_ids is None or line_id in line_ids):
                del self.live[line_id]
                self.liveStateChanged.emit(line_id)

    def shutdown(self) -> None:
        """Stop generating and end the worker thread (waits for the current decoder step)."""
        self.worker.request_stop()
        self._thread.quit()
        self._thread.wait()

    # ----- worker signals -----------------------------------------------------------------------------------------
    def _on_engine_ready(self, model: str, device: str, dtype: str) -> None:
        self.engine_info = (model, device, dtype)
        engine = self.worker.engine  # set before the signal; `info` is a plain description, safe to read here
        self.model_info = engine.info if engine is not None else None
        self.engineReady.emit(model, device, dtype)

    def _on_engine_failed(self, message: str) -> None:
        self.engineFailed.emit(message)

    def _on_lines_started(self, line_ids: list) -> None:
        for line_id in line_ids:
            self.live[line_id] = LiveState(LineState.GENERATING, 0.0)
            self.liveStateChanged.emit(line_id)
        self._emit_progress()

    def _on_progress(self, line_id: str, fraction: float) -> None:
        state = self.live.get(line_id)
        if state is not None and state.state is LineState.GENERATING:
            state.progress = fraction
            self.liveStateChanged.emit(line_id)
            self._emit_progress()

    def _on_take(self, line_id: str, take_id: str) -> None:
        self.live.pop(line_id, None)
        self._done += 1
        self.liveStateChanged.emit(line_id)
        self.takeArrived.emit(line_id, take_id)
        self._emit_progress(force=True)

    def _on_failed(self, line_id: str, message: str) -> None:
        self.live[line_id] = LiveState(LineState.FAILED, error=message)
        self._done += 1
        self.liveStateChanged.emit(line_id)
        self.lineFailed.emit(line_id, message)
        self._emit_progress(force=True)

    def _on_skipped(self, line_id: str) -> None:
        if line_id in self.live:
            del self.live[line_id]
            self._done += 1
            self.liveStateChanged.emit(line_id)
            self._emit_progress(force=True)

    def _on_dropped(self, line_ids: list) -> None:
        for line_id in line_ids:  # queued or cut short by Stop: back to what the project says
            state = self.live.get(line_id)
            if state is not None and state.state is not LineState.FAILED:
                del self.live[line_id]
                self._done += 1
                self.liveStateChanged.emit(line_id)
        self._emit_progress(force=True)

    def _on_drained(self, stopped: bool, seen: int) -> None:
        if seen < self._sent:
            return  # lines queued after the worker saw its queue empty: it is on them already
        for line_id in [i for i, s in self.live.items() if s.state is not LineState.FAILED]:
            del self.live[line_id]
            self.liveStateChanged.emit(line_id)
        stopped = stopped or self._stopped
        self._stopped = False
        self._set_busy(False)
        self.finished.emit(stopped)

    # ----- progress -----------------------------------------------------------------------------------------------
    def _set_busy(self, busy: bool) -> None:
        if busy != self._busy:
            self._busy = busy
            self.busyChanged.emit(busy)

    def _emit_progress(self, force: bool = False) -> None:
        if not self._total:
            return
        now = time.monotonic()
        if not force and now - self._last_progress_emit < 0.1:  # ten updates a second are plenty for a bar
            return
        self._last_progress_emit = now
        in_flight = sum(s.progress for s in self.live.values() if s.state is LineState.GENERATING)
        fraction = min(1.0, (self._done + in_flight) / self._total)
        elapsed = time.monotonic() - self._started_at
        eta = elapsed * (1 - fraction) / fraction if fraction > 0.02 and elapsed > 1.0 else None
        self.queueProgress.emit(fraction, eta, self._done, self._total)
