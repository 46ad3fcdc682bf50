"""`Dia2Engine`: Dia2 behind the same public surface as `DiaEngine` (what `DiaEngine.from_pretrained` returns
for a Dia2 checkpoint). Faces read the model's facts from `info` and never need the class."""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from ..audio import read_clip
from ..errors import DiaEngineError, GenerationOutOfMemory, ModelLoadError
from ..info import ModelInfo
from ..model import Linear
from ..types import GenerationRequest, GenerationResult, Progress, SamplingParams, VoicePrompt
from .checkpoint import load_model
from .config import FRAMES_PER_SECOND, SAMPLE_RATE, Dia2Config
from .generation import Dia2Loop, LineInput, LineOutput
from .mimi import MimiCodec
from .model import Dia2Model
from .prefix import clip_with_words, plan_prefix
from .script import count_tokens, parse_script
from .tokenizer import Dia2Tokenizer

log = logging.getLogger(__name__)

# The reference library's `Dia2.generate` defaults (its CLI uses cfg 1.0, its Gradio app cfg 6.0).
DIA2_DEFAULT_SAMPLING = SamplingParams(cfg_scale=2.0, temperature=0.8, top_k=50, text_temperature=0.6,
                                       text_top_k=50, cfg_filter_top_k=50)
DIA2_SAMPLING_FIELDS = ("cfg_scale", "temperature", "top_k", "text_temperature", "text_top_k", "cfg_filter_top_k")
DIA2_SPEECH_CHARS_PER_SECOND = 14.0
DEFAULT_SLOTS = {"cuda": 16, "mps": 8, "cpu": 8}
VOICE_CACHE_SIZE = 64
SIZES = {(30, 1024): "1b", (28, 2048): "2b"}  # decoder layers and width of the released checkpoints


def dia2_info(config: Dia2Config, model_id: str, measure_text: Callable[[str], int]) -> ModelInfo:
    """The description of a Dia2 checkpoint with this config (the engine's `info`, and `describe`'s without
    loading weights)."""
    dec = config.decoder
    return ModelInfo(
        family="dia2", variant=SIZES.get((dec.n_layer, dec.n_embd), "custom"), model_id=model_id,
        sample_rate=SAMPLE_RATE, frames_per_second=FRAMES_PER_SECOND, max_frames=config.max_context_steps,
        text_limit=config.max_context_steps, text_unit="tokens", codebooks=config.codebooks,
        word_timestamps=True, default_sampling=DIA2_DEFAULT_SAMPLING, sampling_fields=DIA2_SAMPLING_FIELDS,
        speech_chars_per_second=DIA2_SPEECH_CHARS_PER_SECOND, measure_text=measure_text,
    )


def rows_independent(model: Dia2Model, max_rows: int) -> bool:
    """Whether every linear layer gives each row the same bits for any row count up to `max_rows` (checked on
    random inputs: kernels choose their method from shapes, not values). Only then may the slot count follow
    the number of lines."""
    gen = torch.Generator().manual_seed(0)
    seen = set()
    for module in model.modules():
        if not isinstance(module, Linear) or (module.in_features, module.out_features, module.kernel) in seen:
            continue
        seen.add((module.in_features, module.out_features, module.kernel))
        x = torch.randn(max_rows, 1, module.in_features, generator=gen).to(model.dtype)
        full = module(x)
        if not torch.equal(module(x.roll(1, 0)), full.roll(1, 0)):
            return False
        if any(not torch.equal(module(x[:rows]), full[:rows]) for rows in range(1, max_rows)):
            return False
    return True


