"""The model loading dialog: a determinate bar with bytes, rate and time left while the model downloads from the
Hugging Face hub, then "Loading…" while the weights are read. Cancel stops the download for real: the file in
flight is dropped whole, finished files stay in the cache, and the next Generate fetches only what is missing.

`DownloadBridge` is the engine's download observer for the worker thread: it turns the hub's progress into
queued signals and carries Cancel back (the worker never touches a widget)."""

from __future__ import annotations

import threading
import time
from collections import deque

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QProgressDialog, QWidget

from dia_engine import DownloadObserver, DownloadStatus, observe_downloads
from dia_engine.hub import abort_active_transfers

SIGNAL_INTERVAL_S = 0.1  # at most ~10 progress signals a second
RATE_WINDOW_S = 5.0
BAR_STEPS = 1000  # QProgressBar holds an int: the bar counts per mille, the label counts bytes


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.2f} {unit}"
        n /= 1000
    return f"{n:.2f} GB"


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class RateMeter:
    """Bytes per second over the last few seconds, and the time left at that rate."""

    def __init__(self, window_s: float = RATE_WINDOW_S):
        self.window_s = window_s
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, t: float, done: int) -> None:
        self._samples.append((t, done))
        while len(self._samples) > 2 and t - self._samples[0][0] > self.window_s:
            self._samples.popleft()

    def rate(self, now: float | None = None) -> float | None:
        if len(self._samples) < 2:
            return None
        (t0, d0), (t1, d1) = self._samples[0], self._samples[-1]
        end = max(t1, now if now is not None else t1)  # a stalled download slows down as time passes
        return (d1 - d0) / (end - t0) if end > t0 else None

    def eta(self, done: int, total: int, now: float | None = None) -> float | None:
        rate = self.rate(now)
        return (total - done) / rate if rate else None


class DownloadBridge(QObject, DownloadObserver):
    """Observer of the worker thread's downloads; the signals arrive queued on the GUI thread."""

    downloadStarted = Signal(str, object, int, int)  # repo id, bytes to fetch, files to fetch, files already cached
    downloadProgress = Signal(object, object, str)  # bytes done, bytes in all, file in flight
    downloadFinished = Signal()

    def __init__(self, parent: QObject | None = None):
        QObject.__init__(self, parent)
        self._stop = threading.Event()
        self._last_emit = 0.0
        self.active = False  # a download is running

    # ----- GUI thread -----------------------------------------------------------------------------------------
    def cancel(self) -> None:
        self._stop.set()
        if self.active:  # HTTP transfers stop at their next chunk; a Xet one needs its session stopped
            threading.Thread(target=abort_active_transfers, name="abort-download", daemon=True).start()

    @property
    def cancelled(self) -> bool:
        return self._stop.is_set()

    # ----- worker thread: the engine's DownloadObserver -------------------------------------------------------
    def run(self, load):
        """`load()` with this bridge observing its downloads; each run starts uncancelled."""
        self._stop.clear()
        with observe_downloads(self):
            return load()

    def should_stop(self) -> bool:
        return self._stop.is_set()

    def started(self, status: DownloadStatus) -> None:
        if status.files:
            self.active = True
            self.downloadStarted.emit(status.repo_id, status.total_bytes, len(status.files), status.cached_files)

    def progressed(self, status: DownloadStatus) -> None:
        now = time.monotonic()
        if now - self._last_emit >= SIGNAL_INTERVAL_S or status.done_bytes >= status.total_bytes:
            self._last_emit = now
            self.downloadProgress.emit(status.done_bytes, status.total_bytes, status.current_file)

    def finished(self, status: DownloadStatus) -> None:
        if self.active:
            self.active = False
            self.downloadFinished.emit()


class ModelLoadDialog(QProgressDialog):
    """Shown from the first Generate until the model is ready; `canceled` fires on Cancel."""

    def __init__(self, model: str, bridge: DownloadBridge, parent: QWidget | None = None):
        super().__init__("", "Cancel", 0, 0, parent)
        self.model = model
        self.setWindowTitle("Loading model")
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setMinimumDuration(300)
        self.setAutoClose(False)
        self.setAutoReset(False)
        self.setMinimumWidth(460)
        self._started = time.monotonic()
        self._download: tuple[str, int, int, int] | None = None  # repo, total bytes, files, cached files
        self._done, self._file = 0, ""
        self._rate = RateMeter()
        bridge.downloadStarted.connect(self._download_started)
        bridge.downloadProgress.connect(self._download_progress)
        bridge.downloadFinished.connect(self._download_finished)
        self.canceled.connect(bridge.cancel)
        self._timer = QTimer(self)  # the label says that time passes, and a stalled download slows its rate
        self._timer.timeout.connect(self._refresh)
        self._timer.start(1000)
        self._refresh()

    def _download_started(self, repo: str, total: int, files: int, cached: int) -> None:
        self._download = (repo, total, files, cached)
        self._done = 0
        self._rate = RateMeter()
        self._rate.add(time.monotonic(), 0)
        self.setRange(0, BAR_STEPS)
        self.setValue(0)
        self.setMinimumDuration(0)
        self._refresh()

    def _download_progress(self, done: int, total: int, file: str) -> None:
        self._done, self._file = done, file
        self._rate.add(time.monotonic(), done)
        self.setValue(int(BAR_STEPS * done / total) if total else BAR_STEPS)
        self._refresh()

    def _download_finished(self) -> None:
        self._download = None
        self._started = time.monotonic()
        self.setRange(0, 0)  # reading the weights reports no steps
        self._refresh()

    @property
    def downloading(self) -> bool:
        """A hub download is under way (as far as the signals that reached the GUI thread say)."""
        return self._download is not None

    def download_text(self) -> str:
        """What the label says about the download: bytes, rate and time left."""
        repo, total, files, cached = self._download
        now = time.monotonic()
        rate = self._rate.rate(now)
        eta = self._rate.eta(self._done, total, now)
        parts = [f"{format_bytes(self._done)} of {format_bytes(total)}",
                 f"{format_bytes(rate)}/s" if rate else "starting…",
                 f"{format_duration(eta)} left" if eta is not None else "estimating time left"]
        kept = f" ({cached} already downloaded)" if cached else ""
        return (f"Downloading {repo} from the Hugging Face hub (first use only)\n{' · '.join(parts)}\n"
                f"{files} file{'s' if files != 1 else ''}{kept}{': ' + self._file if self._file else ''}")

    def _refresh(self) -> None:
        if self._download is not None:
            self.setLabelText(self.download_text())
        else:
            self.setLabelText(f"Loading the Dia model\n{self.model}\n\n{int(time.monotonic() - self._started)} s")
