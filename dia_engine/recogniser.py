"""Speech recognition with word timestamps: Whisper through `transformers`, loaded on demand and unloadable.

    recogniser = Recogniser("openai/whisper-large-v3-turbo", device=engine.device)   # nothing loaded yet
    result = recogniser.transcribe("clip.wav")       # loads on first use; Transcription(text, words, ...)
    recogniser.unload()                              # frees the memory before a long generation

The model comes from a local folder or the Hugging Face cache (downloaded once through `hub`, like the TTS
model; offline afterwards). Word times come from Whisper's cross-attention alignment (the model's
`alignment_heads`), as in openai/whisper. Calls are serialised by a lock: one recogniser, one caller at a time.
"""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .engine import resolve_device
from .errors import AudioInputError, ModelLoadError

DEFAULT_RECOGNISER = "openai/whisper-large-v3-turbo"
WHISPER_SAMPLE_RATE = 16_000
CHUNK_SECONDS = 30.0  # Whisper's window: longer audio is transcribed in overlapping 30 s chunks
# Config, generation config, tokenizer and feature-extractor files (merges.txt where the repo has one), and one
# copy of the weights; alternatives in order of preference, as `hub.resolve_source` takes them.
RECOGNISER_FILES = (
    ("*.json", "*.txt", "model.safetensors"),
    ("*.json", "model.safetensors"),
    ("*.json", "*.txt", "model.safetensors.index.json", "model-*.safetensors"),
    ("*.json", "model.safetensors.index.json", "model-*.safetensors"),
)
_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


@dataclass(frozen=True)
class RecognisedWord:
    word: str  # as Whisper wrote it, without surrounding spaces (punctuation attached: "friend.")
    start: float  # seconds from the start of the audio
    end: float

    def to_dict(self) -> dict:
        return {"word": self.word, "start": self.start, "end": self.end}


@dataclass(frozen=True)
class Transcription:
    text: str
    words: tuple[RecognisedWord, ...]
    duration: float  # seconds of audio transcribed
    model_id: str  # which recogniser heard it (a cache key: another model may hear otherwise)

    def to_dict(self) -> dict:
        return {"text": self.text, "words": [w.to_dict() for w in self.words], "duration": self.duration,
                "model_id": self.model_id}

    @classmethod
    def from_dict(cls, data: dict) -> Transcription:
        words = tuple(RecognisedWord(str(w["word"]), float(w["start"]), float(w["end"])) for w in data["words"])
        return cls(str(data["text"]), words, float(data["duration"]), str(data["model_id"]))


class Recogniser:
    """Whisper on one device. Loads on the first `transcribe` (or `load()`); `unload()` frees it again."""

    def __init__(self, source: str | os.PathLike = DEFAULT_RECOGNISER, *, device: str | None = None,
                 dtype: str | None = None, cache_dir: str | None = None, language: str | None = "en",
                 beams: int = 1) -> None:
        self.source = str(source)
        self.device = resolve_device(device)  # the TTS engine's rule: CUDA when present, else the CPU
        self.dtype = _resolve_dtype(dtype, self.device)
        self.cache_dir = cache_dir
        self.language = language  # Dia speaks English; None lets Whisper detect the language
        # Greedy by default: 2-5x cheaper than the pipeline's 5 beams, and what a check needs.
        self.beams = int(beams)
        if self.beams < 1:
            raise ValueError(f"beams must be at least 1, got {beams}")
        self._pipeline = None
        self._folder: Path | None = None
        self._lock = threading.RLock()

    @property
    def model_id(self) -> str:
        return self.source

    @property
    def loaded(self) -> bool:
        return self._pipeline is not None

    def locate(self) -> Path:
        """The model's folder, fetched into the hub cache if needed, without loading it (a cheap "is it there?")."""
        with self._lock:
            if self._folder is None:
                from .hub import resolve_source

                self._folder = resolve_source(self.source, self.cache_dir, files=RECOGNISER_FILES)
            return self._folder

    def is_downloaded(self) -> bool:
        """Whether the model is at hand without a download: a local folder, or a repo in the hub cache."""
        if self._folder is not None or Path(self.source).expanduser().is_dir():
            return True
        from huggingface_hub import try_to_load_from_cache

        def cached(name: str) -> bool:
            return isinstance(try_to_load_from_cache(self.source, name, cache_dir=self.cache_dir), str)

        return cached("config.json") and (cached("model.safetensors") or cached("model.safetensors.index.json"))

    def load(self) -> None:
        """Fetch (once) and load the model. Raises ModelLoadError with a readable reason."""
        with self._lock:
            if self._pipeline is None:
                self._pipeline = _build_pipeline(self.locate(), self.device, self.dtype)

    def unload(self) -> None:
        """Drop the model and give its memory back (the next `transcribe` loads it again)."""
        with self._lock:
            if self._pipeline is None:
                return
            self._pipeline = None
            gc.collect()
            if self.device.type == "cuda":
                torch.cuda.empty_cache()

    def transcribe(self, audio: str | os.PathLike | np.ndarray, sample_rate: int | None = None) -> Transcription:
        """What is said in `audio` (a file, or mono/[samples, channels] samples at `sample_rate`), with word times."""
        samples = _load_audio(audio, sample_rate)
        duration = len(samples) / WHISPER_SAMPLE_RATE
        with self._lock:
            self.load()
            generate = {"task": "transcribe", "num_beams": self.beams}
            if self.language:
                generate["language"] = self.language
            with torch.inference_mode():
                output = self._pipeline({"raw": samples, "sampling_rate": WHISPER_SAMPLE_RATE},
                                        return_timestamps="word", chunk_length_s=CHUNK_SECONDS,
                                        generate_kwargs=generate)
        words = _words_from_chunks(output.get("chunks") or [], duration)
        return Transcription(" ".join(str(output.get("text", "")).split()), words, duration, self.model_id)