class Dia2Engine:
    def __init__(self, model: Dia2Model, config: Dia2Config, tokenizer: Dia2Tokenizer, codec: MimiCodec | None,
                 device: torch.device, model_id: str, batch_slots: int | None = None, compile: bool = False):
        self.model, self.config, self.tokenizer, self.codec = model, config, tokenizer, codec
        self._device = device
        self.model_id = model_id
        self.batch_slots = batch_slots or DEFAULT_SLOTS.get(device.type, 8)
        # compile: the decoder step on static shapes, replayed as a CUDA graph on CUDA (see `static_step`);
        # the slot count then never changes, so no line's arithmetic depends on its company.
        self.compile = compile
        self.per_slot_attention = device.type == "cpu" and not compile
        if self.per_slot_attention:  # repacked weights: faster, and rows' bits independent of the row count
            for module in model.modules():
                if isinstance(module, Linear) and not module.packed:
                    module.pack_for_cpu(rows_hint=2 * self.batch_slots)
        self._independent: dict[int, bool] = {}
        self._voice_cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def load(cls, folder: Path, raw_config: dict, source: str, device: torch.device, dtype: torch.dtype,
             codec: str | Path | None, batch_slots: int | None, compile: bool, cache_dir: str | None) -> "Dia2Engine":
        cfg = Dia2Config.from_dict(raw_config, str(folder / "config.json"))
        if dtype == torch.float16:
            raise ModelLoadError("Dia2 runs in float32 or bfloat16 (float16 overflows, as in the reference)")
        tokenizer = Dia2Tokenizer(folder)
        try:
            model = load_model(folder, cfg, device, dtype)
        except torch.OutOfMemoryError:
            raise ModelLoadError(f"not enough {device.type} memory to load the model in {dtype}") from None
        mimi = MimiCodec.load(codec, cfg.codebooks, device, cache_dir) if codec is not None else None
        return cls(model, cfg, tokenizer, mimi, device, source, batch_slots=batch_slots, compile=compile)

    # ------------------------------------------------------------------------------------------ facts
    @property
    def device(self) -> str:
        return self._device.type

    @property
    def dtype(self) -> str:
        return {torch.float32: "float32", torch.bfloat16: "bfloat16"}[self.model.dtype]

    @property
    def sample_rate(self) -> int:
        return SAMPLE_RATE

    @property
    def has_codec(self) -> bool:
        return self.codec is not None

    @property
    def info(self) -> ModelInfo:
        return dia2_info(self.config, self.model_id, self.measure_text)

    def measure_text(self, text: str) -> int:
        """Text tokens of a script (speaker tags included), the unit of `info.text_limit`."""
        return count_tokens(text, self.tokenizer)

    # ---------------------------------------------------------------------------------------- voices
    def encode_voice(self, audio: str | Path | np.ndarray, transcript: str, sample_rate: int | None = None,
                     words: Sequence[tuple[str, float, float]] | None = None) -> VoicePrompt:
        """A one-clip voice prompt: the clip's Mimi codes (cached by content) and its word timings.

        `words`: (word, start s, end s) from a transcriber; without them approximate timings are derived
        from the clip's energy (see `dia2.prefix`). Join two speakers' prompts with `combine_voices`."""
        if self.codec is None:
            raise DiaEngineError("no codec loaded: voice clips cannot be encoded")
        if not transcript or not transcript.strip():
            raise ValueError("a voice clip needs its transcript: Dia conditions on the spoken text of the clip")
        clip = read_clip(audio, sample_rate, target_rate=SAMPLE_RATE)
        key = hashlib.sha256(clip.tobytes()).hexdigest()
        codes = self._voice_cache.get(key)
        if codes is None:
            with self._lock:
                codes = self.codec.encode(clip)
            self._voice_cache[key] = codes
            while len(self._voice_cache) > VOICE_CACHE_SIZE:
                self._voice_cache.popitem(last=False)
        self._voice_cache.move_to_end(key)
        voice = clip_with_words(transcript, codes.copy(), words, clip, SAMPLE_RATE, self.tokenizer, FRAMES_PER_SECOND)
        return VoicePrompt.from_clips(voice)

    def decode(self, codes: np.ndarray) -> np.ndarray:
        if self.codec is None:
            raise DiaEngineError("no codec loaded: codes cannot be turned into audio")
        with self._lock:
            return self.codec.decode(np.asarray(codes, dtype=np.int64))

    # ------------------------------------------------------------------------------------ validation
    def resolve_requests(self, requests: Sequence[GenerationRequest]) -> list[GenerationRequest]:
        return self.info.resolve_requests(requests)

    def validate(self, requests: Sequence[GenerationRequest]) -> list[int]:
        """Check every request before any work; returns each request's step limit (prefix positions included)."""
        cfg, limits = self.config, []
        context, dmax = cfg.max_context_steps, cfg.max_delay
        for i, req in enumerate(self.resolve_requests(requests)):
            if not req.text.strip():
                raise ValueError(f"request {i}: the text is empty")
            voice = req.voice
            prefix_frames, prefix_tokens = 0, 0
            if voice is not None:
                if voice.codes is not None:
                    raise ValueError(f"request {i}: this voice prompt holds Dia 1.6B (DAC) codes; Dia2 needs Mimi "
                                     "clips (encode the clip with a Dia2 engine)")
                for clip in voice.clips:
                    if clip.codes.shape[1] != cfg.codebooks or clip.codes.max() >= cfg.dep_vocab:
                        raise ValueError(f"request {i}: voice clip codes must be [frames, {cfg.codebooks}] in "
                                         f"[0, {cfg.dep_vocab - 1}], got {list(clip.codes.shape)}")
                    prefix_tokens += count_tokens(clip.transcript, self.tokenizer)
                prefix_frames = voice.num_frames
            tokens = self.measure_text(req.text) + prefix_tokens
            if tokens > context:
                raise ValueError(f"request {i}: the text is {tokens} tokens (voice transcripts included) but the "
                                 f"model's context holds {context} steps (split the line)")
            if prefix_frames and prefix_frames + dmax + 1 > context:
                raise ValueError(f"request {i}: the voice prompt ({prefix_frames} frames) leaves no room to generate "
                                 f"in the model's context of {context} steps (at most {context - dmax - 1})")
            limit = req.sampling.max_tokens or context
            if limit > context:
                raise ValueError(f"request {i}: max_tokens {limit} is past the model's max_context_steps {context}")
            if limit < max(prefix_frames, 1) + dmax + 1:
                raise ValueError(f"request {i}: max_tokens {limit} leaves no room to speak after the voice prompt "
                                 f"({prefix_frames} frames); use at least {max(prefix_frames, 1) + dmax + 1}")
            limits.append(limit)
        return limits

    # ------------------------------------------------------------------------------------ generation
    def generate(self, requests: Sequence[GenerationRequest], *, on_progress: Callable[[Progress], None] | None = None,
                 on_result: Callable[[int, GenerationResult], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> list[GenerationResult | None]:
        """Generate every request; results in request order, None for those cut short by `should_stop`."""
        requests = self.resolve_requests(requests)
        limits = self.validate(requests)
        seeds = [secrets.randbelow(2**31) if r.seed is None else int(r.seed) for r in requests]
        lines = [self._line(i, r, seeds[i], limits[i]) for i, r in enumerate(requests)]
        results: list[GenerationResult | None] = [None] * len(requests)

        def finished(index: int, out: LineOutput) -> None:
            audio = self.codec.decode(out.codes) if self.codec is not None else None
            result = GenerationResult(codes=out.codes, audio=audio, sample_rate=SAMPLE_RATE, seed=seeds[index],
                                      frames_per_second=FRAMES_PER_SECOND, words=out.words)
            results[index] = result
            if on_result is not None:
                on_result(index, result)

        with self._lock, torch.inference_mode():
            slots = self._slots(len(lines))
            while True:
                pending = [lines[i] for i, r in enumerate(results) if r is None]
                if not pending:
                    break
                try:
                    self._loop(slots).run(pending, finished, on_progress, should_stop)
                    break
                except torch.OutOfMemoryError:
                    self._free_memory()
                    if slots == 1:
                        raise GenerationOutOfMemory(f"out of {self.device} memory even for one line at a time; "
                                                    "shorten the line or use bfloat16") from None
                    slots //= 2
                    log.warning("out of memory: retrying unfinished lines with %d batch slots", slots)
            self._free_memory()
        return results

    def _line(self, index: int, req: GenerationRequest, seed: int, limit: int) -> LineInput:
        plan = None
        entries = []
        if req.voice is not None and req.voice.clips:
            plan = plan_prefix(req.voice, self.tokenizer, FRAMES_PER_SECOND)
            entries += plan.entries
        entries += parse_script(req.text, self.tokenizer, FRAMES_PER_SECOND)
        keep = bool(req.voice is not None and req.voice.keep_audio)
        return LineInput(index, seed, entries, plan, keep, req.sampling, limit)

    def _loop(self, slots: int) -> Dia2Loop:
        return Dia2Loop(self.model, self.config, self._device, slots, self.tokenizer.text_bos, self.per_slot_attention,
                        static=self.compile)

    def _slots(self, lines: int) -> int:
        """The slot count: follows the number of lines only where rows are known independent of it."""
        if not self.per_slot_attention:
            return self.batch_slots
        if self.batch_slots not in self._independent:
            self._independent[self.batch_slots] = rows_independent(self.model, 2 * self.batch_slots)
        return min(self.batch_slots, lines) if self._independent[self.batch_slots] else self.batch_slots

    def _free_memory(self) -> None:
        if self._device.type == "cuda":
            torch.cuda.empty_cache()
