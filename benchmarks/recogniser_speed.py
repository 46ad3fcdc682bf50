"""Recogniser speed: seconds of compute per second of audio, for the tiny test Whisper (end to end) and for
the default openai/whisper-large-v3-turbo (its architecture with random weights, measured layer by layer
and scaled to its 32 encoder and 4 decoder layers: no download, and a fraction of its memory).

    python benchmarks/recogniser_speed.py                 # CPU, float32, torch's thread count
    python benchmarks/recogniser_speed.py --device cuda --dtype float16

A 30 s window costs one encoder pass plus one decoder step per token; English speech at ~2.7 words/s gives
about 110 tokens per window with word timestamps (text tokens plus segment timestamps).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

TOKENS_PER_WINDOW = 110
WINDOW_SECONDS = 30.0
TURBO = dict(d_model=1280, encoder_layers=32, decoder_layers=4, encoder_attention_heads=20,
             decoder_attention_heads=20, encoder_ffn_dim=5120, decoder_ffn_dim=5120, num_mel_bins=128,
             vocab_size=51866, max_source_positions=1500, max_target_positions=448)


def _best(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return min(times)


def tiny_end_to_end(device: str, seconds: float, repeats: int) -> dict:
    from dia_engine import Recogniser
    from whisper_tiny import build_tiny_whisper

    with tempfile.TemporaryDirectory() as folder:
        # max_length ~ a real window's token count: the random model never stops on its own.
        model = build_tiny_whisper(Path(folder) / "tiny", max_length=TOKENS_PER_WINDOW)
        recogniser = Recogniser(model, device=device)
        t = np.arange(int(seconds * 16000)) / 16000
        audio = (0.3 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 2 * t) > 0)).astype(np.float32)
        start = time.perf_counter()
        recogniser.load()
        load = time.perf_counter() - start
        elapsed = _best(lambda: recogniser.transcribe(audio, 16000), repeats)
    return {"audio_s": seconds, "load_s": round(load, 2), "transcribe_s": round(elapsed, 3),
            "s_per_audio_s": round(elapsed / seconds, 4)}


def turbo_estimate(device: str, dtype: torch.dtype, repeats: int) -> dict:
    """Time 1 and 2 encoder layers on a 30 s window and 1 decoder layer per token; scale to the full model."""
    from transformers import WhisperConfig, WhisperForConditionalGeneration

    def build(encoder_layers: int, decoder_layers: int):
        config = WhisperConfig(**{**TURBO, "encoder_layers": encoder_layers, "decoder_layers": decoder_layers})
        return WhisperForConditionalGeneration(config).to(device=device, dtype=dtype).eval()

    features = torch.randn(1, TURBO["num_mel_bins"], 3000, device=device, dtype=dtype)
    encoder_times = {}
    for layers in (1, 2):
        model = build(layers, 1)
        with torch.inference_mode():
            encoder_times[layers] = _best(lambda: model.model.encoder(features), repeats)
        del model
    per_encoder_layer = encoder_times[2] - encoder_times[1]
    encoder = encoder_times[1] + per_encoder_layer * (TURBO["encoder_layers"] - 1)

    step_times = {}
    for layers in (1, 2):
        model = build(1, layers)
        with torch.inference_mode():
            hidden = model.model.encoder(features).last_hidden_state
            out = model(encoder_outputs=(hidden,), decoder_input_ids=torch.tensor([[50258] * 4], device=device),
                        use_cache=True)
            cache = out.past_key_values
            token = torch.tensor([[50259]], device=device)

            def step():
                model(encoder_outputs=(hidden,), decoder_input_ids=token, cache=cache, use_cache=True)
                cache.crop(-1)  # drop the token again: every step runs at the same position

            step_times[layers] = _best(step, repeats * 5)
        del model
    per_decoder_layer = step_times[2] - step_times[1]
    token = step_times[1] + per_decoder_layer * (TURBO["decoder_layers"] - 1)
    window = encoder + TOKENS_PER_WINDOW * token
    params = 809e6
    return {"encoder_window_s": round(encoder, 2), "decoder_token_ms": round(token * 1000, 1),
            "window_s": round(window, 2), "s_per_audio_s": round(window / WINDOW_SECONDS, 3),
            "weights_gb": round(params * torch.finfo(dtype).bits / 8 / 1e9, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", choices=["float32", "float16", "bfloat16"], default="float32")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--skip-turbo", action="store_true")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    report = {"device": args.device, "dtype": args.dtype, "threads": torch.get_num_threads(),
              "tiny_30s": tiny_end_to_end(args.device, 30.0, args.repeats),
              "tiny_5s": tiny_end_to_end(args.device, 5.0, args.repeats)}
    if not args.skip_turbo:
        report["turbo_estimate"] = turbo_estimate(args.device, getattr(torch, args.dtype), args.repeats)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
