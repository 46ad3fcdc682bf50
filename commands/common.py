"""Options and helpers shared by the headless subcommands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from projects.catalogue import DEFAULT_MODEL

AUDIO_FORMATS = ("wav", "flac")
MAX_WARNINGS = 10


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
    from dia_engine import DiaEngine, TqdmProgress, observe_downloads

    codec = None if str(args.codec).lower() == "none" else args.codec
    with observe_downloads(TqdmProgress()):  # a first hub download shows a bar with bytes, rate and time left
        return DiaEngine.from_pretrained(args.model, device=args.device, dtype=args.dtype, codec=codec)


def fail(message: str) -> int:
    """Report a user error as one readable line and return the exit status."""
    print(f"error: {message}", file=sys.stderr)
    return 2


class InputError(ValueError):
    """Bad input to a command, found before the model loads; the message is one readable line."""


def validate_inputs(command: str, *, script, out: Path, fmt: str | None, codec: str, prompt_transcript: str = "",
                    prompt_seconds: float = 0.0, info=None) -> tuple[str, list]:
    """The checks `synth` and `render` share, run before the model loads: the script (render's lint rules,
    against the limits of the model `info` describes; see `describe_model`), the codec and the output file.
    Returns (output format, lint warnings); raises InputError on the first problem. `prompt_*` describe the voice
    clips the lines are generated after, if any."""
    from projects.limits import prompt_frames
    from projects.lint import lint_script

    if not script.lines:
        raise InputError("there are no lines to speak")
    if str(codec).lower() == "none":
        raise InputError(f"{command} writes audio and needs a codec: do not pass --codec none")
    out = Path(out)
    suffix = out.suffix.lower()
    if fmt is None and suffix[1:] not in AUDIO_FORMATS:
        raise InputError(f"--out {out} should end in .wav or .flac" + (" (or pass --format)" if command == "render"
                                                                        else ""))
    fmt = fmt or suffix[1:]
    if suffix[1:] in AUDIO_FORMATS and suffix != f".{fmt}":
        raise InputError(f"--out {out} does not end in .{fmt} but --format is {fmt}")
    if not out.parent.is_dir():
        raise InputError(f"output folder does not exist: {out.parent}")
    issues = lint_script(script, info, prompt_transcript=prompt_transcript,
                         prompt_frames=prompt_frames(info, prompt_seconds) if info is not None else 0)
    errors = [issue for issue in issues if issue.severity == "error"]
    if errors:
        raise InputError(str(errors[0]))
    return fmt, [issue for issue in issues if issue.severity == "warning"]


def describe_model(model: str):
    """The model's ModelInfo from its config (no weights loaded); None when it cannot be described here, in
    which case loading it reports why."""
    from dia_engine import ModelLoadError
    from dia_engine.describe import describe

    try:
        return describe(model)
    except ModelLoadError:
        return None


def print_warnings(warnings: list, more_hint: str = "") -> None:
    for warning in warnings[:MAX_WARNINGS]:
        print(f"warning: {warning}", file=sys.stderr)
    if len(warnings) > MAX_WARNINGS:
        print(f"warning: … and {len(warnings) - MAX_WARNINGS} more{more_hint}", file=sys.stderr)
