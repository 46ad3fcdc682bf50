"""Gathers concurrent speech requests into engine batches, run one batch at a time on one engine thread.

A request waits at most `batch_window` seconds for others to join it; whatever is queued when the engine
becomes free goes into the next batch, up to `max_batch_size`. Each request's future resolves as soon as
its own audio is ready (the engine reports results one by one), so short requests do not wait for long
ones. All engine work (voice encoding included) happens on the engine thread: the model is never used from
two threads at once.
"""

from __future__ import annotations

import inspect
import itertools
import re
import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

from dia_engine import GenerationOutOfMemory, GenerationRequest, GenerationResult, Progress, SamplingParams

from .voices import VoiceLibrary

log = logging.getLogger("dia_studio.server")


class JobCancelled(Exception):
    """The request was withdrawn (client disconnected) or the server is shutting down."""


class VoiceUnavailable(Exception):
    """The reference clip of a voice could not be encoded."""


class QueueFull(Exception):
    """Too many requests are waiting."""


class RequestRejected(ValueError):
    """The engine refuses the request as given (e.g. max_tokens too small for the voice prompt)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    @classmethod
    def from_engine(cls, error: ValueError) -> RequestRejected:
        message = re.sub(r"^request \d+: ", "", str(error))  # the engine numbers requests within its batch
        return cls(message, "max_tokens" if "max_tokens" in message else None)


@dataclass(frozen=True)
class SpeechOutcome:
    result: GenerationResult
    batch_id: int  # which engine call produced it
    batch_size: int  # how many requests that engine call served


class SpeechJob:
    """One request on its way through the scheduler. `future` gives a SpeechOutcome or raises."""

    def __init__(self, text: str, voice_id: str | None, seed: int | None, sampling: SamplingParams,
                 on_chunk: Callable[[np.ndarray, int], None] | None = None) -> None:
        self.text = text
        self.voice_id = voice_id
        self.seed = seed
        self.sampling = sampling
        self.on_chunk = on_chunk  # streaming: (samples, start_sample) on the engine thread as audio is made
        self.batch: tuple[int, int] | None = None  # (batch id, batch size) once its batch has started
        self.future: Future[SpeechOutcome] = Future()
        self._withdrawn = threading.Event()

    def withdraw(self) -> None:
        """The client no longer wants the result: skip it if queued, stop its batch if it was the last one."""
        self._withdrawn.set()
        self.future.cancel()  # succeeds only while queued; a running job is stopped through should_stop

    @property
    def withdrawn(self) -> bool:
        return self._withdrawn.is_set()


_STOP = object()


class BatchScheduler:
    def __init__(self, engine, voices: VoiceLibrary, *, max_batch_size: int = 16, batch_window: float = 0.05,
                 max_queued: int = 256) -> None:
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {max_batch_size}")
        if batch_window < 0:
            raise ValueError(f"batch_window must be >= 0 seconds, got {batch_window}")
        self._engine = engine
        self._voices = voices
        self._max_batch_size = max_batch_size
        self._batch_window = batch_window
        self._max_queued = max_queued
        self._queue: queue.Queue = queue.Queue()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._batch_ids = itertools.count(1)
        self._lock = threading.Lock()  # guards the numbers below, read by /health from other threads
        self._running: list[SpeechJob] = []
        self._progress: dict[int, tuple[int, int]] = {}  # index in running batch -> (step, total)
        self._recent_batch_sizes: deque[int] = deque(maxlen=64)
        self._batches = 0
        self._served = 0
        self._failed = 0
        self._cancelled = 0
        self._largest_batch = 0
        # Whether the engine streams audio and drops single lines (`on_chunk`, `should_cancel`): a family
        # without them still serves whole files, and a withdrawn request then stops only with its batch.
        params = inspect.signature(engine.generate).parameters
        self.can_stream = "on_chunk" in params and "should_cancel" in params

    # --- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="dia-engine", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop after the running batch (which is asked to stop early); queued requests are cancelled."""
        self._stopping.set()
        self._queue.put(_STOP)
        if self._thread is not None:
            self._thread.join(timeout)
        while True:  # anything submitted after the thread ended
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if job is not _STOP:
                self._finish(job, JobCancelled("the server is shutting down"))

    # --- requests -----------------------------------------------------------------------------------

    def submit(self, text: str, *, voice_id: str | None = None, seed: int | None = None,
               sampling: SamplingParams = SamplingParams(),
               on_chunk: Callable[[np.ndarray, int], None] | None = None) -> SpeechJob:
        """Queue a request; with `on_chunk` its audio is also streamed chunk by chunk as it generates."""
        if self._stopping.is_set():
            raise JobCancelled("the server is shutting down")
        if self._queue.qsize() >= self._max_queued:
            raise QueueFull(f"{self._max_queued} requests are already waiting")
        job = SpeechJob(text, voice_id, seed, sampling, on_chunk)
        self._queue.put(job)
        return job

    def stats(self) -> dict:
        with self._lock:
            progress = [{"step": step, "total": total} for step, total in self._progress.values()]
            return {
                "queued": self._queue.qsize(),
                "running": len(self._running),
                "running_progress": progress,
                "max_batch_size": self._max_batch_size,
                "batch_window_ms": round(self._batch_window * 1000, 3),
                "batches": self._batches,
                "largest_batch": self._largest_batch,
                "recent_batch_sizes": list(self._recent_batch_sizes),
                "served": self._served,
                "failed": self._failed,
                "cancelled": self._cancelled,
            }

    # --- engine thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            jobs = self._collect()
            try:
                self._serve(jobs)
            except Exception as exc:  # a bug here must neither leave requests waiting nor end the thread
                log.exception("engine thread error")
                for job in jobs:
                    self._finish(job, exc)
        log.debug("engine thread stopped")

    def _collect(self) -> list[SpeechJob]:
        """Wait for a request, then give others `batch_window` seconds to join it."""
        first = self._queue.get()
        if first is _STOP:
            return []
        jobs = [first]
        deadline = time.monotonic() + self._batch_window
        while len(jobs) < self._max_batch_size:
            remaining = deadline - time.monotonic()
            try:
                job = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if job is _STOP:
                break  # _stopping is set: serve nothing more
            jobs.append(job)
        if self._stopping.is_set():
            for job in jobs:
                self._finish(job, JobCancelled("the server is shutting down"))
            return []
        return jobs

    def _serve(self, jobs: list[SpeechJob]) -> None:
        ready: list[SpeechJob] = []
        requests: list[GenerationRequest] = []
        for job in jobs:
            # From here on the job can no longer be cancelled through its future (only withdrawn).
            if job.withdrawn or not job.future.set_running_or_notify_cancel():
                self._count(cancelled=1)
                continue
            voice = None
            if job.voice_id is not None:
                try:
                    voice = self._voices.prompt(job.voice_id, self._engine)
                except Exception as exc:  # an unreadable or silent clip fails only the requests using it
                    self._finish(job, VoiceUnavailable(f"voice {job.voice_id!r} could not be loaded: {exc}"))
                    continue
            request = GenerationRequest(job.text, seed=job.seed, sampling=job.sampling, voice=voice)
            try:
                self._engine.validate([request])  # a request the engine refuses must not fail its batch
            except ValueError as exc:
                self._finish(job, RequestRejected.from_engine(exc))
                continue
            ready.append(job)
            requests.append(request)
        if ready:
            self._generate(ready, requests)

    def _generate(self, jobs: list[SpeechJob], requests: list[GenerationRequest]) -> None:
        batch_id = next(self._batch_ids)
        with self._lock:
            self._running = list(jobs)
            self._progress = {}
            self._batches += 1
            self._largest_batch = max(self._largest_batch, len(jobs))
            self._recent_batch_sizes.append(len(jobs))
        for job in jobs:
            job.batch = (batch_id, len(jobs))
        started = time.monotonic()

        def on_result(index: int, result: GenerationResult) -> None:
            self._finish(jobs[index], SpeechOutcome(result, batch_id, len(jobs)))

        def on_progress(progress: Progress) -> None:
            with self._lock:
                self._progress[progress.index] = (progress.step, progress.total)

        def should_stop() -> bool:
            return self._stopping.is_set() or all(job.withdrawn or job.future.done() for job in jobs)

        def should_cancel(index: int) -> bool:
            """A withdrawn request leaves the batch at once, its slot going to the next line."""
            if not jobs[index].withdrawn:
                return False
            self._finish(jobs[index], JobCancelled("the client went away"))
            return True

        def on_chunk(index: int, samples: np.ndarray, start: int) -> None:
            if jobs[index].on_chunk is not None:
                jobs[index].on_chunk(samples, start)

        streaming = {}
        if self.can_stream:
            streaming["should_cancel"] = should_cancel
            if any(job.on_chunk is not None for job in jobs):
                streaming["on_chunk"] = on_chunk
        try:
            results = self._engine.generate(requests, on_progress=on_progress, on_result=on_result,
                                            should_stop=should_stop, **streaming)
        except GenerationOutOfMemory as exc:
            # The engine already retried with smaller batches down to one request: nothing left to try.
            for job in jobs:
                self._finish(job, exc)
        except Exception as exc:
            log.warning("batch %d of %d request(s) failed: %s", batch_id, len(jobs), exc,
                        exc_info=log.isEnabledFor(logging.DEBUG))
            if len(jobs) > 1:
                # One bad request must not fail the others: serve the unfinished ones alone.
                for job, request in zip(jobs, requests):
                    if job.withdrawn:
                        self._finish(job, JobCancelled("the client went away"))
                    elif not job.future.done():
                        self._generate([job], [request])
            else:
                self._finish(jobs[0], exc)
        else:
            for job, result in zip(jobs, results):
                if result is None:
                    reason = "the server is shutting down" if self._stopping.is_set() else "the client went away"
                    self._finish(job, JobCancelled(reason))
                else:
                    self._finish(job, SpeechOutcome(result, batch_id, len(jobs)))
        finally:
            with self._lock:
                self._running = []
                self._progress = {}
        log.info("batch %d: %d request(s) in %.2f s", batch_id, len(jobs), time.monotonic() - started)

    def _finish(self, job: SpeechJob, outcome: SpeechOutcome | BaseException) -> None:
        """Resolve a job once (later calls for the same job are ignored) and count how it ended."""
        if job.future.done():
            return
        if isinstance(outcome, SpeechOutcome):
            job.future.set_result(outcome)
            self._count(served=1)
            return
        if not job.future.running() and not job.future.set_running_or_notify_cancel():
            self._count(cancelled=1)  # cancelled while queued
            return
        job.future.set_exception(outcome)
        if isinstance(outcome, JobCancelled):
            self._count(cancelled=1)
        else:
            self._count(failed=1)

    def _count(self, served: int = 0, failed: int = 0, cancelled: int = 0) -> None:
        with self._lock:
            self._served += served
            self._failed += failed
            self._cancelled += cancelled
