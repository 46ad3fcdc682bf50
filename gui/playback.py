"""Audio playback: a `sounddevice` output stream pulls samples from a buffer in its callback; the GUI polls the
position with a timer. Without PortAudio or an output device, playback is off with a clear reason and the
rest of the app works.

The callback runs on PortAudio's thread. It touches only the `PlaybackBuffer` (a numpy array and an int
position), never Qt objects, so it never waits on the GUI."""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal


class PlaybackBuffer:
    """Mono float32 samples and a read position, shared between the audio callback and the GUI."""

    def __init__(self, audio: np.ndarray, sample_rate: int, start_seconds: float = 0.0):
        self.audio = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
        self.sample_rate = int(sample_rate)
        self._position = min(len(self.audio), max(0, int(round(start_seconds * sample_rate))))
        self._lock = threading.Lock()

    @property
    def position(self) -> int:
        return self._position

    @property
    def finished(self) -> bool:
        return self._position >= len(self.audio)

    def fill(self, out: np.ndarray) -> int:
        """Copy the next samples into `out` (frames x channels, every channel the same); silence after the end.
        Returns how many real samples were written."""
        frames = out.shape[0]
        with self._lock:
            start = self._position
            chunk = self.audio[start : start + frames]
            self._position = start + len(chunk)
        n = len(chunk)
        out[:n] = chunk[:, None]
        out[n:] = 0.0
        return n


def _output_backend():
    """(sounddevice module, None) when playback can work, else (None, reason for the user)."""
    try:
        import sounddevice as sd
    except OSError:
        return None, ("Playback is off: the PortAudio library is not installed "
                      "(on Debian/Ubuntu: sudo apt install libportaudio2). Everything else works.")
    except ImportError:
        return None, "Playback is off: the Python package 'sounddevice' is missing. Everything else works."
    try:
        sd.query_devices(kind="output")
    except Exception:  # sounddevice raises PortAudioError or ValueError when there is no default output
        return None, "Playback is off: no audio output device was found. Everything else works."
    return sd, None


class Player(QObject):
    """Plays one buffer at a time. `tag` says what is playing (a take, a line, the timeline) for the views."""

    started = Signal(object)  # tag
    positionChanged = Signal(float)  # seconds into the buffer
    stopped = Signal(object)  # tag
    POLL_MS = 30

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._sd, self.unavailable_reason = _output_backend()
        self._stream = None
        self._buffer: PlaybackBuffer | None = None
        self._tag = None
        self._timer = QTimer(self)
        self._timer.setInterval(self.POLL_MS)
        self._timer.timeout.connect(self._poll)

    @property
    def available(self) -> bool:
        return self._sd is not None

    @property
    def is_playing(self) -> bool:
        return self._buffer is not None

    @property
    def tag(self):
        return self._tag

    def position_seconds(self) -> float:
        b = self._buffer
        return b.position / b.sample_rate if b else 0.0

    def play(self, audio: np.ndarray, sample_rate: int, start_seconds: float = 0.0, tag=None) -> bool:
        """Start playing (stopping whatever plays). Returns False, and plays nothing, when playback is off."""
        self.stop()
        if not self.available:
            return False
        buffer = PlaybackBuffer(audio, sample_rate, start_seconds)
        sd = self._sd

        def callback(outdata, frames, time, status):  # PortAudio thread
            if buffer.fill(outdata) < frames:
                raise sd.CallbackStop

        try:
            stream = sd.OutputStream(samplerate=sample_rate, channels=1, dtype="float32", callback=callback)
            stream.start()
        except Exception as e:  # the device vanished or refuses the format: say so, keep the app running
            self.unavailable_reason = f"Playback failed: {e}"
            return False
        self._stream, self._buffer, self._tag = stream, buffer, tag
        self._timer.start()
        self.started.emit(tag)
        return True

    def stop(self) -> None:
        if self._buffer is None:
            return
        self._timer.stop()
        stream, tag = self._stream, self._tag
        self._stream = self._buffer = self._tag = None
        if stream is not None:
            try:
                stream.abort()
                stream.close()
            except Exception:
                pass  # closing a stream whose device went away must not take the app down
        self.stopped.emit(tag)

    def _poll(self) -> None:
        buffer = self._buffer
        if buffer is None:
            return
        self.positionChanged.emit(buffer.position / buffer.sample_rate)
        if buffer.finished and (self._stream is None or not self._stream.active):
            self.stop()
