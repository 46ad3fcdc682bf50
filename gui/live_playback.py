"""Play as it renders: lines are heard while they generate, one after another with their gaps.

`LiveQueue` is the pure model (no Qt): the engine's chunks go in (`add_chunk`, on the GUI thread), the audio
callback pulls samples out (`fill`, on PortAudio's thread). It plays the lines in the order they started,
each line's parts in order, and the line's timeline gap before it (overlaps play as no gap). When the audio
it needs next is not rendered yet it outputs silence without moving on: playback waits (`waiting`) and
resumes where it stopped, so no silence is ever inserted into the lines themselves, however fast or slow
generation is. `LivePlayer` runs a sounddevice stream on a LiveQueue and reports to the views;
`stream_hooks` connects the engine's `on_chunk`/`on_result` to it.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from projects.model import EXPORT_RATES
from PySide6.QtCore import QObject, QTimer, Signal

from gui.playback import _output_backend


@dataclass(frozen=True)
class LiveChunk:
    """Audio of one part of a line (`samples` None: that part is finished)."""

    line_id: str
    part: int
    parts: int
    samples: np.ndarray | None
    start: int
    sample_rate: int


def can_stream(engine) -> bool:
    """Whether `engine.generate` takes `on_chunk` (an engine family without streaming yet plays nothing live)."""
    try:
        return "on_chunk" in inspect.signature(engine.generate).parameters
    except (TypeError, ValueError):
        return False


def stream_hooks(owners: list[tuple[str, int, int] | None], emit: Callable[[LiveChunk], None],
                 on_result: Callable | None, sample_rate: int) -> dict:
    """`on_chunk` and `on_result` for `engine.generate` that report each request's audio to `emit` as LiveChunks.

    `owners[i]` is request i's (line id, part, parts), None for a request of no line."""

    def on_chunk(index: int, samples: np.ndarray, start: int) -> None:
        owner = owners[index]
        if owner is not None:
            emit(LiveChunk(owner[0], owner[1], owner[2], samples, start, sample_rate))

    def result(index: int, outcome) -> None:
        owner = owners[index]
        if owner is not None:
            emit(LiveChunk(owner[0], owner[1], owner[2], None, 0, sample_rate))
        if on_result is not None:
            on_result(index, outcome)

    return {"on_chunk": on_chunk, "on_result": result}


class LiveEngine:
    """The engine as the generation service sees it: it adds `on_chunk` while play-as-it-renders is on.

    `projects.GenerationService.run` makes one request per part of each job, in job order: that order ties a
    request to its line (`expect`)."""

    def __init__(self, engine) -> None:
        self._engine = engine
        self._owners: list[tuple[str, int, int]] = []
        self._live: Callable[[LiveChunk], None] | None = None

    def expect(self, jobs, live: Callable[[LiveChunk], None] | None) -> None:
        self._owners = [(job.line_id, i, len(job.parts)) for job in jobs for i in range(len(job.parts))]
        self._live = live

    def __getattr__(self, name):
        return getattr(self._engine, name)

    def generate(self, requests, **kwargs):
        if self._live is not None and can_stream(self._engine) and len(requests) == len(self._owners):
            kwargs.update(stream_hooks(self._owners, self._live, kwargs.get("on_result"), self._engine.sample_rate))
        return self._engine.generate(requests, **kwargs)


@dataclass
class _Line:
    line_id: str
    gap_ms: float  # silence before the line (not before the first one played)
    parts: int = 1
    audio: list[np.ndarray] = field(default_factory=list)  # playable, in order
    playable: int = 0  # samples in `audio`
    pending: dict[int, list[np.ndarray]] = field(default_factory=dict)  # parts waiting for earlier ones
    parts_done: set[int] = field(default_factory=set)
    next_part: int = 0  # the part whose chunks are appended to `audio` as they come
    ended: bool = False  # no more audio will come (finished, failed or skipped)

    @property
    def finished(self) -> bool:
        return self.ended or self.next_part >= self.parts

    def add(self, part: int, samples: np.ndarray | None, parts: int) -> None:
        self.parts = parts
        if samples is None:
            self.parts_done.add(part)
        elif len(samples):
            self.pending.setdefault(part, []).append(np.asarray(samples, np.float32))
        while self.next_part < self.parts:  # move what is now in order to the playable audio
            for chunk in self.pending.pop(self.next_part, []):
                self.audio.append(chunk)
                self.playable += len(chunk)
            if self.next_part not in self.parts_done:
                break
            self.next_part += 1

    def samples(self) -> np.ndarray:
        return np.concatenate(self.audio) if self.audio else np.zeros(0, np.float32)


