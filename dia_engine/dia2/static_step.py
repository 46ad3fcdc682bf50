"""The decoder step on static buffers, captured once as a CUDA graph and replayed (the `compile` flag).

Every input lives in a buffer of fixed shape (a fixed slot count, the whole cache length under a mask), so one
capture serves every step. The reference captures inside its first step and uses that step's outputs, but a
capture records kernels without running them, so its first graph step reads uninitialised memory. Here the
step is run once eagerly on a side stream (warming cuBLAS and the allocator), then captured, then replayed:
every step, the first included, is computed by a replay, and the codes equal the eager path's. On the CPU the
same static path runs without a capture (what the CPU test exercises).
"""

from __future__ import annotations

import torch

from .model import Dia2Model, StepOutput


class StaticStep:
    def __init__(self, model: Dia2Model, rows: int, cache_len: int, device: torch.device, use_graph: bool):
        cfg = model.config
        self.model, self.use_graph = model, use_graph and device.type == "cuda"
        self.tokens = torch.zeros(rows, cfg.channels, dtype=torch.long, device=device)
        self.positions = torch.zeros(rows, dtype=torch.long, device=device)
        self.write = torch.zeros(rows, dtype=torch.long, device=device)
        self.mask = torch.zeros(rows, 1, 1, cache_len, dtype=torch.bool, device=device)
        self.graph: torch.cuda.CUDAGraph | None = None
        self.out: StepOutput | None = None
        self.cache = None

    def __call__(self, tokens, positions, write, cache, key_lengths, mask) -> StepOutput:
        if key_lengths is not None:
            raise ValueError("the static step attends under a mask, not slot by slot")
        self.tokens.copy_(tokens)
        self.positions.copy_(positions)
        self.write.copy_(write)
        self.mask.copy_(mask)
        if not self.use_graph:
            return self._run(cache)
        if self.graph is None or self.cache is not cache:
            self._capture(cache)
        self.graph.replay()
        out = self.out  # the graph's output buffers are overwritten by the next replay
        return StepOutput(out.hidden.clone(), out.action.clone(), out.cb0.clone())

    def _run(self, cache) -> StepOutput:
        return self.model.decoder_step(self.tokens, self.positions, self.write, cache, None, self.mask)

    def _capture(self, cache) -> None:
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            self._run(cache)  # writes the same keys and values the replay writes: harmless
        torch.cuda.current_stream().wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            self.out = self._run(cache)
        self.cache = cache
