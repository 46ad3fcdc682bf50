"""The generation loop: requests flow through a fixed number of batch slots, joining and leaving as they finish.

Batch independence: a line must come out the same alone or in any company, because the app promises that
a pinned seed reproduces a take. Three things make that hold:
- every decoder step computes all slots (empty ones included), so matrix shapes never change;
- attention key lengths are rounded to fixed buckets (kv_cache.KEY_BUCKET) and padded keys are masked;
- each request has its own random stream, and the encoder and prefill of a line run on that line alone.
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .config import DiaConfig
from .decoding import decode_step, encode_text_pair, fill_cross_cache, prefill_slot
from .delay import delayed_prefill, revert_delay
from .kv_cache import KVCache, bucket
from .model import DiaModel
from .sampling import select_tokens, select_tokens_v01
from .text import encode_text
from .types import FRAMES_PER_SECOND, GenerationRequest, Progress

ProgressFn = Callable[[Progress], None]
StopFn = Callable[[], bool]
FramesFn = Callable[[dict[int, tuple[np.ndarray, bool]]], None]  # {index: (newly final frames [n, C], finished)}
CancelFn = Callable[[int], bool]  # is line `index` no longer wanted?

SPEECH_CHARS_PER_SECOND = 10.0  # deliberately slow, so the length budget has headroom
MIN_BUDGET_SECONDS = 3.0


def draw_seed() -> int:
    return secrets.randbelow(2**31)


def estimate_max_tokens(req: GenerationRequest, cfg: DiaConfig) -> int:
    """A generous decoder-step budget for a request whose `max_tokens` is None.

    v0.1 keeps its reference's meaning instead: the whole (rounded) audio length, ended by the model's EOS."""
    if cfg.variant == "v0.1":
        return cfg.decoder.audio_length
    text = req.text
    for tag in ("[S1]", "[S2]"):
        text = text.replace(tag, "")
    seconds = max(MIN_BUDGET_SECONDS, 1.5 * len(text.strip()) / SPEECH_CHARS_PER_SECOND)
    prompt = req.voice.num_frames if req.voice else 0
    return min(cfg.decoder.audio_length, prompt + 1 + cfg.max_delay + int(seconds * FRAMES_PER_SECOND))


@dataclass
class _Job:
    """One request's state while it occupies a slot."""

    index: int
    seed: int
    generator: torch.Generator
    tokens: np.ndarray  # [max_tokens + D + 1, C] decoder positions, -1 = not yet known
    prefill_steps: int
    step: int
    max_tokens: int
    params: tuple[float, float, float, int]  # cfg_scale, temperature, top_p, top_k
    text_len: int  # encoder positions (cross-attention keys)
    countdown: int = -1
    finished_step: int = -1
    streamed: int = 0  # frames already handed to `on_frames`

    @property
    def done(self) -> bool:
        return self.countdown == 0 or self.step >= self.max_tokens


_compiled_steps: dict[str, Callable] = {}


def compiled_decode_step(device: torch.device) -> Callable:
    """`decode_step` through torch.compile; on CUDA with CUDA graphs ("reduce-overhead").

    Shapes are static per attention bucket, so it compiles once per bucket in use.
    """
    if device.type not in _compiled_steps:
        mode = "reduce-overhead" if device.type == "cuda" else "default"
        _compiled_steps[device.type] = torch.compile(decode_step, mode=mode, dynamic=False)
    return _compiled_steps[device.type]


