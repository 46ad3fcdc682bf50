"""Engine speed: encoder time, ms per decode step at batch 1/4/8, steps/s, peak memory, weight-streaming floor.

    python benchmarks/engine_speed.py --device cpu --dtype float32
    python benchmarks/engine_speed.py --device cuda --dtype bfloat16 --model nari-labs/Dia-1.6B-0626

Without --model it builds the official 1.6B architecture with random weights (no download needed).
The floor is the time a step needs just to read every decoder weight once at the measured memory
bandwidth: a memory-bound decoder cannot beat it, so `step / floor` says how close we are to the hardware.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dia_engine import DiaEngine, GenerationRequest, SamplingParams, cpu_kernels  # noqa: E402
from dia_engine.config import DiaConfig  # noqa: E402
from dia_engine.decoding import decode_step, encode_text_pair, fill_cross_cache  # noqa: E402
from dia_engine.engine import resolve_device, resolve_dtype  # noqa: E402
from dia_engine.kv_cache import KVCache, bucket  # noqa: E402
from dia_engine.model import DiaModel, Linear  # noqa: E402
from dia_engine.text import encode_text  # noqa: E402

OFFICIAL_CONFIG = {
    "bos_token_id": 1026, "eos_token_id": 1024, "pad_token_id": 1025,
    "delay_pattern": [0, 8, 9, 10, 11, 12, 13, 14, 15],
    "encoder_config": {"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 12,
                       "num_attention_heads": 16, "num_key_value_heads": 16, "head_dim": 128,
                       "max_position_embeddings": 1024, "vocab_size": 256, "norm_eps": 1e-5, "rope_theta": 10000.0},
    "decoder_config": {"hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 18,
                       "num_attention_heads": 16, "num_key_value_heads": 4, "head_dim": 128,
                       "cross_num_attention_heads": 16, "cross_head_dim": 128, "max_position_embeddings": 3072,
                       "vocab_size": 1028, "num_channels": 9, "norm_eps": 1e-5, "rope_theta": 10000.0},
}
TEXT = "[S1] Welcome back to the show. Today we talk about small models. [S2] Sounds good! (laughs)"


def random_engine(device: str | None, dtype: str | None) -> DiaEngine:
    dev, dt = resolve_device(device), resolve_dtype(dtype, resolve_device(device))
    cfg = DiaConfig.from_dict(OFFICIAL_CONFIG)
    torch.manual_seed(0)
    with torch.device(dev):
        model = DiaModel(cfg)
    for name, p in model.named_parameters():
        if not name.endswith("norm.weight"):
            p.data = (torch.randn(p.shape, device=dev) * 0.02).to(dt)
    # Default slots, so the weights are packed as an app's engine packs them.
    return DiaEngine(model.eval().requires_grad_(False), cfg, None, dev, "random-1.6B")


def decoder_weight_bytes(model: DiaModel) -> int:
    """Bytes of decoder weights a step reads: the real matrices (packing may pad them), not the embedding
    table, which is gathered (9 rows per token) rather than streamed."""
    total = 0
    for name, module in model.named_modules():
        if name.startswith("encoder") or name.startswith("decoder.embeddings"):
            continue
        for p in module.parameters(recurse=False):
            size = module.in_features * module.out_features if isinstance(module, Linear) else p.numel()
            total += size * p.element_size()
    return total


def memory_bandwidth(device: torch.device) -> float:
    """Bytes/s of a large streaming read (a sum over 1 GiB), the median of 5 runs. The buffer is made anew each
    time, so that it does not sit in the peak-memory figure beside the caches."""
    x = torch.ones(256 * 1024 * 1024, dtype=torch.float32, device=device)
    x.sum()
    times = []
    for _ in range(5):
        sync(x.device)
        t = time.perf_counter()
        x.sum()
        sync(x.device)
        times.append(time.perf_counter() - t)
    return x.numel() * x.element_size() / sorted(times)[2]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def decode_step_ms(engine: DiaEngine, batch: int, steps: int) -> float:
    """Median wall time of one decoder step (all slots) while `batch` lines are generating."""
    engine.batch_slots = batch
    params = SamplingParams(max_tokens=steps + 16)
    stamps: list[float] = []

    def on_progress(p):
        if p.index == 0:
            stamps.append(time.perf_counter())

    engine.generate([GenerationRequest(TEXT, seed=i, sampling=params) for i in range(batch)], on_progress=on_progress)
    gaps = sorted(b - a for a, b in zip(stamps[2:], stamps[3:]))  # skip warm-up steps
    return 1000 * gaps[len(gaps) // 2]


def late_step_ms(engine: DiaEngine, batch: int, position: int, steps: int) -> float:
    """Median time of one decoder pass (no sampling) for `batch` lines all at `position`, on a filled cache.

    Steps early in a line attend over a few keys; late in a long line every step also reads the whole
    self-attention cache, which this measures without generating `position` frames first.
    """
    cfg, model, dev = engine.config, engine.model, engine._device
    slots = engine.batch_slots = batch
    per_slot = engine.per_slot_attention
    cache = KVCache(cfg, 2 * slots, bucket(position + steps + 2, cfg.decoder.audio_length),
                    bucket(len(TEXT), cfg.encoder.text_length), dev,
                    model.per_slot_cache_dtype if per_slot else model.compute_dtype, per_slot=per_slot)
    for k, v in zip(cache.self_k, cache.self_v):
        k.normal_()
        v.normal_()
    tokens = torch.from_numpy(encode_text(TEXT)).to(dev)
    with torch.inference_mode():
        enc = encode_text_pair(model, tokens)
        for s in range(slots):
            fill_cross_cache(model, cache, s, enc)
        codes = torch.randint(0, 1024, (slots, cfg.decoder.num_channels), device=dev)
        times = []
        for j in range(steps + 2):
            pos = position + j
            keys = [(pos + 1, len(tokens))] * slots if per_slot else None
            sync(dev)
            t = time.perf_counter()
            decode_step(model, cache, codes, torch.full((slots,), pos, device=dev),
                        bucket(pos + 1, cache.self_len), cache.cross_len, keys)
            sync(dev)
            times.append(time.perf_counter() - t)
    times = sorted(times[2:])
    return 1000 * times[len(times) // 2]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", help="real checkpoint (folder or hub id); default: random 1.6B weights")
    ap.add_argument("--device", default=None)
    ap.add_argument("--dtype", default=None)
    ap.add_argument("--steps", type=int, default=12, help="decode steps measured per batch size")
    ap.add_argument("--batches", default="1,4,8")
    ap.add_argument("--late-position", type=int, default=1000,
                    help="also time steps this far into a line (about 12 s of audio); 0 to skip")
    ap.add_argument("--rounds", type=int, default=3, help="repeat everything; figures are medians over rounds")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--json", help="also write the figures to this file")
    ap.add_argument("--family", choices=["dia", "dia2"], default="dia", help="dia2: see benchmarks/dia2_speed.py")
    ap.add_argument("--size", choices=["1b", "2b"], default="2b", help="Dia2 size (with --family dia2)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.family == "dia2":
        from benchmarks.dia2_speed import run as run_dia2

        report = run_dia2(args.size, args.device, args.dtype, args.steps, [int(x) for x in args.batches.split(",")])
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2))
        return
    if args.model:
        engine = DiaEngine.from_pretrained(args.model, device=args.device, dtype=args.dtype, codec=None)
    else:
        engine = random_engine(args.device, args.dtype)
    dev = engine._device
    model = engine.model
    dec_bytes = decoder_weight_bytes(model)
    with torch.inference_mode():
        tokens = torch.from_numpy(encode_text(TEXT)).to(dev)
        encode_text_pair(model, tokens)
        sync(dev)
        t = time.perf_counter()
        for _ in range(3):
            encode_text_pair(model, tokens)
        sync(dev)
        encoder_ms = 1000 * (time.perf_counter() - t) / 3

    # Shared machines drift by tens of percent within minutes, so every figure is the median of several
    # rounds, and each timing is compared with the bandwidth measured just before and after it.
    batches = [int(x) for x in args.batches.split(",")]
    rounds: list[dict] = []
    kernels = ", ".join(sorted(engine.cpu_kernels))
    native = cpu_kernels.load()
    if "native" in engine.cpu_kernels and model.compute_dtype == torch.bfloat16 and native.amx:
        kernels += " (AMX tiles)"
    print(f"{engine.model_id} on {engine.device} {engine.dtype}, {torch.get_num_threads()} threads, "
          f"{args.rounds} rounds, linear layers on {kernels}")

    def timed(key, measure, row):
        before = memory_bandwidth(dev)
        row[key] = measure()
        row[("bandwidth", key)] = (before + memory_bandwidth(dev)) / 2
        row[("floor", key)] = row[key] / (1000 * dec_bytes / row[("bandwidth", key)])

    for r in range(args.rounds):
        row: dict = {}
        for b in batches:
            timed(b, lambda: decode_step_ms(engine, b, args.steps), row)
            if args.late_position:
                timed(("late", b), lambda: late_step_ms(engine, b, args.late_position, args.steps), row)
        for b in batches:  # lines/s against batch 1 of the same round
            row[("speedup", b)] = b * row[batches[0]] / (batches[0] * row[b])
        rounds.append(row)
        print(f"  round {r + 1}: " + ", ".join(
            f"batch {b} {row[b]:.0f} ms at {row[('bandwidth', b)] / 1e9:.0f} GB/s ({row[('floor', b)]:.2f}x floor)"
            for b in batches))

    def median(key):
        values = sorted(row[key] for row in rounds)
        return values[len(values) // 2]

    bandwidth = median(("bandwidth", batches[0]))
    floor_ms = 1000 * dec_bytes / bandwidth
    report = {"device": engine.device, "dtype": engine.dtype, "threads": torch.get_num_threads(),
              "kernels": sorted(engine.cpu_kernels),
              "rounds": args.rounds, "decoder_weight_bytes": dec_bytes, "bandwidth_GBps": bandwidth / 1e9,
              "floor_ms_per_step": floor_ms, "encoder_ms": encoder_ms, "batches": {}}
    print(f"decoder weights {dec_bytes / 1e9:.2f} GB, bandwidth {bandwidth / 1e9:.1f} GB/s "
          f"-> floor {floor_ms:.0f} ms/step; encoder ({len(tokens)} bytes) {encoder_ms:.0f} ms")
    print("medians over rounds; each 'x floor' uses the bandwidth measured around that timing:")
    for b in batches:
        ms = median(b)
        report["batches"][b] = {"ms_per_step": ms, "steps_per_s": 1000 / ms, "step_over_floor": median(("floor", b)),
                                "line_steps_per_s": b * 1000 / ms, "speedup_vs_batch1": median(("speedup", b))}
        print(f"batch {b}: {ms:.0f} ms/step ({1000 / ms:.2f} steps/s, {median(('floor', b)):.2f}x floor), "
              f"{b * 1000 / ms:.2f} line-steps/s = {median(('speedup', b)):.2f}x batch {batches[0]}")
    if args.late_position:
        report["late_position"] = args.late_position
        for b in batches:
            ms = median(("late", b))
            report["batches"][b]["late_ms_per_step"] = ms
            report["batches"][b]["late_step_over_floor"] = median(("floor", ("late", b)))
            print(f"batch {b} at position {args.late_position}: {ms:.0f} ms/step "
                  f"({median(('floor', ('late', b))):.2f}x floor), {b * 1000 / ms:.2f} line-steps/s")
    if dev.type == "cuda":
        peak = torch.cuda.max_memory_allocated() / 2**30
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    report["peak_memory_GiB"] = peak
    print(f"peak memory {peak:.2f} GiB ({'GPU allocated' if dev.type == 'cuda' else 'process RSS'})")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