class LiveQueue:
    """Lines in play order, their rendered audio so far, and the play position (see module docstring)."""

    def __init__(self, sample_rate: int = EXPORT_RATES[0]) -> None:
        self.sample_rate = sample_rate
        self._lines: list[_Line] = []
        self._by_id: dict[str, _Line] = {}
        self._current = 0  # index into _lines being played
        self._offset = 0  # samples into the current line, its gap included
        self._chunk = 0  # index into the current line's audio list, and the offset in it
        self._chunk_offset = 0
        self.waiting = False  # the last pull found no rendered audio to play (and more is coming)
        self.closed = False  # no more lines will be expected
        self.played = 0  # samples of line audio and gaps played (waits not counted)
        self._heard = False  # some line audio has played (no gap before the first line heard)
        self._gap: int | None = None  # samples of gap before the current line, once it is entered
        self._lock = threading.Lock()

    # --- GUI thread ---------------------------------------------------------------------------------------
    def expect(self, line_id: str, gap_ms: float = 0.0) -> None:
        """Line `line_id` will render next (after those already expected). Again for a line already queued
        and not yet played through: nothing changes."""
        with self._lock:
            line = self._by_id.get(line_id)
            if line is not None and self._lines.index(line) >= self._current:
                return
            line = _Line(line_id, max(0.0, gap_ms) if self._lines else 0.0)
            self._lines.append(line)
            self._by_id[line_id] = line

    def add_chunk(self, chunk: LiveChunk) -> None:
        with self._lock:
            line = self._by_id.get(chunk.line_id)
            if line is None or line.ended:
                return
            line.add(chunk.part, chunk.samples, chunk.parts)

    def end_line(self, line_id: str) -> None:
        """No more audio for this line (it failed, was skipped or the run stopped): playback moves on."""
        with self._lock:
            line = self._by_id.get(line_id)
            if line is not None:
                line.ended = True

    def line_audio(self, line_id: str) -> np.ndarray | None:
        """The line's audio rendered so far, in order (None for a line not in the queue)."""
        with self._lock:
            line = self._by_id.get(line_id)
            return None if line is None else line.samples()

    def close(self) -> None:
        """The run is over: lines still rendering get no more audio; playback ends after what there is."""
        with self._lock:
            self.closed = True
            for line in self._lines:
                line.ended = line.ended or not line.finished

    def lines(self) -> list[tuple[str, float, np.ndarray, bool]]:
        """(line id, gap seconds, audio rendered so far, finished) of every queued line, in play order."""
        with self._lock:
            return [(line.line_id, line.gap_ms / 1000, line.samples(), line.finished) for line in self._lines]

    @property
    def current_line(self) -> str | None:
        with self._lock:
            return self._lines[self._current].line_id if self._current < len(self._lines) else None

    @property
    def done(self) -> bool:
        """The run is over and everything has been played through."""
        with self._lock:
            return self.closed and self._current >= len(self._lines)

    # --- audio thread -------------------------------------------------------------------------------------
    def fill(self, out: np.ndarray) -> int:
        """Write the next samples into `out` ([frames] or [frames, channels]); silence where nothing is
        rendered yet. Returns the samples of real playback written (the rest is waiting or the end)."""
        frames = out.shape[0]
        flat = np.zeros(frames, np.float32)
        written = 0
        with self._lock:
            self.waiting = False
            while written < frames and self._current < len(self._lines):
                line = self._lines[self._current]
                if self._offset == 0 and line.finished and not line.playable:
                    self._current += 1  # failed, skipped or stopped before any audio: not even its gap
                    continue
                if self._gap is None:  # entering the line: its gap, unless nothing has played yet
                    self._gap = int(round(line.gap_ms * self.sample_rate / 1000)) if self._heard else 0
                if self._offset < self._gap:
                    n = min(self._gap - self._offset, frames - written)
                    written += n
                    self._offset += n
                    continue
                if self._chunk < len(line.audio):
                    chunk = line.audio[self._chunk]
                    n = min(len(chunk) - self._chunk_offset, frames - written)
                    flat[written : written + n] = chunk[self._chunk_offset : self._chunk_offset + n]
                    written += n
                    self._offset += n
                    self._chunk_offset += n
                    self._heard = True
                    if self._chunk_offset == len(chunk):
                        self._chunk, self._chunk_offset = self._chunk + 1, 0
                    continue
                if line.finished:  # played through: on to the next line
                    self._current += 1
                    self._offset = self._chunk = self._chunk_offset = 0
                    self._gap = None
                    continue
                self.waiting = True  # the audio it needs is still rendering
                break
            if self._current >= len(self._lines) and not self.closed:
                self.waiting = True  # the next line has not started yet
            self.played += written
        out[:] = flat.reshape((frames,) + (1,) * (out.ndim - 1))
        return written