class GenerationLoop:
    def __init__(self, model: DiaModel, cfg: DiaConfig, device: torch.device, slots: int, compile: bool = False,
                 per_slot_attention: bool = False, shrink_slots: bool = False):
        """`shrink_slots`: once no line is waiting, drop the slots of finished lines (only where a row's
        arithmetic is known not to depend on the slot count: see DiaEngine._slots_may_vary)."""
        self.model, self.cfg, self.device, self.slots = model, cfg, device, slots
        self.delays = cfg.delay_pattern
        self.max_delay = cfg.max_delay
        self.step_fn = compiled_decode_step(device) if compile else decode_step
        self.per_slot_attention = per_slot_attention
        self.shrink_slots = shrink_slots and per_slot_attention

    def run(
        self,
        requests: list[GenerationRequest],
        seeds: list[int],
        budgets: list[int],
        on_codes: Callable[[int, np.ndarray, int], None],
        on_progress: ProgressFn | None,
        should_stop: StopFn | None,
        pending: list[int],
        on_frames: FramesFn | None = None,
        should_cancel: CancelFn | None = None,
    ) -> None:
        """Generate `pending` request indices; `on_codes(index, codes, seed)` fires as each one finishes.

        `on_frames({index: (frames, finished)})` receives, once per step, the frames of each line that have just
        become final (streaming), before the `on_codes` of lines that finished in that step;
        a line for which `should_cancel(index)` turns true leaves its slot at once, with no further calls.
        """
        cfg = self.cfg
        texts = {i: encode_text(requests[i].model_text()) for i in pending}
        self_cap = bucket(max(budgets[i] for i in pending), cfg.decoder.audio_length)
        cross_cap = bucket(max(len(texts[i]) for i in pending), cfg.encoder.text_length)
        dtype = self.model.per_slot_cache_dtype if self.per_slot_attention else self.model.compute_dtype
        cache = KVCache(cfg, 2 * self.slots, self_cap, cross_cap, self.device, dtype, per_slot=self.per_slot_attention)
        queue = deque(pending)
        jobs: list[_Job | None] = [None] * self.slots
        bos = cfg.bos_token_id
        while True:
            for s in range(len(jobs)):
                if jobs[s] is None and queue:
                    i = queue.popleft()
                    jobs[s] = self._start(cache, s, i, requests[i], texts[i], seeds[i], budgets[i])
            active = [s for s in range(len(jobs)) if jobs[s] is not None]
            if not active:
                return
            if should_stop is not None and should_stop():
                return
            if should_cancel is not None:
                for s in active:
                    if should_cancel(jobs[s].index):
                        jobs[s] = None
                active = [s for s in active if jobs[s] is not None]
                if not active:
                    continue  # queued lines take the freed slots
            if self.shrink_slots and not queue and len(active) < len(jobs):
                # The last lines of a batch then run at the cost of their own number, not of the batch.
                cache.keep_slots(active)
                jobs = [jobs[s] for s in active]
                active = list(range(len(jobs)))
            slots = len(jobs)
            tokens = np.full((slots, cfg.decoder.num_channels), bos, dtype=np.int64)
            positions = np.zeros(slots, dtype=np.int64)
            params = np.zeros((slots, 4))
            params[:, 3] = 1
            uniforms = np.zeros((slots, cfg.decoder.num_channels))
            for s in active:
                job = jobs[s]
                tokens[s] = job.tokens[job.step]
                positions[s] = job.step
                params[s] = job.params
                if job.params[1] > 0:
                    uniforms[s] = torch.rand(cfg.decoder.num_channels, generator=job.generator,
                                             dtype=torch.float64).numpy()
            self_len = bucket(int(positions.max()) + 1, cache.self_len)
            slot_keys = None
            if self.per_slot_attention:
                slot_keys = [(job.step + 1, job.text_len) if job else (0, 0) for job in jobs]
            logits = self.step_fn(self.model, cache, torch.from_numpy(tokens).to(self.device),
                                 torch.from_numpy(positions).to(self.device), self_len, cache.cross_len, slot_keys)
            if self.device.type == "cuda":
                logits = logits.clone()  # CUDA-graph outputs are overwritten by the next replay
            p = torch.from_numpy(params).to(self.device)
            args = (logits[:, 1], logits[:, 0], p[:, 0].float(), p[:, 1].float(), p[:, 2].float(), p[:, 3].long(),
                    torch.from_numpy(uniforms), cfg.eos_token_id)
            if cfg.variant == "v0.1":
                pred = select_tokens_v01(*args).cpu().numpy()
            else:
                pred = select_tokens(*args, cfg.pad_token_id).cpu().numpy()
            final: dict[int, tuple[np.ndarray, bool]] = {}
            done: list[_Job] = []
            for s in active:
                job = jobs[s]
                self._advance(job, pred[s])
                if on_progress is not None:
                    on_progress(self._progress(job))
                if on_frames is not None:
                    self._collect_final(job, final)
                if job.done:
                    jobs[s] = None
                    done.append(job)
            if final:
                on_frames(final)
            for job in done:
                on_codes(job.index, self._extract(job), job.seed)

    def _start(self, cache, slot, index, req, text, seed, budget) -> _Job:
        cfg = self.cfg
        enc = encode_text_pair(self.model, torch.from_numpy(text).to(self.device))
        fill_cross_cache(self.model, cache, slot, enc)
        prompt = None if req.voice is None or req.voice.codes is None or not len(req.voice.codes) else req.voice.codes
        head = delayed_prefill(prompt, self.delays, cfg.bos_token_id)
        tokens = np.full((budget + self.max_delay + 1, len(self.delays)), -1, dtype=np.int64)
        tokens[: len(head)] = head[: len(tokens)]
        prefill_steps = (0 if prompt is None else len(prompt)) + 1
        step = prefill_steps - 1
        if step > 0:
            prefill_slot(self.model, cache, slot, torch.from_numpy(tokens[:step]).to(self.device), len(text))
        generator = torch.Generator().manual_seed(seed)
        sp = req.sampling
        return _Job(index, seed, generator, tokens, prefill_steps, step, budget,
                    (sp.cfg_scale, sp.temperature, sp.top_p, sp.cfg_filter_top_k), len(text))

    def _advance(self, job: _Job, pred: np.ndarray) -> None:
        """Reference end-of-speech rules, then write the prediction at the next position."""
        eos, pad, d_max = self.cfg.eos_token_id, self.cfg.pad_token_id, self.max_delay
        s = job.step + 1
        pred = pred.copy()
        if job.countdown == -1 and (pred[0] == eos or s >= job.max_tokens - d_max):
            job.countdown, job.finished_step = d_max, s
        if job.countdown > 0:
            k = d_max - job.countdown
            for c, d in enumerate(self.delays):
                if k == d:
                    pred[c] = eos
                elif k > d:
                    pred[c] = pad
            job.countdown -= 1
        row = job.tokens[s]
        unknown = row == -1  # teacher forcing: prompt and BOS positions keep their values
        row[unknown] = pred[unknown]
        job.step = s

    def _progress(self, job: _Job) -> Progress:
        done_steps = job.step - (job.prefill_steps - 1)
        if job.finished_step >= 0:
            total = job.finished_step + self.max_delay - job.prefill_steps
        else:
            total = job.max_tokens - job.prefill_steps
        return Progress(job.index, min(done_steps, max(total, 0)), max(total, 0), finished=job.done)

    def _collect_final(self, job: _Job, out: dict[int, tuple[np.ndarray, bool]]) -> None:
        """Add to `out` the job's frames that just became final: every channel is past its delay, and the
        frame lies before the end of speech (when that has been seen)."""
        if job.done:
            final = len(self._extract(job))
        else:
            final = job.step - job.prefill_steps - self.max_delay + 1
            if job.finished_step >= 0:
                final = min(final, job.finished_step - job.prefill_steps)
        new = max(final - job.streamed, 0)
        if new or job.done:
            frames = revert_delay(job.tokens, job.prefill_steps + job.streamed, new, self.delays, self.cfg.eos_token_id)
            job.streamed += new
            out[job.index] = (frames, job.done)

    def _extract(self, job: _Job) -> np.ndarray:
        finished = job.finished_step if job.finished_step >= 0 else job.step + 1 - self.max_delay
        length = max(finished - job.prefill_steps, 0)
        return revert_delay(job.tokens, job.prefill_steps, length, self.delays, self.cfg.eos_token_id)
