"""`main.py synth TEXT --out FILE.wav`: one line of dialogue to a mono WAV (or FLAC) at the model's rate."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import (add_dia2_sampling_options, add_engine_options, add_sampling_options, fail, load_engine,
                     describe_model, print_warnings, sampling_from_args, validate_inputs)
from .recognise import add_recogniser_options, auto_transcript, is_auto, make_transcriber


def add_parser(sub) -> None:
    p = sub.add_parser("synth", help="generate one line to a WAV file",
                       description="Generate speech for TEXT (e.g. \"[S1] Hello. [S2] Hi! (laughs)\").")
    p.add_argument("text", help="speaker-tagged text; start with [S1]")
    p.add_argument("--out", required=True, help="output file (.wav or .flac)")
    p.add_argument("--voice", help="reference clip for the voice (any format libsndfile reads)")
    p.add_argument("--voice-transcript", help="what is said in the reference clip (required with --voice); 'auto': "
                                              "heard by the speech recogniser (cached by the clip's content)")
    add_engine_options(p)
    add_sampling_options(p)
    add_dia2_sampling_options(p)
    add_recogniser_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dia_engine import DiaEngineError, GenerationRequest

    from projects.script import parse_script
    from projects.store import ProjectError
    from projects.voices import check_clip, tagged_transcript

    text = args.text.strip()
    if not text:
        return fail("the text is empty")
    if args.voice and not (args.voice_transcript or "").strip():
        return fail("--voice needs --voice-transcript (the words spoken in the clip)")
    if args.voice_transcript and not args.voice:
        return fail("--voice-transcript needs --voice")
    out = Path(args.out)
    # Everything render checks, before the model loads: a typo costs no load and no generation.
    try:
        clip_seconds = check_clip(Path(args.voice)) if args.voice else 0.0
        if is_auto(args.voice_transcript):
            transcriber = make_transcriber(args)
            args.voice_transcript = auto_transcript(transcriber, Path(args.voice), f"the clip {Path(args.voice).name}")
            transcriber.unload()  # its memory goes to the generation
        prompt = tagged_transcript("S1", args.voice_transcript) if args.voice else ""
        _, warnings = validate_inputs("synth", script=parse_script(text), out=out, fmt=None, codec=args.codec,
                                      prompt_transcript=prompt, prompt_seconds=clip_seconds,
                                      info=describe_model(args.model))
        sampling = sampling_from_args(args)
    except (ProjectError, ValueError) as exc:
        return fail(str(exc))
    print_warnings(warnings)
    try:
        engine = load_engine(args)
        voice = engine.encode_voice(args.voice, args.voice_transcript) if args.voice else None
        request = GenerationRequest(text=text, seed=args.seed, sampling=sampling, voice=voice)
        engine.resolve_requests([request])  # options the model lacks are refused before any work
        engine.validate([request])
        print("generating…", file=sys.stderr, flush=True)
        (result,) = engine.generate([request], on_progress=_print_progress)
        print(file=sys.stderr)
        _write_audio(out, result.audio, result.sample_rate)
    except (DiaEngineError, ValueError, OSError) as exc:
        return fail(str(exc))
    except KeyboardInterrupt:
        return fail("interrupted")
    print(f"wrote {out} ({result.duration:.2f} s), seed {result.seed}")
    return 0


def _print_progress(p) -> None:
    if sys.stderr.isatty():
        print(f"\r  step {p.step}/{p.total}", end="", file=sys.stderr, flush=True)


def _write_audio(path: Path, audio, sample_rate: int) -> None:
    import soundfile as sf

    sf.write(str(path), audio, sample_rate, subtype="PCM_16")  # WAV or FLAC, from the extension
