"""Automatic transcripts: what the speech recogniser hears in a clip or a take, cached by the audio's content.

    transcriber = Transcriber(device=engine.device)     # loads nothing yet
    heard = transcriber.transcribe_file(clip)            # cached: the same clip is never transcribed twice
    transcriber.unload()                                 # before a long generation

The cache is a folder of small JSON files named by the audio's SHA-256 and the recogniser that heard it
(`DIA_STUDIO_CACHE`/transcripts, else ~/.cache/dia-studio/transcripts): a clip moved, renamed or used in
another project keeps its transcript. Where no recogniser can be loaded (not downloaded and offline, ...),
`RecogniserUnavailable` says why, once, and nothing else stops working.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from pathlib import Path

import numpy as np

from dia_engine import DEFAULT_RECOGNISER, AudioInputError, ModelLoadError, Recogniser, Transcription, WordTiming, time_transcript_words

from .store import ProjectError
from .voices import file_sha256


class RecogniserUnavailable(ProjectError):
    """No speech recogniser can be loaded; the message says why (shown as "checks off because ...")."""


def default_cache_dir() -> Path:
    root = os.environ.get("DIA_STUDIO_CACHE")
    base = Path(root) if root else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dia-studio"
    return base / "transcripts"


def audio_sha256(audio: np.ndarray, sample_rate: int) -> str:
    """Content hash of samples in memory (a take not yet written, a resampled clip)."""
    digest = hashlib.sha256(f"{int(sample_rate)}:".encode())
    digest.update(np.ascontiguousarray(audio, dtype=np.float32).tobytes())
    return digest.hexdigest()


class TranscriptCache:
    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_cache_dir()

    def path(self, sha256: str, model_id: str) -> Path:
        model = re.sub(r"[^\w.-]+", "_", model_id.strip("/\\")).strip("_")[-80:] or "model"
        return self.folder / sha256[:2] / f"{sha256}-{model}.json"

    def get(self, sha256: str, model_id: str) -> Transcription | None:
        path = self.path(sha256, model_id)
        try:
            return Transcription.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError):
            return None  # a damaged entry is transcribed again and overwritten

    def put(self, sha256: str, transcription: Transcription) -> None:
        path = self.path(sha256, transcription.model_id)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            temp.write_text(json.dumps(transcription.to_dict()), encoding="utf-8")
            temp.replace(path)
        except OSError:
            pass  # a read-only cache only costs a second transcription later


class Transcriber:
    """The recogniser (loaded on first use) behind the transcript cache. Thread-safe; one call at a time."""

    def __init__(self, source: str | os.PathLike = DEFAULT_RECOGNISER, *, device: str | None = None,
                 dtype: str | None = None, cache: TranscriptCache | None = None,
                 hub_cache_dir: str | None = None) -> None:
        self.source = str(source)
        self.cache = cache if cache is not None else TranscriptCache()
        self._settings = {"device": device, "dtype": dtype, "cache_dir": hub_cache_dir}
        self._recogniser: Recogniser | None = None
        self._unavailable: str | None = None
        self._lock = threading.RLock()

    @property
    def model_id(self) -> str:
        return self.source

    @property
    def unavailable_reason(self) -> str | None:
        """Why the recogniser could not be loaded (after a failed try), else None."""
        return self._unavailable

    @property
    def loaded(self) -> bool:
        return self._recogniser is not None and self._recogniser.loaded

    def locate(self) -> None:
        """Make sure the model is there (fetched if needed) without loading it. Raises RecogniserUnavailable."""
        self._call("locate")

    def load(self) -> None:
        """Load the recogniser now. Raises RecogniserUnavailable."""
        self._call("load")

    def _call(self, method: str) -> None:
        with self._lock:
            if self._unavailable is not None:
                raise RecogniserUnavailable(self._unavailable)
            try:
                if self._recogniser is None:
                    self._recogniser = Recogniser(self.source, **self._settings)
                if method != "__init__":
                    getattr(self._recogniser, method)()
            except ModelLoadError as error:
                self._unavailable = f"the speech recogniser {self.source} cannot be loaded: {error}"
                raise RecogniserUnavailable(self._unavailable) from None

    def _require_downloaded(self) -> None:
        if self._unavailable is not None:
            raise RecogniserUnavailable(self._unavailable)
        if self._recogniser is None:
            self._call("__init__")  # constructs it (a bad device setting is reported like a load error)
        if not self._recogniser.loaded and not self._recogniser.is_downloaded():
            raise RecogniserUnavailable(f"the speech recogniser {self.source} is not downloaded yet (about "
                                        f"{_download_size(self.source)}): press Transcribe on a speaker card to "
                                        "download it, or choose a downloaded one in the settings")

    def available(self) -> bool:
        try:
            self.load()
        except RecogniserUnavailable:
            return False
        return True

    def unload(self) -> None:
        with self._lock:
            if self._recogniser is not None:
                self._recogniser.unload()

    def cached_file(self, path: str | Path) -> Transcription | None:
        """The cached transcript of a file, without loading any model."""
        return self.cache.get(file_sha256(Path(path)), self.model_id)

    def transcribe_file(self, path: str | Path, *, download: bool = True) -> Transcription:
        """What is said in the file (cached). `download=False`: never start a model download for it."""
        sha = file_sha256(Path(path))
        return self._cached_or(sha, lambda recogniser: recogniser.transcribe(Path(path)), download)

    def transcribe_audio(self, audio: np.ndarray, sample_rate: int, *, download: bool = True) -> Transcription:
        sha = audio_sha256(audio, sample_rate)
        return self._cached_or(sha, lambda recogniser: recogniser.transcribe(audio, sample_rate), download)

    def word_timings(self, clip: str | Path, transcript: str, *, download: bool = True
                     ) -> tuple[WordTiming, ...] | None:
        """The typed `transcript`'s words with the times they are spoken in `clip` (for a Dia2 voice prompt):
        the typed words win, the recogniser gives the times. None when the words heard do not match at all
        (then the engine's approximate timings are the better guess)."""
        heard = self.transcribe_file(clip, download=download)
        return time_transcript_words(transcript, heard.words, heard.duration)

    def _cached_or(self, sha: str, transcribe, download: bool = True) -> Transcription:
        found = self.cache.get(sha, self.model_id)
        if found is not None:
            return found
        with self._lock:
            if not download:
                self._require_downloaded()
            self.load()
            transcription = transcribe(self._recogniser)
        self.cache.put(sha, transcription)
        return transcription


_default: Transcriber | None = None
_default_lock = threading.Lock()


def clip_word_timings(clip: str | Path, transcript: str, transcriber: Transcriber | None = None
                      ) -> tuple[WordTiming, ...] | None:
    """Word timings of a voice clip for a Dia2 prompt from the recogniser (default: the default recogniser),
    or None where it cannot give them: not downloaded (never downloaded for this), unreadable clip, nothing in
    common. The engine then derives approximate timings."""
    global _default
    if transcriber is None:
        with _default_lock:
            if _default is None:
                _default = Transcriber()
            transcriber = _default
    try:
        return transcriber.word_timings(clip, transcript, download=False)
    except (RecogniserUnavailable, AudioInputError, OSError):
        return None


def _download_size(source: str) -> str:
    return "1.6 GB" if source == DEFAULT_RECOGNISER else "its size on the hub"
