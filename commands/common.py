"""Options and helpers shared by the headless subcommands."""

from __future__ import annotations

import argparse
import sys

DEFAULT_MODEL = "nari-labs/Dia-1.6B-0626"


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("engine")
    g.add_argument("--model", default=DEFAULT_MODEL, help="Hugging Face repo id or local folder (default: %(default)s)")
    g.add_argument("--codec", default="auto", help="'auto' (the model's codec: DAC 44 kHz for Dia 1.6B, "
                   "kyutai/mimi for Dia2), a codec file or folder, or 'none'")
    g.add_argument("--device", choices=["cuda", "cpu", "mps"], default=None, help="default: CUDA if present, else CPU")
    g.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default=None,
                   help="default: bfloat16 on CUDA, float32 otherwise")


def add_sampling_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("sampling")
    g.add_argument("--seed", type=int, default=None, help="random seed (default: drawn and printed)")
    # None = the loaded model's default (engine.info.default_sampling): Dia 1.6B cfg 3.0, temperature 1.2,
    # top-p 0.95, filter 45; Dia2 cfg 2.0, temperature 0.8, top-k 50, text 0.6 / 50, filter 50.
    g.add_argument("--cfg-scale", type=float, default=None, help="default: the model's")
    g.add_argument("--temperature", type=float, default=None, help="0 = greedy (default: the model's)")
    g.add_argument("--top-p", type=float, default=None, help="Dia 1.6B only (default: the model's)")
    g.add_argument("--cfg-filter-top-k", type=int, default=None, help="default: the model's")
    g.add_argument("--max-tokens", type=int, default=None, help="decoder steps including the voice prompt")


def add_dia2_sampling_options(parser: argparse.ArgumentParser) -> None:
    """Dia2's own sampling options (refused by Dia 1.6B when set: ModelInfo.resolve_sampling)."""
    g = parser.add_argument_group("Dia2 sampling")
    g.add_argument("--top-k", type=int, default=None, help="Dia2 audio top-k (default: the model's)")
    g.add_argument("--text-temperature", type=float, default=None, help="Dia2 text stream; 0 = greedy")
    g.add_argument("--text-top-k", type=int, default=None, help="Dia2 text stream top-k")


def sampling_from_args(args: argparse.Namespace):
    from dia_engine import SamplingParams

    return SamplingParams(
        cfg_scale=args.cfg_scale,
        temperature=args.temperature,
        top_p=args.top_p,
        cfg_filter_top_k=args.cfg_filter_top_k,
        max_tokens=args.max_tokens,
        top_k=getattr(args, "top_k", None),
        text_temperature=getattr(args, "text_temperature", None),
        text_top_k=getattr(args, "text_top_k", None),
    )


def load_engine(args: argparse.Namespace):
    from dia_engine import DiaEngine

    codec = None if str(args.codec).lower() == "none" else args.codec
    return DiaEngine.from_pretrained(args.model, device=args.device, dtype=args.dtype, codec=codec)


def fail(message: str) -> int:
    """Report a user error as one readable line and return the exit status."""
    print(f"error: {message}", file=sys.stderr)
    return 2
