"""`DiaEngine`: loading, voice encoding and batched generation — the one API every face uses."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from .audio import read_clip
from .checkpoint import load_model
from .codec import Codec
from .config import DiaConfig
from .errors import DiaEngineError, GenerationOutOfMemory, ModelLoadError
from .generation import CancelFn, GenerationLoop, ProgressFn, StopFn, draw_seed, estimate_max_tokens
from .family import DIA2, detect_family, read_config
from .hub import resolve_source
from .describe import dia_info
from .info import ModelInfo
from .streaming import DEFAULT_CHUNK_SECONDS, AudioChunker, ChunkFn
from .text import text_byte_length
from .types import HOP_LENGTH, SAMPLE_RATE, GenerationRequest, GenerationResult, VoicePrompt

log = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
DEFAULT_SLOTS = {"cuda": 16, "mps": 8, "cpu": 8}
VOICE_CACHE_SIZE = 64


def resolve_device(device: str | None) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device not in ("cuda", "cpu", "mps"):
        raise ModelLoadError(f"unknown device '{device}': use cuda, cpu or mps")
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError("device 'cuda' requested but no CUDA GPU is available")
    if device == "mps" and not torch.backends.mps.is_available():
        raise ModelLoadError("device 'mps' requested but Apple MPS is not available")
    return torch.device(device)


def resolve_dtype(dtype: str | None, device: torch.device) -> torch.dtype:
    if dtype is None:
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    if dtype not in DTYPES:
        raise ModelLoadError(f"unknown dtype '{dtype}': use {', '.join(DTYPES)}")
    return DTYPES[dtype]


def combine_voices(first: VoicePrompt, second: VoicePrompt) -> VoicePrompt:
    """One prompt from two speakers' clips: first clip then second, transcripts joined with a space.

    Dia2 prompts (`VoicePrompt.clips`) become one prompt of speaker 1's clip then speaker 2's."""
    if first.clips or second.clips:
        if not (first.clips and second.clips) or len(first.clips) + len(second.clips) > 2:
            raise ValueError("combine two one-clip Dia2 voice prompts (speaker 1, then speaker 2)")
        return VoicePrompt.from_clips(*first.clips, *second.clips, keep_audio=first.keep_audio)
    parts = [v.codes for v in (first, second) if v.codes is not None and len(v.codes)]
    codes = np.concatenate(parts) if parts else None
    transcript = " ".join(t for t in (first.transcript.strip(), second.transcript.strip()) if t)
    return VoicePrompt(transcript=transcript, codes=codes)


class DiaEngine:
    def __init__(self, model, config: DiaConfig, codec: Codec | None, device: torch.device, model_id: str,
                 batch_slots: int | None = None, compile: bool = False, pack_weights: bool | None = None):
        self.model, self.config, self.codec = model, config, codec
        self._device = device
        self.model_id = model_id
        self.batch_slots = batch_slots or DEFAULT_SLOTS.get(device.type, 8)
        self.compile = compile
        # On the CPU, packed weights make a decode step 2-3x faster (see model.Linear). torch.compile keeps
        # plain weights: its tracer cannot take packed ones.
        if pack_weights is None:
            pack_weights = device.type == "cpu" and not compile
        if pack_weights:
            model.pack_for_cpu(rows_hint=2 * self.batch_slots)
        self.cpu_kernels = model.linear_kernels()
        log.info("linear layers run on: %s", ", ".join(sorted(self.cpu_kernels)))
        # On the CPU attention runs slot by slot over each line's own keys (see decoding.decode_step).
        self.per_slot_attention = device.type == "cpu" and not compile
        self._rows_independent: dict[int, bool] = {}
        self._voice_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        # One generation at a time per engine. Re-entrant: `on_result`/`on_progress` run on the generating thread
        # while it is held, and may call `decode` or `encode_voice` (e.g. to save a take); the loop waits for
        # them, so nothing else touches the model or codec meanwhile. Other threads still wait their turn.
        self._lock = threading.RLock()

    # ----------------------------------------------------------------------------------------- loading
    @classmethod
    def from_pretrained(cls, source: str | Path = "nari-labs/Dia-1.6B-0626", *, device: str | None = None,
                        dtype: str | None = None, codec: str | Path | None = "auto", batch_slots: int | None = None,
                        compile: bool = False, cache_dir: str | None = None) -> "DiaEngine":
        """Load a Dia checkpoint (local folder or hub repo id) and optionally its codec.

        The family comes from config.json: a Dia2 checkpoint gives a `dia2.Dia2Engine` (same surface, Mimi
        codec); codec "auto" is then kyutai/mimi. Raises ModelLoadError with one readable message for every
        bad source.
        """
        dev = resolve_device(device)
        dt = resolve_dtype(dtype, dev)
        if batch_slots is not None and batch_slots < 1:
            raise ModelLoadError("batch_slots must be at least 1")
        folder = resolve_source(source, cache_dir)
        raw = read_config(folder / "config.json")
        if detect_family(raw, str(folder / "config.json")) == DIA2:  # Dia2 has its own engine, same surface
            from .dia2.engine import Dia2Engine

            return Dia2Engine.load(folder, raw, str(source), dev, dt, codec, batch_slots, compile, cache_dir)
        cfg = DiaConfig.from_file(folder / "config.json")
        if dev.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True  # as the reference does: fp32 matmuls in TF32
        try:
            model = load_model(folder, cfg, dev, dt)
        except torch.OutOfMemoryError:
            raise ModelLoadError(f"not enough {dev.type} memory to load the model in {dtype or dt}") from None
        dac = Codec.load(codec, dev) if codec is not None else None
        return cls(model, cfg, dac, dev, str(source), batch_slots=batch_slots, compile=compile)

    @property
    def device(self) -> str:
        return self._device.type

    @property
    def dtype(self) -> str:
        return next(k for k, v in DTYPES.items() if v == self.model.compute_dtype)

    @property
    def sample_rate(self) -> int:
        return SAMPLE_RATE

    @property
    def has_codec(self) -> bool:
        return self.codec is not None

    @property
    def max_text_bytes(self) -> int:
        return self.config.encoder.text_length

    @property
    def info(self) -> ModelInfo:
        """What the faces may know about the loaded model (see `dia_engine.info`); `describe` gives the same
        from the config alone."""
        return dia_info(self.config, self.model_id)

    # ------------------------------------------------------------------------------------------ voices
    def encode_voice(self, audio: str | Path | np.ndarray, transcript: str,
                     sample_rate: int | None = None) -> VoicePrompt:
        """Encode a reference clip into a voice prompt (codes cached by audio content)."""
        if self.codec is None:
            raise DiaEngineError("no codec loaded: voice clips cannot be encoded (give VoicePrompt codes instead)")
        if not transcript or not transcript.strip():
            raise ValueError("a voice clip needs its transcript: Dia conditions on the spoken text of the clip")
        clip = read_clip(audio, sample_rate)
        key = hashlib.sha256(clip.tobytes()).hexdigest()
        codes = self._voice_cache.get(key)
        if codes is None:
            with self._lock:
                codes = self.codec.encode(clip)
            self._voice_cache[key] = codes
            while len(self._voice_cache) > VOICE_CACHE_SIZE:
                self._voice_cache.popitem(last=False)
        self._voice_cache.move_to_end(key)
        return VoicePrompt(transcript=transcript.strip(), codes=codes.copy())

    def decode(self, codes: np.ndarray) -> np.ndarray:
        if self.codec is None:
            raise DiaEngineError("no codec loaded: codes cannot be turned into audio")
        with self._lock:
            return self.codec.decode(np.asarray(codes, dtype=np.int64))

    # -------------------------------------------------------------------------------------- generation
    def resolve_requests(self, requests: Sequence[GenerationRequest]) -> list[GenerationRequest]:
        """The requests with their sampling filled from the model's defaults (parameters it lacks refused)."""
        return self.info.resolve_requests(requests)

    def validate(self, requests: Sequence[GenerationRequest]) -> list[int]:
        """Check every request before any work; returns each request's decoder-step budget."""
        budgets = []
        audio_len, d = self.config.decoder.audio_length, self.config.max_delay
        for i, req in enumerate(self.resolve_requests(requests)):
            if not req.text.strip():
                raise ValueError(f"request {i}: the text is empty")
            if req.sampling.initial_padding is not None:
                raise ValueError(f"request {i}: Dia 1.6B has no initial_padding (a Dia2 parameter)")
            if req.voice is not None and req.voice.clips:
                raise ValueError(f"request {i}: this voice prompt holds Dia2 (Mimi) clips; Dia 1.6B needs DAC codes")
            n = text_byte_length(req.model_text())
            if n > self.max_text_bytes:
                raise ValueError(
                    f"request {i}: the text is {n} bytes long but the model reads at most {self.max_text_bytes} "
                    "(split the line)"
                )
            prompt = req.voice.num_frames if req.voice else 0
            budget = req.sampling.max_tokens or estimate_max_tokens(req, self.config)
            if budget > audio_len:
                raise ValueError(f"request {i}: max_tokens {budget} exceeds the model's audio length {audio_len}")
            if prompt + 1 + d >= audio_len:
                raise ValueError(f"request {i}: the voice prompt ({prompt} frames) leaves no room to generate")
            if budget < prompt + d + 2:  # BOS + prompt + the end-of-speech countdown + one frame of speech
                raise ValueError(
                    f"request {i}: max_tokens {budget} leaves no room to speak after the voice prompt "
                    f"({prompt} frames); use at least {prompt + d + 2}"
                )
            budgets.append(budget)
        return budgets

    def generate(self, requests: Sequence[GenerationRequest], *, on_progress: ProgressFn | None = None,
                 on_result: Callable[[int, GenerationResult], None] | None = None,
                 should_stop: StopFn | None = None, on_chunk: ChunkFn | None = None,
                 chunk_seconds: float = DEFAULT_CHUNK_SECONDS,
                 should_cancel: CancelFn | None = None) -> list[GenerationResult | None]:
        """Generate every request; results in request order, None for those cut short by `should_stop`.

        Streaming: `on_chunk(index, samples, start_sample)` receives each line's audio while it generates, in
        chunks of at most `chunk_seconds`, each as soon as its frames are final; a line's chunks, concatenated,
        are its result's audio (within 1e-4). `should_cancel(index)` true drops that line at once (result
        None, no more chunks) while the others go on.
        """
        requests = self.resolve_requests(requests)
        budgets = self.validate(requests)
        chunker = self._chunker(on_chunk, chunk_seconds) if on_chunk is not None else None
        on_frames = chunker.push if chunker is not None else None
        seeds = [draw_seed() if r.seed is None else int(r.seed) for r in requests]
        results: list[GenerationResult | None] = [None] * len(requests)

        def finished(index: int, codes: np.ndarray, seed: int) -> None:
            audio = self.codec.decode(codes) if self.codec is not None else None
            result = GenerationResult(codes=codes, audio=audio, sample_rate=SAMPLE_RATE, seed=seed)
            results[index] = result
            if on_result is not None:
                on_result(index, result)

        with self._lock, torch.inference_mode():
            shrink = self._slots_may_vary()
            slots = min(self.batch_slots, len(requests)) if shrink else self.batch_slots
            while True:
                pending = [i for i, r in enumerate(results) if r is None]
                if not pending:
                    break
                loop = GenerationLoop(self.model, self.config, self._device, slots, compile=self.compile,
                                      per_slot_attention=self.per_slot_attention, shrink_slots=shrink)
                try:
                    loop.run(requests, seeds, budgets, finished, on_progress, should_stop, pending,
                             on_frames=on_frames, should_cancel=should_cancel)
                    break
                except torch.OutOfMemoryError:
                    del loop
                    if chunker is not None:
                        chunker.replay()  # unfinished lines start over; their streamed frames are not sent twice
                    self._free_memory()
                    if slots == 1:
                        raise GenerationOutOfMemory(
                            f"out of {self.device} memory even for one line at a time; shorten the line, "
                            "lower max_tokens or use a smaller dtype"
                        ) from None
                    slots //= 2
                    log.warning("out of memory: retrying unfinished lines with %d batch slots", slots)
            self._free_memory()
        return results

    def _chunker(self, on_chunk: ChunkFn, chunk_seconds: float) -> AudioChunker:
        """Decodes streamed frames with the DAC's full receptive field around each chunk (see streaming)."""
        if self.codec is None:
            raise DiaEngineError("no codec loaded: audio cannot be streamed (load the engine with a codec)")
        left, right = self.codec.context_frames
        return AudioChunker.for_seconds(self.codec.decode_window, sample_rate=SAMPLE_RATE, samples_per_frame=HOP_LENGTH,
                                        left_context=left, right_context=right, on_chunk=on_chunk,
                                        chunk_seconds=chunk_seconds)

    def _slots_may_vary(self) -> bool:
        """Whether the number of batch slots may follow the number of lines.

        Normally not: every step computes the fixed `batch_slots`, so that no line's arithmetic depends on
        how many lines run with it. Where attention runs per slot and the linear layers are verified to give
        every row the same bits whatever the row count (ours and oneDNN's on the CPU), it may: one line then
        runs at the speed of batch 1 instead of paying for 8 slots, and the last lines of a batch drop the
        slots of finished ones.
        """
        if not self.per_slot_attention:
            return False
        slots = self.batch_slots
        if slots not in self._rows_independent:
            self._rows_independent[slots] = self.model.decode_rows_independent_of_batch(2 * slots)
            log.info("slot count follows the number of lines: %s", self._rows_independent[slots])
        return self._rows_independent[slots]

    def _free_memory(self) -> None:
        if self._device.type == "cuda":
            torch.cuda.empty_cache()
