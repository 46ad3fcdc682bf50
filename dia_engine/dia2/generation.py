"""The Dia2 generation loop: lines flow through batch slots (2 rows each: conditional, unconditional).

One step for every active slot: a decoder step on all rows, then the action (state machine), codebook 0,
and the depformer stages 0..N-2, each chosen per slot from its own parameters and random stream. A line's
prefix warm-up runs on that line alone when it takes a slot. Codes are written into a per-line buffer in
delayed time: after step t, aligned frame t + 1 - max(delay) has every codebook and is final
(`Job.final_frame`), which is what a streaming hook would hand on.

Batch independence: every operation is row-wise except the decoder's attention, which runs slot by slot over
each slot's own keys on the CPU (`layers.attend`), or over a fixed-length masked cache with a fixed slot count
(CUDA, compile). The linear layers' rows are independent of the row count where the engine has checked it;
otherwise the slot count never changes (see `Dia2Engine._slots`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..types import Progress, SamplingParams
from .config import FRAMES_PER_SECOND, MAX_PADDING, Dia2Config
from .model import Dia2Model
from .prefix import PrefixPlan
from .sampling import SlotParams, choose
from .script import Entry
from .state_machine import StateMachine, WordState
from .static_step import StaticStep

DEFAULT_INITIAL_PADDING = 2


@dataclass
class LineInput:
    """What a request becomes before generation: its entries, prefix plan and resolved parameters."""

    index: int
    seed: int
    entries: list[Entry]
    plan: PrefixPlan | None
    keep_prefix_audio: bool
    sampling: SamplingParams  # every field set
    max_steps: int  # positions (prefix included) the line may reach


@dataclass
class Job:
    line: LineInput
    generator: torch.Generator
    state: WordState
    buffer: np.ndarray  # int64 [L, N] codes in delayed time
    start_step: int
    step: int  # the next step to run
    cache_len: int = 0
    main: int = 0
    second: int = 0
    end_cutoff: int | None = None
    last_step: int = -1
    first_word_frame: int | None = None
    total: int = 0
    initial_padding: int = DEFAULT_INITIAL_PADDING

    def final_frame(self, max_delay: int) -> int:
        """The aligned frame that the last step completed (-1 before any is complete)."""
        return self.last_step + 1 - max_delay


@dataclass
class LineOutput:
    codes: np.ndarray  # int64 [T, N] aligned and cropped
    words: tuple[tuple[str, float], ...]


class Dia2Loop:
    def __init__(self, model: Dia2Model, cfg: Dia2Config, device: torch.device, slots: int, text_bos: int,
                 per_slot_attention: bool, static: bool = False):
        """`static`: the decoder step on static buffers, a CUDA graph on CUDA (`static_step`), else eager."""
        self.model, self.cfg, self.device, self.slots = model, cfg, device, slots
        self.text_bos = text_bos
        self.per_slot_attention = per_slot_attention and not static
        self.machine = StateMachine(cfg.text_new_word_id, cfg.text_pad_id, cfg.second_stream_ahead)
        self.cache_len = cfg.max_context_steps + 1  # with a prefix, position P - 1 is run twice
        self.step_fn = (StaticStep(model, 2 * slots, self.cache_len, device, use_graph=True) if static
                        else model.decoder_step)
        self.delays = np.array(cfg.delays)

    # ------------------------------------------------------------------------------------------ the loop
    def run(self, lines: list[LineInput], on_done: Callable[[int, LineOutput], None],
            on_progress: Callable[[Progress], None] | None, should_stop: Callable[[], bool] | None) -> None:
        cfg, dev = self.cfg, self.device
        rows = 2 * self.slots
        cache = self.model.new_cache(rows, self.cache_len, dev)
        dep_cache = self.model.depformer.new_cache(rows, dev, self.model.dtype)
        queue, jobs = deque(lines), [None] * self.slots
        while True:
            if should_stop is not None and should_stop():  # before a warm-up as well as before a step
                return
            for s in range(self.slots):
                if jobs[s] is None and queue:
                    jobs[s] = self._start(queue.popleft(), [(k[2 * s:2 * s + 2], v[2 * s:2 * s + 2]) for k, v in cache])
                    if self._done(jobs[s]):  # nothing to generate (cannot happen after validation)
                        on_done(jobs[s].line.index, self._extract(jobs[s]))
                        jobs[s] = None
            active = [s for s, job in enumerate(jobs) if job is not None]
            if not active:
                return
            self._step(jobs, cache, dep_cache)
            for s in active:
                job = jobs[s]
                done = self._done(job)
                if on_progress is not None:
                    steps = job.last_step + 1 - job.start_step
                    total = max(job.total, steps)
                    on_progress(Progress(job.line.index, steps, steps if done else total, finished=done))
                if done:
                    jobs[s] = None
                    on_done(job.line.index, self._extract(job))

    def _done(self, job: Job) -> bool:
        t = job.step
        return ((job.end_cutoff is not None and t >= job.end_cutoff) or t + 1 >= len(job.buffer)
                or t >= min(job.line.max_steps, self.cfg.max_context_steps))

    # ------------------------------------------------------------------------------------ one line's start
    def _start(self, line: LineInput, slot_cache) -> Job:
        cfg = self.cfg
        plan = line.plan
        prefix = plan.frames if plan is not None else 0
        length = max(cfg.max_context_steps + 1, prefix + cfg.max_delay) + 1
        buffer = np.full((length, cfg.codebooks), cfg.audio_pad_id, dtype=np.int64)
        if plan is not None:
            for c, d in enumerate(cfg.delays):
                buffer[d:d + prefix, c] = plan.codes[:, c]
        padding = line.sampling.initial_padding
        padding = DEFAULT_INITIAL_PADDING if padding is None else padding
        state = WordState.start(line.entries, padding)
        job = Job(line, torch.Generator().manual_seed(line.seed), state, buffer, start_step=0, step=0,
                  main=self.text_bos, second=cfg.text_pad_id, initial_padding=padding)
        if plan is not None:
            self._warm_up(job, plan, slot_cache)
        tail = cfg.max_delay + MAX_PADDING + 1
        budget = sum(max(e.padding, MAX_PADDING) + 1 for e in state.entries) + state.forced_padding + tail
        job.total = max(1, min(budget, min(line.max_steps, cfg.max_context_steps) - job.start_step))
        return job

    def _warm_up(self, job: Job, plan: PrefixPlan, slot_cache) -> None:
        """Steps 0..P-1 on this line alone: decoder only, prefix audio in, the state machine forced."""
        cfg, dev = self.cfg, self.device
        for t in range(plan.frames):
            tokens = torch.from_numpy(self._inputs(job, t)).to(dev)
            index = torch.full((2,), t, dtype=torch.long, device=dev)
            self.model.decoder_step(tokens, index, index, slot_cache, key_lengths=[t + 1])
            forced = cfg.text_new_word_id if t in plan.new_word_steps else cfg.text_pad_id
            job.main, job.second, _ = self.machine.step(t, job.state, forced, forced=True)
        job.cache_len = plan.frames
        job.start_step = job.step = plan.frames - 1  # generation runs position P - 1 a second time

    def _inputs(self, job: Job, t: int) -> np.ndarray:
        """The two rows' step inputs [2, 2 + N]: text (conditional; zero/pad unconditional), then audio."""
        cfg = self.cfg
        audio = np.where(self.delays > t, cfg.audio_bos_id, job.buffer[t])
        return np.stack([np.concatenate([[job.main, job.second], audio]),
                         np.concatenate([[cfg.text_zero_id, cfg.text_pad_id], audio])]).astype(np.int64)

    # ---------------------------------------------------------------------------------------- one step
    def _step(self, jobs: list[Job | None], cache, dep_cache) -> None:
        cfg, dev, n = self.cfg, self.device, len(jobs)
        tokens = np.zeros((2 * n, cfg.channels), dtype=np.int64)
        tokens[:, :2] = [cfg.text_zero_id, cfg.text_pad_id]
        tokens[:, 2:] = cfg.audio_bos_id
        positions = np.zeros(2 * n, dtype=np.int64)
        write = np.zeros(2 * n, dtype=np.int64)
        key_lengths = [0] * n
        uniforms = np.zeros((n, 1 + cfg.codebooks))
        draw = False
        for s, job in enumerate(jobs):
            if job is None:
                continue
            tokens[2 * s:2 * s + 2] = self._inputs(job, job.step)
            positions[2 * s:2 * s + 2] = job.step
            write[2 * s:2 * s + 2] = job.cache_len
            key_lengths[s] = job.cache_len + 1
            sp = job.line.sampling
            if sp.temperature > 0 or sp.text_temperature > 0:
                uniforms[s] = torch.rand(1 + cfg.codebooks, generator=job.generator, dtype=torch.float64).numpy()
                draw = True
        mask = None
        if not self.per_slot_attention:
            lengths = np.repeat(np.maximum(key_lengths, 1), 2)
            mask = torch.from_numpy(np.arange(self.cache_len)[None, :] < lengths[:, None]).to(dev).view(2 * n, 1, 1, -1)
        out = self.step_fn(torch.from_numpy(tokens).to(dev), torch.from_numpy(positions).to(dev),
                           torch.from_numpy(write).to(dev), cache, key_lengths if self.per_slot_attention else None, mask)
        u = torch.from_numpy(uniforms) if draw else None
        text_p, audio_p = self._params(jobs)
        actions = choose(out.action[0::2], out.action[1::2], text_p, None if u is None else u[:, 0]).tolist()
        main = np.full(n, cfg.text_zero_id, dtype=np.int64)
        second = np.full(n, cfg.text_pad_id, dtype=np.int64)
        for s, job in enumerate(jobs):
            if job is None:
                continue
            t = job.step
            job.main, job.second, _ = self.machine.step(t, job.state, actions[s])
            if cfg.second_stream_ahead == 0 and job.first_word_frame is None and job.main == cfg.text_new_word_id:
                job.first_word_frame = t - job.initial_padding  # (the crop rule without a look-ahead stream)
            main[s], second[s] = job.main, job.second
        masked = (cfg.audio_pad_id, cfg.audio_bos_id)
        code = choose(out.cb0[0::2], out.cb0[1::2], audio_p, None if u is None else u[:, 1], masked)
        codes = [code]
        main_t = torch.from_numpy(np.repeat(main, 2)).to(dev)
        second_t = torch.from_numpy(np.repeat(second, 2)).to(dev)
        for stage in range(self.model.depformer.stages):
            logits = self.model.depformer.stage(stage, out.hidden, code.to(dev).repeat_interleave(2), dep_cache,
                                                main_t, second_t)
            code = choose(logits[0::2], logits[1::2], audio_p, None if u is None else u[:, 2 + stage])
            codes.append(code)
        frame = torch.stack(codes, dim=1).cpu().numpy()
        for s, job in enumerate(jobs):
            if job is None:
                continue
            t = job.step
            job.buffer[t + 1] = frame[s]  # aligned frame job.final_frame() is now complete (a streaming hook's cue)
            job.last_step, job.step = t, t + 1
            job.cache_len += 1
            if job.end_cutoff is None and job.state.end_step is not None:
                job.end_cutoff = job.state.end_step + cfg.max_delay + MAX_PADDING

    def _params(self, jobs: list[Job | None]) -> tuple[SlotParams, SlotParams]:
        rows = []
        for job in jobs:
            sp = job.line.sampling if job is not None else None
            rows.append((1.0, 1, 0.0, 1, 0.0, 1) if sp is None else
                        (sp.cfg_scale, sp.cfg_filter_top_k, sp.text_temperature, sp.text_top_k, sp.temperature, sp.top_k))
        a = np.array(rows, dtype=np.float64)
        dev = self.device

        def params(temperature: int, top_k: int) -> SlotParams:
            return SlotParams(torch.tensor(a[:, 0], dtype=torch.float32, device=dev),
                              torch.tensor(a[:, 1], dtype=torch.long, device=dev),
                              torch.tensor(a[:, temperature], dtype=torch.float32, device=dev),
                              torch.tensor(a[:, top_k], dtype=torch.long, device=dev))

        return params(2, 3), params(4, 5)

    # ------------------------------------------------------------------------------------------ results
    def _extract(self, job: Job) -> LineOutput:
        cfg = self.cfg
        if job.last_step < job.start_step:
            limit = min(job.start_step + 1, len(job.buffer))
        else:
            limit = min(job.last_step + 2, len(job.buffer))
        frames = max(0, limit - cfg.max_delay)
        aligned = np.stack([job.buffer[d:d + frames, c] for c, d in enumerate(cfg.delays)], axis=1)
        keep = job.line.keep_prefix_audio and job.line.plan is not None
        first = job.first_word_frame if job.first_word_frame is not None else job.start_step
        crop = 0 if keep else max(first, 0)
        if crop >= frames:
            crop = 0
        transcript = job.state.transcript
        if job.line.plan is not None and not keep:
            transcript = transcript[len(job.line.plan.entries):]
        words = tuple((word, (step - crop) / FRAMES_PER_SECOND) for word, step in transcript if step - crop >= 0)
        return LineOutput(np.ascontiguousarray(aligned[crop:]), words)
