"""Options and helpers shared by the headless subcommands."""

from __future__ import annotations

import argparse
import sys

from projects.catalogue import DEFAULT_MODEL


def add_engine_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("engine")
    g.add_argument("--model", default=DEFAULT_MODEL, help="Hugging Face repo id or local folder (default: %(default)s)")
    g.add_argument("--codec", default="auto", help="'auto' (official DAC 44 kHz), a DAC weights file, or 'none'")
    g.add_argument("--device", choices=["cuda", "cpu", "mps"], default=None, help="default: CUDA if present, else CPU")
    g.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default=None,
                   help="default: bfloat16 on CUDA, float32 otherwise")


def add_sampling_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("sampling")
    g.add_argument("--seed", type=int, default=None, help="random seed (default: drawn and printed)")
    g.add_argument("--cfg-scale", type=float, default=3.0)
    g.add_argument("--temperature", type=float, default=1.2, help="0 = greedy")
    g.add_argument("--top-p", type=float, default=0.95)
    g.add_argument("--cfg-filter-top-k", type=int, default=45)
    g.add_argument("--max-tokens", type=int, default=None, help="decoder steps including the voice prompt")


def sampling_from_args(args: argparse.Namespace):
    from dia_engine import SamplingParams

    return SamplingParams(
        cfg_scale=args.cfg_scale,
        temperature=args.temperature,
        top_p=args.top_p,
        cfg_filter_top_k=args.cfg_filter_top_k,
        max_tokens=args.max_tokens,
    )


def load_engine(args: argparse.Namespace):
    from dia_engine import DiaEngine

    codec = None if str(args.codec).lower() == "none" else args.codec
    return DiaEngine.from_pretrained(args.model, device=args.device, dtype=args.dtype, codec=codec)


def fail(message: str) -> int:
    """Report a user error as one readable line and return the exit status."""
    print(f"error: {message}", file=sys.stderr)
    return 2