class LivePlayer(QObject):
    """Plays a LiveQueue through sounddevice while lines render; `enabled` is the toolbar toggle.

    Signals are polled from the queue on the GUI thread (the audio callback never touches Qt)."""

    lineChanged = Signal(object)  # line id now playing (None: finished)
    waitingChanged = Signal(bool)  # True while playback waits for audio still rendering
    audioGrew = Signal(str)  # line id whose rendered audio grew (the timeline redraws it)
    POLL_MS = 40

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sd, self.unavailable_reason = _output_backend()
        self.enabled = False
        self.queue: LiveQueue | None = None
        self._stream = None
        self._line: str | None = None
        self._waiting = False
        self._timer = QTimer(self)
        self._timer.setInterval(self.POLL_MS)
        self._timer.timeout.connect(self._poll)

    @property
    def available(self) -> bool:
        return self._sd is not None

    @property
    def is_playing(self) -> bool:
        return self._stream is not None

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = bool(enabled)
        if not self.enabled:
            self.stop()

    # --- from the generation ------------------------------------------------------------------------------
    def lines_started(self, lines: list[tuple[str, float]]) -> None:
        """(line id, gap ms) of lines the engine just took, in order."""
        if not self.enabled:
            return
        if self.queue is None or self.queue.closed:
            self.stop()
            self.queue = LiveQueue()  # a new run: playback starts with these lines
        for line_id, gap_ms in lines:
            self.queue.expect(line_id, gap_ms)

    def add_chunk(self, chunk: LiveChunk) -> None:
        if not self.enabled or self.queue is None:
            return
        self.queue.add_chunk(chunk)
        if chunk.samples is not None:
            if self._stream is None and self.available:
                self._start(chunk.sample_rate)
            self.audioGrew.emit(chunk.line_id)

    def line_ended(self, line_id: str) -> None:
        if self.queue is not None:
            self.queue.end_line(line_id)

    def run_ended(self) -> None:
        """The queue of lines is drained (or stopped): what rendered plays out, then playback ends."""
        if self.queue is not None:
            self.queue.close()
            if not self.is_playing:
                self.queue = None

    # --- playback -----------------------------------------------------------------------------------------
    def _start(self, sample_rate: int) -> None:
        queue, sd = self.queue, self._sd
        queue.sample_rate = sample_rate

        def callback(outdata, frames, time, status):  # PortAudio thread
            queue.fill(outdata)

        try:
            stream = sd.OutputStream(samplerate=sample_rate, channels=1, dtype="float32", callback=callback)
            stream.start()
        except Exception as e:  # the device went away: say so, keep the app running
            self.unavailable_reason = f"Playback failed: {e}"
            return
        self._stream = stream
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            except Exception:
                pass
        self.queue = None
        self._set_state(None, False)

    def _poll(self) -> None:
        queue = self.queue
        if queue is None:
            return
        if queue.done:
            self.stop()
            return
        self._set_state(queue.current_line, queue.waiting)

    def _set_state(self, line: str | None, waiting: bool) -> None:
        if line != self._line:
            self._line = line
            self.lineChanged.emit(line)
        if waiting != self._waiting:
            self._waiting = waiting
            self.waitingChanged.emit(waiting)
