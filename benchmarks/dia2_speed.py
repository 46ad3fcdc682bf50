"""Dia2 engine speed on random weights of the official architecture (`engine_speed.py --family dia2`).

    python benchmarks/engine_speed.py --family dia2 --size 1b --dtype float32 --steps 4

Per batch size (1/4/8 lines): ms per generation step (decoder + 31 depformer stages + sampling), steps/s
against real time (12.5 steps/s), lines/s against batch 1, and the roofline: the larger of the
weight-streaming floor (bytes the step reads / the bandwidth of a large sum) and the compute floor (the step's
matrix FLOPs / the rate of a large matmul), both measured in the same run. The depformer re-reads its shared
MLP and norms at every stage, which the floor counts. Sizes beyond what the reference documents (the 1B's MLP
width, the depformer's MLP width, one depformer weight group per stage) are our assumptions.
The text comes from the dia2-tiny tokenizer (ids below the real vocabulary): the speed does not depend on it.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path

import torch

from dia_engine import GenerationRequest, SamplingParams
from dia_engine.dia2.checkpoint import empty_model, finish
from dia_engine.dia2.config import Dia2Config
from dia_engine.dia2.engine import Dia2Engine
from dia_engine.dia2.tokenizer import Dia2Tokenizer
from dia_engine.model import Linear

TOKENIZER = Path(__file__).resolve().parents[1] / "tests" / "data" / "dia2-tiny"
TEXT = "[S1] Welcome back to the show. Today we talk about small models. [S2] Sounds good! (laughs)"
STACKS = {
    "2b": ({"n_layer": 28, "n_embd": 2048, "n_hidden": 6144, "gqa_query_heads": 16, "kv_heads": 8, "gqa_head_dim": 128},
           {"n_layer": 4, "n_embd": 1024, "n_hidden": 3072, "gqa_query_heads": 8, "kv_heads": 8, "gqa_head_dim": 128}),
    "1b": ({"n_layer": 30, "n_embd": 1024, "n_hidden": 4096, "gqa_query_heads": 8, "kv_heads": 4, "gqa_head_dim": 128},
           {"n_layer": 3, "n_embd": 1024, "n_hidden": 3072, "gqa_query_heads": 8, "kv_heads": 8, "gqa_head_dim": 128}),
}


def official_config(size: str) -> Dia2Config:
    decoder, depformer = STACKS[size]
    return Dia2Config.from_dict({
        "data": {"channels": 34, "text_vocab_size": 49280, "audio_vocab_size": 2050, "action_vocab_size": 2,
                 "text_pad_token_id": 3, "text_new_word_token_id": 2, "text_zero_token_id": 7,
                 "audio_pad_token_id": 2049, "audio_bos_token_id": 2048, "delay_pattern": [16] + [18] * 31,
                 "second_stream_ahead": 2},
        "model": {"decoder": decoder, "depformer": {**depformer, "apply_rope": True, "text_embedding": True},
                  "rope_min_timescale": 1, "rope_max_timescale": 10000, "normalization_layer_epsilon": 1e-6},
        "runtime": {"weights_schedule": list(range(31)), "max_context_steps": 1500},
    })


def random_engine(size: str, device: torch.device, dtype: torch.dtype, slots: int) -> Dia2Engine:
    cfg = official_config(size)
    model = empty_model(cfg).to_empty(device=device)
    gen = torch.Generator(device=device).manual_seed(0)
    for name, p in model.named_parameters():
        with torch.no_grad():
            if name.endswith("norm.weight"):
                p.data = torch.ones(p.shape, dtype=dtype, device=device)
            else:
                p.data = (torch.randn(p.shape, generator=gen, device=device) * 0.02).to(dtype)
    finish(model, device)
    return Dia2Engine(model, cfg, Dia2Tokenizer(TOKENIZER), None, device, f"random-dia2-{size}", batch_slots=slots)


def step_cost(engine: Dia2Engine, rows: int) -> tuple[int, int]:
    """(bytes of weights one step reads, matrix FLOPs of one step) for `rows` rows (2 per line)."""
    model, cfg = engine.model, engine.config
    size = next(model.parameters()).element_size()

    def linear_elems(module) -> int:
        return sum(m.in_features * m.out_features for m in module.modules() if isinstance(m, Linear))

    dec = model.transformer
    per_step = linear_elems(dec) - linear_elems(dec.text_embed)  # embeddings are gathered, not streamed
    dep = model.depformer
    shared = sum(linear_elems(layer.mlp) for layer in dep.layers)
    per_stage_group = (dep.depformer_in["0"].in_features * dep.depformer_in["0"].out_features
                       + sum(linear_elems(layer.self_attention.in_proj["0"]) + linear_elems(layer.self_attention.out_proj["0"])
                             for layer in dep.layers) + dep.logits[0].in_features * dep.logits[0].out_features)
    stages = dep.stages
    read = per_step + stages * per_stage_group + stages * shared  # shared MLPs re-read at every stage
    flops = 2 * rows * read
    del cfg
    return read * size, flops


def bandwidth(device) -> float:
    x = torch.ones(256 * 1024 * 1024, dtype=torch.float32, device=device)
    times = []
    for _ in range(4):
        t = time.perf_counter()
        x.sum()
        times.append(time.perf_counter() - t)
    return x.numel() * 4 / sorted(times)[1]


def gemm_rate(device, dtype) -> float:
    a = torch.randn(1024, 1024, device=device).to(dtype)
    b = torch.randn(1024, 1024, device=device).to(dtype)
    a @ b
    times = []
    for _ in range(4):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * 1024**3 / sorted(times)[1]


def step_ms(engine: Dia2Engine, lines: int, steps: int) -> float:
    stamps = []

    def on_progress(p):
        if p.index == 0:
            stamps.append(time.perf_counter())

    params = SamplingParams(max_tokens=steps + 20)
    engine.generate([GenerationRequest(TEXT, seed=i, sampling=params) for i in range(lines)], on_progress=on_progress,
                    should_stop=lambda: len(stamps) >= steps + 2)  # first step skipped as warm-up
    gaps = sorted(b - a for a, b in zip(stamps[1:], stamps[2:steps + 2]))
    return 1000 * gaps[len(gaps) // 2]


def run(size: str, device: str | None, dtype: str | None, steps: int, batches: list[int]) -> dict:
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    dt = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype or ("bfloat16" if dev.type == "cuda" else "float32")]
    engine = random_engine(size, dev, dt, max(batches))
    bw, rate = bandwidth(dev), gemm_rate(dev, dt)
    print(f"Dia2 {size} random weights on {dev.type} {dt}, {torch.get_num_threads()} threads; "
          f"bandwidth {bw / 1e9:.1f} GB/s, GEMM {rate / 1e9:.0f} GFLOP/s")
    report = {"size": size, "device": dev.type, "dtype": str(dt), "bandwidth_GBps": bw / 1e9,
              "gemm_GFLOPs": rate / 1e9, "batches": {}}
    base = None
    for b in batches:
        ms = step_ms(engine, b, steps)
        read, flops = step_cost(engine, 2 * b)
        roof = 1000 * max(read / bw, flops / rate)
        base = base or ms / b
        report["batches"][b] = {"ms_per_step": ms, "steps_per_s": 1000 / ms, "realtime_x": 1000 / ms / 12.5,
                                "roofline_ms": roof, "over_roofline": ms / roof, "lines_per_s_vs_batch1": base * b / ms}
        print(f"batch {b}: {ms:.0f} ms/step, {1000 / ms:.2f} steps/s ({1000 / ms / 12.5:.2f}x real time), "
              f"roofline {roof:.0f} ms ({'bandwidth' if read / bw > flops / rate else 'compute'}-bound; "
              f"{ms / roof:.2f}x), lines/s {base * b / ms:.2f}x batch 1")
    if dev.type == "cuda":
        peak = torch.cuda.max_memory_allocated() / 2**30
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    report["peak_memory_GiB"] = peak
    print(f"peak memory {peak:.2f} GiB ({'GPU allocated' if dev.type == 'cuda' else 'process RSS'})")
    return report
