"""Speech-recogniser options shared by `synth`, `render` and `serve` (automatic transcripts, take checks)."""

from __future__ import annotations

import argparse
import sys

AUTO = "auto"  # a transcript given as "auto" is heard by the recogniser


def add_recogniser_options(parser: argparse.ArgumentParser) -> None:
    from dia_engine import DEFAULT_RECOGNISER

    g = parser.add_argument_group("speech recogniser (automatic transcripts and take checks)")
    g.add_argument("--recogniser", default=DEFAULT_RECOGNISER, metavar="MODEL",
                   help="Whisper model: Hugging Face repo id or local folder (default: %(default)s; downloaded "
                        "once, then used offline)")
    g.add_argument("--recogniser-device", choices=["cuda", "cpu", "mps"], default=None,
                   help="default: the TTS model's device")


def is_auto(transcript: str | None) -> bool:
    return transcript is not None and transcript.strip().lower() == AUTO


def make_transcriber(args: argparse.Namespace):
    from projects.transcripts import Transcriber

    return Transcriber(args.recogniser, device=args.recogniser_device or getattr(args, "device", None))


def showing_downloads():
    """A download bar on stderr while the recogniser is fetched from the hub (once), as for the TTS model."""
    from dia_engine import TqdmProgress, observe_downloads

    return observe_downloads(TqdmProgress())


def auto_transcript(transcriber, clip, label: str) -> str:
    """The words the recogniser hears in `clip` (cached by content). Raises ValueError with a readable reason."""
    from dia_engine import AudioInputError
    from projects.transcripts import RecogniserUnavailable

    cached = transcriber.cached_file(clip)
    if cached is None:
        print(f"transcribing {label} with {transcriber.model_id}…", file=sys.stderr, flush=True)
    try:
        with showing_downloads():
            heard = cached or transcriber.transcribe_file(clip)
    except RecogniserUnavailable as error:
        raise ValueError(f"cannot transcribe {label} automatically: {error}; type its transcript instead") from None
    except AudioInputError as error:
        raise ValueError(f"cannot transcribe {label}: {error}") from None
    if not heard.text.strip():
        raise ValueError(f"the recogniser heard no words in {label}; type its transcript instead")
    print(f"{label}: heard \"{heard.text}\"", file=sys.stderr, flush=True)
    return heard.text
