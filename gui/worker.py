"""The generation worker: one long-lived QObject on its own QThread that owns the DiaEngine.

It loads the engine on first use, takes line ids from a queue, generates them in batches through
`projects.GenerationService` (which writes each take into the project the moment its line finishes) and
reports through signals. It never touches a widget. Stopping is a `threading.Event` the GUI sets; the engine
polls it between decoder steps, so finished takes stay and the rest of the batch is dropped.

A batch that raises (out of memory, a bad line) is retried line by line, so only the failing line is marked
failed and the queue goes on."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal, Slot

from gui.live_playback import can_stream, stream_hooks
from projects.generation import GenerationService, LineJob
from projects.project import Project
from projects.seeds import part_seed

log = logging.getLogger(__name__)
PROGRESS_INTERVAL_S = 0.05  # at most ~20 progress signals a second: the GUI repaints, it need not drown


@dataclass(frozen=True)
class QueuedLine:
    project: Project
    line_id: str
    force: bool  # True: a new take even if the line is done ("Regenerate"); False: only if missing or stale


class _PerLineProgress:
    """Forwards to the engine and also reports each line's own progress (the service reports the whole run).

    Requests are matched to lines by their text and seed, which the jobs fix before the run."""

    def __init__(self, engine, report: Callable[[str, float], None]):
        self._engine, self._report = engine, report
        self._parts: dict[tuple[str, int], tuple[str, int, int]] = {}
        self.live: Callable | None = None  # play as it renders: takes each LiveChunk (see gui.live_playback)

    def expect(self, jobs: list[LineJob]) -> None:
        self._parts = {(text, part_seed(job.seed, i)): (job.line_id, i, len(job.parts))
                       for job in jobs for i, text in enumerate(job.parts)}

    def __getattr__(self, name):
        return getattr(self._engine, name)

    def generate(self, requests, *, on_progress=None, on_result=None, should_stop=None):
        owners = [self._parts.get((r.text, r.seed)) for r in requests]

        def progress(event) -> None:
            owner = owners[event.index]
            if owner is not None:
                line_id, part, parts = owner
                step = 1.0 if event.finished else min(1.0, event.step / max(1, event.total))
                self._report(line_id, (part + step) / parts)
            if on_progress is not None:
                on_progress(event)

        streaming = {"on_result": on_result}
        if self.live is not None and can_stream(self._engine):
            streaming = stream_hooks(owners, self.live, on_result, self._engine.sample_rate)
        return self._engine.generate(requests, on_progress=progress, should_stop=should_stop, **streaming)


class GenerationWorker(QObject):
    engineLoading = Signal(str)  # model source being loaded (downloaded first if it is a hub id)
    engineReady = Signal(str, str, str)  # model id, device, dtype
    engineFailed = Signal(str)  # readable reason; the queued lines are dropped
    linesStarted = Signal(list)  # line ids now on the engine
    lineProgress = Signal(str, float)  # line id, 0..1
    takeFinished = Signal(str, str)  # line id, take id (already written to the project and saved)
    lineFailed = Signal(str, str)  # line id, readable error
    lineSkipped = Signal(str)  # the line was deleted from the script meanwhile
    queueDrained = Signal(bool)  # the queue is empty; True when it ended because of Stop
    liveChunk = Signal(object)  # a LiveChunk of a line rendering, while `live_audio` is on

    def __init__(self, engine_factory: Callable[[], object], batch_size: int = 4):
        super().__init__()
        self._engine_factory = engine_factory
        self.batch_size = max(1, batch_size)
        self.engine = None
        self._engine_tap: _PerLineProgress | None = None
        self._service_for: GenerationService | None = None
        self._reset_engine = False
        self._queue: deque[QueuedLine] = deque()
        self._lock = threading.Lock()
        self.stop_event = threading.Event()
        self._last_progress: dict[str, float] = {}
        self.live_audio = False  # set by the GUI ("Play as it renders"); read when a batch starts

    # ----- called from the GUI thread (thread-safe) ---------------------------------------------------------------
    def enqueue(self, items: list[QueuedLine]) -> None:
        with self._lock:
            self._queue.extend(items)

    def request_stop(self) -> None:
        self.stop_event.set()

    def forget_engine(self) -> None:
        """Drop the engine (new settings); the next job loads it again."""
        self._reset_engine = True

    # ----- worker thread ------------------------------------------------------------------------------------------
    @Slot()
    def process(self) -> None:
        """Run until the queue is empty. Invoked (queued) each time the GUI adds lines; extra wake-ups are no-ops."""
        if not self._queue:
            return
        if self._reset_engine:
            self.engine = self._engine_tap = self._service_for = None
            self._reset_engine = False
        if self.engine is None and not self._load_engine():
            return
        stopped = False
        while True:
            if self.stop_event.is_set():
                stopped = True
                break
            batch = self._take_batch()
            if not batch:
                break
            self._run_batch(batch)
        with self._lock:
            dropped = len(self._queue)
            self._queue.clear()
        self.stop_event.clear()
        self.queueDrained.emit(stopped or dropped > 0)

    def _load_engine(self) -> bool:
        self.engineLoading.emit("")
        try:
            engine = self._engine_factory()
        except Exception as e:  # ModelLoadError and anything a broken install raises: the reason goes to the user
            log.exception("engine load failed")
            with self._lock:
                self._queue.clear()
            self.engineFailed.emit(str(e) or type(e).__name__)
            self.queueDrained.emit(True)
            return False
        self.engine = engine
        self._engine_tap = _PerLineProgress(engine, self._report_progress)
        self.engineReady.emit(str(engine.model_id), str(engine.device), str(engine.dtype))
        if self.stop_event.is_set():  # cancelled while loading: keep the engine, drop the jobs
            with self._lock:
                self._queue.clear()
            self.stop_event.clear()
            self.queueDrained.emit(True)
            return False
        return True

    def _take_batch(self) -> list[QueuedLine]:
        with self._lock:
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
            self._service_for = GenerationService(project, self._engine_tap)
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
        self._engine_tap.expect(jobs)
        self._engine_tap.live = self.liveChunk.emit if self.live_audio else None
        try:
            report = service.run(jobs, on_take=lambda line_id, take: self._take_done(finished, line_id, take.id),
                                 should_stop=self.stop_event.is_set)
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
