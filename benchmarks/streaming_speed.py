"""Streaming cost and latency: a batch with and without `on_chunk`, time to first audio, real-time factor.

    python benchmarks/streaming_speed.py                      # the tiny model and tiny DAC of tests/data
    python benchmarks/streaming_speed.py --dac-only           # the 44 kHz DAC's decode time (random weights)

Rounds alternate plain and streamed runs of the same batch (same seeds, same codes) and report medians:
the shared machines we measure on drift. Times are the process's CPU seconds (on a loaded 2-core machine wall
time mostly measures the neighbours; with 2 threads on 2 free cores wall time is about CPU time / 2).
"First audio" is from the generate call to the first chunk of line 0; the real-time factor is time over the
seconds of audio made (below 1 = faster than real time).
The 44 kHz DAC timing, with the engine benchmark's step times, gives the expected figures for the real model.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dia_engine import DiaEngine, GenerationRequest, SamplingParams  # noqa: E402
from dia_engine.streaming import receptive_field_frames  # noqa: E402

TINY = ROOT / "tests" / "data"
TEXTS = ["[S1] Welcome back to the show.", "[S2] Thanks, good to be here.", "[S1] So what is new?",
         "[S2] Two voices at once, and laughter. (laughs)", "[S1] Tell us more.", "[S2] Gladly.",
         "[S1] How fast is it?", "[S2] Let us measure it."]


def run(engine: DiaEngine, requests, stream: bool, chunk_seconds: float) -> dict:
    first: list[float] = []
    started, cpu = time.perf_counter(), time.process_time()

    def on_chunk(index, samples, start):
        if index == 0 and not first:
            first.append(time.process_time() - cpu)

    kwargs = {"on_chunk": on_chunk, "chunk_seconds": chunk_seconds} if stream else {}
    results = engine.generate(requests, **kwargs)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    audio = sum(len(r.audio) for r in results) / engine.sample_rate
    return {"wall": wall, "cpu": cpu, "first": first[0] if first else None, "audio": audio,
            "codes": [r.codes for r in results]}


def tiny(args) -> None:
    torch.set_num_threads(args.threads)
    engine = DiaEngine.from_pretrained(str(TINY / "dia-tiny"), device="cpu", dtype="float32",
                                       codec=str(TINY / "dac-tiny" / "weights.pth"), batch_slots=args.batch)
    sampling = SamplingParams(temperature=0, max_tokens=args.max_tokens)
    for batch in sorted({1, args.batch}):
        requests = [GenerationRequest(TEXTS[i % len(TEXTS)], seed=i, sampling=sampling) for i in range(batch)]
        run(engine, requests, True, args.chunk_seconds)  # warm-up
        plain, streamed = [], []
        for _ in range(args.rounds):
            plain.append(run(engine, requests, False, args.chunk_seconds))
            streamed.append(run(engine, requests, True, args.chunk_seconds))
        assert all(np.array_equal(a, b) for a, b in zip(plain[0]["codes"], streamed[0]["codes"]))
        p = statistics.median(r["cpu"] for r in plain)
        s = statistics.median(r["cpu"] for r in streamed)
        first = statistics.median(r["first"] for r in streamed)
        audio = streamed[0]["audio"]
        print(f"tiny, batch {batch}: {audio:.2f} s of audio; plain {p:.3f} s, streamed {s:.3f} s "
              f"({100 * (s / p - 1):+.1f}%); first audio {1000 * first:.0f} ms; real-time factor {s / audio:.3f} "
              f"(CPU seconds, per round: plain {[round(r['cpu'], 3) for r in plain]}, streamed "
              f"{[round(r['cpu'], 3) for r in streamed]}; wall {[round(r['wall'], 2) for r in streamed]})", flush=True)


def dac_only(args) -> None:
    import dac

    from dia_engine.codec import Codec

    torch.set_num_threads(args.threads)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        codec = Codec(dac.DAC().eval(), torch.device("cpu"))  # the 44 kHz architecture, random weights
    left, right = codec.context_frames
    chunk = int(args.chunk_seconds * 44100 / 512)
    window = left + chunk + right
    print(f"44 kHz DAC: context {left} frames before, {right} after; a {chunk}-frame chunk is decoded from "
          f"{window} frames", flush=True)
    rng = np.random.default_rng(0)

    def timed(fn) -> float:
        fn()
        times = []
        for _ in range(args.rounds):
            t = time.process_time()
            fn()
            times.append(time.process_time() - t)
        return 1000 * statistics.median(times)  # CPU ms (see the module docstring)

    take = rng.integers(0, 1024, size=(2 * chunk, 9))
    whole = timed(lambda: codec.decode(take)) / len(take)
    codes = rng.integers(0, 1024, size=(1, window, 9))
    plain = timed(lambda: codec.decode(codes[0])) / chunk
    cropped = timed(lambda: codec.decode_window(codes, left, chunk)) / chunk
    batch = rng.integers(0, 1024, size=(args.batch, window, 9))
    cropped_batch = timed(lambda: codec.decode_window(batch, left, chunk)) / (chunk * args.batch)
    print(f"  ms per frame of audio: whole take {whole:.1f}; chunk from the full window {plain:.1f} "
          f"({plain / whole:.2f}x); chunk cropped layer by layer {cropped:.1f} ({cropped / whole:.2f}x); "
          f"{args.batch} chunks in one call {cropped_batch:.1f} ({cropped_batch / whole:.2f}x)", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--max-tokens", type=int, default=400)
    ap.add_argument("--chunk-seconds", type=float, default=0.25)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dac-only", action="store_true")
    args = ap.parse_args()
    dac_only(args) if args.dac_only else tiny(args)


if __name__ == "__main__":
    main()
