"""The generation worker: one long-lived QObject on its own QThread that owns the DiaEngine.

It loads the engine on first use, takes line ids from a queue (lines are identified by id end to end), generates them in batches through
`projects.GenerationService` (which writes each take into the project the moment its line finishes) and
reports through signals. It never touches a widget. Stopping is a `threading.Event` the GUI sets; the engine
polls it between decoder steps, so finished takes stay and the rest of the batch is dropped.

A batch that raises (out of memory, a bad line) is retried line by line, so only the failing line is marked
failed and the queue goes on."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal, Slot

from gui.live_playback import LiveEngine
from projects.generation import GenerationService, LineJob
from projects.project import Project

log = logging.getLogger(__name__)
PROGRESS_INTERVAL_S = 0.05  # at most ~20 progress signals a second: the GUI repaints, it need not drown


@dataclass(frozen=True)
class QueuedLine:
    project: Project
    line_id: str
    force: bool  # True: a new take even if the line is done ("Regenerate"); False: only if missing or stale
    number: int = 0  # the worker numbers lines as they are queued (1, 2, ...)


class GenerationWorker(QObject):
    engineLoading = Signal(str)  # model source being loaded (downloaded first if it is a hub id)
    engineReady = Signal(str, str, str)  # model id, device, dtype
    engineFailed = Signal(str)  # readable reason; the queued lines are dropped
    linesStarted = Signal(list)  # line ids now on the engine
    lineProgress = Signal(str, float)  # line id, 0..1
    takeFinished = Signal(str, str)  # line id, take id (already written to the project and saved)
    lineFailed = Signal(str, str)  # line id, readable error
    lineSkipped = Signal(str)  # the line was deleted from the script meanwhile
    linesDropped = Signal(list)  # line ids Stop took off the queue or cut short
    # The queue was seen empty after the `int`-th queued line (every line up to it is finished, failed, skipped
    # or dropped); `bool`: Stop was pressed. Lines queued after that number are still to come.
    queueDrained = Signal(bool, int)
    liveChunk = Signal(object)  # a LiveChunk of a line rendering, while `live_audio` is on

    def __init__(self, engine_factory: Callable[[], object], batch_size: int = 4):
        super().__init__()
        self._engine_factory = engine_factory
        self.batch_size = max(1, batch_size)
        self.engine = None
        self._service_for: GenerationService | None = None
        self._reset_engine = False
        self._queue: deque[QueuedLine] = deque()
        self._lock = threading.Lock()
        self._queued = 0  # lines ever queued
        self._stop_upto = 0  # Stop drops the lines queued up to this number
        self.stop_event = threading.Event()
        self._last_progress: dict[str, float] = {}
        self.live_audio = False  # set by the GUI ("Play as it renders"); read when a batch starts

    # ----- called from the GUI thread (thread-safe) ---------------------------------------------------------------
    def enqueue(self, items: list[QueuedLine]) -> int:
        """Queue lines; returns the number of the last one (see `queueDrained`)."""
        with self._lock:
            for item in items:
                self._queued += 1
                self._queue.append(dataclasses.replace(item, number=self._queued))
            return self._queued

    def request_stop(self) -> None:
        """Stop the lines queued so far (lines queued after this call still run)."""
        with self._lock:
            self._stop_upto = self._queued
            self.stop_event.set()

    def forget_engine(self) -> None:
        """Drop the engine (new settings); the next job loads it again."""
        self._reset_engine = True

    # ----- worker thread ------------------------------------------------------------------------------------------
    @Slot()
    def process(self) -> None:
        """Run until the queue is empty. Invoked (queued) each time the GUI adds lines; extra wake-ups are no-ops."""
        with self._lock:
            if not self._queue:
                return
        if self._reset_engine:
            self.engine = self._service_for = None
            self._reset_engine = False
        if self.engine is None and not self._load_engine():
            return
        stopped = False
        while True:
            with self._lock:  # "empty" and the number it was seen at are one observation: no line slips between
                if self.stop_event.is_set():
                    stopped = True
                    self._drop_stopped()
                batch = self._take_batch()
                if not batch:
                    seen = self._queued
                    break
            self._run_batch(batch)
        self.queueDrained.emit(stopped, seen)

    def _drop_stopped(self) -> None:
        """(Lock held.) Take the lines queued before Stop off the queue; later ones stay."""
        dropped = [item for item in self._queue if item.number <= self._stop_upto]
        self._queue = deque(item for item in self._queue if item.number > self._stop_upto)
        self.stop_event.clear()
        if dropped:
            self.linesDropped.emit([item.line_id for item in dropped])

    def _load_engine(self) -> bool:
        self.engineLoading.emit("")
        try:
            engine = self._engine_factory()
        except Exception as e:  # ModelLoadError and anything a broken install raises: the reason goes to the user
            log.exception("engine load failed")
            with self._lock:
                dropped = [item.line_id for item in self._queue]
                self._queue.clear()
                seen = self._queued
                self.stop_event.clear()  # every queued line is dropped: a Stop (or a cancelled download) is spent
            self.engineFailed.emit(str(e) or type(e).__name__)
            self.linesDropped.emit(dropped)
            self.queueDrained.emit(True, seen)
            return False
        self.engine = engine
        self.engineReady.emit(str(engine.model_id), str(engine.device), str(engine.dtype))
        with self._lock:
            if not self.stop_event.is_set():
                return True
            self._drop_stopped()  # cancelled while loading: keep the engine, drop the lines queued before Stop
            if self._queue:
                return True
            seen = self._queued
        self.queueDrained.emit(True, seen)
        return False

    def _take_batch(self) -> list[QueuedLine]:
        """(Lock held.) The next lines of one project, at most `batch_size`, each line once."""
        if not self._queue:
            return []
        project = self._queue[0].project
        batch: list[QueuedLine] = []
        while self._queue and len(batch) < self.batch_size and self._queue[0].project is project:
            item = self._queue.popleft()
            if all(b.line_id != item.line_id for b in batch):
                batch.append(item)
        return batch

    def _service(self, project: Project) -> GenerationService:
        """One service per open project: it keeps the encoded voice prompt between batches."""
        if self._service_for is None or self._service_for.project is not project:
            self._service_for = GenerationService(project, LiveEngine(self.engine))
        return self._service_for

    def _plan(self, service: GenerationService, batch: list[QueuedLine]) -> list[LineJob]:
        jobs: list[LineJob] = []
        for force in (True, False):
            ids = [item.line_id for item in batch if item.force is force]
            if ids:
                jobs += service.plan(ids, force=force)
        order = {item.line_id: i for i, item in enumerate(batch)}
        return sorted(jobs, key=lambda job: order[job.line_id])

    def _run_batch(self, batch: list[QueuedLine]) -> None:
        try:
            service = self._service(batch[0].project)
            jobs = self._plan(service, batch)
        except Exception as e:  # e.g. an unusable voice clip: every line of the batch fails with the reason
            for item in batch:
                self.lineFailed.emit(item.line_id, str(e) or type(e).__name__)
            return
        planned = {job.line_id for job in jobs}
        for item in batch:
            if item.line_id not in planned:
                self.lineSkipped.emit(item.line_id)  # already done (or deleted) by the time its turn came
        if jobs:
            self._run_jobs(service, jobs, isolate_failures=len(jobs) > 1)

    def _run_jobs(self, service: GenerationService, jobs: list[LineJob], isolate_failures: bool) -> None:
        finished: set[str] = set()
        self.linesStarted.emit([job.line_id for job in jobs])
        service.engine.expect(jobs, self.liveChunk.emit if self.live_audio else None)  # play as it renders
        try:
            report = service.run(jobs, on_take=lambda line_id, take: self._take_done(finished, line_id, take.id),
                                 should_stop=self.stop_event.is_set, on_line_progress=self._report_progress)
        except Exception as e:
            log.warning("generation of %s failed: %s", [j.line_id for j in jobs], e)
            remaining = [job for job in jobs if job.line_id not in finished]
            if isolate_failures:
                for job in remaining:  # alone, each line either gets its take or fails with its own error
                    if self.stop_event.is_set():
                        return
                    self._run_jobs(service, [job], isolate_failures=False)
            else:
                for job in remaining:
                    self.lineFailed.emit(job.line_id, str(e) or type(e).__name__)
            return
        for line_id in report.skipped:
            self.lineSkipped.emit(line_id)
        cut = [job.line_id for job in jobs if job.line_id not in finished and job.line_id not in report.skipped]
        if report.stopped and cut:
            self.linesDropped.emit(cut)

    def _take_done(self, finished: set[str], line_id: str, take_id: str) -> None:
        finished.add(line_id)
        self._last_progress.pop(line_id, None)
        self.takeFinished.emit(line_id, take_id)

    def _report_progress(self, line_id: str, fraction: float) -> None:
        now = time.monotonic()
        if fraction < 1.0 and now - self._last_progress.get(line_id, 0.0) < PROGRESS_INTERVAL_S:
            return
        self._last_progress[line_id] = now
        self.lineProgress.emit(line_id, fraction)