def _build_pipeline(folder: Path, device: torch.device, dtype: torch.dtype):
    try:
        from transformers import WhisperForConditionalGeneration, WhisperProcessor, pipeline
    except ImportError as exc:
        raise ModelLoadError(f"the speech recogniser needs the 'transformers' package: {exc}") from None

    try:
        processor = WhisperProcessor.from_pretrained(folder)
        model = WhisperForConditionalGeneration.from_pretrained(folder, dtype=dtype).to(device).eval()
    except (OSError, ValueError, KeyError) as exc:
        raise ModelLoadError(f"cannot load the speech recogniser from {folder}: {exc}") from None
    except torch.OutOfMemoryError:
        raise ModelLoadError(f"not enough {device.type} memory to load the speech recogniser") from None
    if getattr(model.generation_config, "alignment_heads", None) is None:
        raise ModelLoadError(f"the recogniser in {folder} has no 'alignment_heads' in its generation config: "
                             "it cannot give word times")
    return pipeline("automatic-speech-recognition", model=model, tokenizer=processor.tokenizer,
                    feature_extractor=processor.feature_extractor, device=device, dtype=dtype)


def _words_from_chunks(chunks: Sequence[dict], duration: float) -> tuple[RecognisedWord, ...]:
    """The pipeline's word chunks as words with ordered, bounded times (the last end may be missing)."""
    words: list[RecognisedWord] = []
    previous_start = 0.0
    for chunk in chunks:
        text = str(chunk.get("text", "")).strip()
        if not text:
            continue
        start, end = chunk.get("timestamp", (None, None))
        start = previous_start if start is None else min(max(float(start), previous_start), duration)
        end = duration if end is None else min(max(float(end), start), duration)
        words.append(RecognisedWord(text, round(start, 3), round(end, 3)))
        previous_start = start
    return tuple(words)


def _load_audio(audio: str | os.PathLike | np.ndarray, sample_rate: int | None) -> np.ndarray:
    """Mono float32 at 16 kHz."""
    if isinstance(audio, (str, os.PathLike)):
        import soundfile as sf

        try:
            samples, sample_rate = sf.read(str(audio), dtype="float32", always_2d=True)
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            raise AudioInputError(f"cannot read audio {audio}: {exc}") from None
    else:
        if sample_rate is None:
            raise AudioInputError("transcribe() needs the sample rate of the samples it is given")
        samples = np.asarray(audio, dtype=np.float32)
    if samples.ndim == 2:
        samples = samples.mean(axis=1)
    if samples.ndim != 1 or len(samples) == 0:
        raise AudioInputError("there is no audio to transcribe")
    if not np.all(np.isfinite(samples)):
        raise AudioInputError("the audio holds NaN or infinite samples")
    if sample_rate != WHISPER_SAMPLE_RATE:
        import torchaudio.functional as AF

        samples = AF.resample(torch.from_numpy(np.ascontiguousarray(samples)), int(sample_rate),
                              WHISPER_SAMPLE_RATE).numpy()
    return np.ascontiguousarray(samples, dtype=np.float32)


def _resolve_dtype(dtype: str | None, device: torch.device) -> torch.dtype:
    if dtype is None:  # Whisper is trained in float16; the CPU runs float32 fastest and exactly
        return torch.float16 if device.type == "cuda" else torch.float32
    if dtype not in _DTYPES:
        raise ModelLoadError(f"unknown dtype '{dtype}' for the recogniser: use {', '.join(_DTYPES)}")
    return _DTYPES[dtype]
