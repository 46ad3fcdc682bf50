"""`main.py serve`: a local speech server with `/generate` and OpenAI-compatible `/v1/audio/speech`."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from commands.common import add_engine_options, fail, load_engine
from commands.recognise import add_recogniser_options, make_transcriber, showing_downloads

API_KEY_ENV = "DIA_STUDIO_API_KEY"


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "serve",
        help="serve speech over HTTP (OpenAI-compatible)",
        description="Serve Dia over HTTP: POST /generate, POST /v1/audio/speech (OpenAI-compatible), "
                    "GET /v1/models, GET /voices, GET /health. Concurrent requests are generated together "
                    "in one batch.",
    )
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: %(default)s, this computer only)")
    parser.add_argument("--port", type=int, default=7860, help="port (default: %(default)s; 0 = any free port)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--voices", metavar="DIR",
                        help="folder of voice clips, each with its transcript beside it (alice.wav + alice.txt); "
                             "the voice id is the file name without extension")
    source.add_argument("--project", metavar="DIR",
                        help="Dia Studio project folder: its speakers with reference clips become voices")
    parser.add_argument("--api-key", metavar="KEY", default=os.environ.get(API_KEY_ENV),
                        help=f"require 'Authorization: Bearer KEY' on every request but /health "
                             f"(default: ${API_KEY_ENV} if set)")
    parser.add_argument("--max-batch-size", metavar="N", type=int, default=16,
                        help="most requests generated together (default: %(default)s)")
    parser.add_argument("--batch-window-ms", metavar="MS", type=float, default=50.0,
                        help="how long a request waits for others to share its batch (default: %(default)s)")
    parser.add_argument("--debug", action="store_true",
                        help="debug logging, and tracebacks in the messages of 5xx errors")
    add_engine_options(parser)
    add_recogniser_options(parser)  # transcribes --voices clips that have no .txt beside them
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from dia_engine import ModelLoadError
    from server.app import create_app
    from server.runner import bind_socket, is_loopback, serve, socket_url
    from server.voices import VoiceLibrary, VoiceLibraryError

    if not 0 <= args.port <= 65535:
        return fail(f"--port must be between 0 and 65535, got {args.port}")
    if args.max_batch_size < 1:
        return fail(f"--max-batch-size must be at least 1, got {args.max_batch_size}")
    if args.batch_window_ms < 0:
        return fail(f"--batch-window-ms must be >= 0, got {args.batch_window_ms}")
    if args.api_key is not None and not args.api_key.strip():
        return fail("--api-key is empty")
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO, format="%(levelname)s: %(message)s")

    try:
        if args.voices:
            transcriber = make_transcriber(args)
            with showing_downloads():
                voices, warnings = VoiceLibrary.from_folder(args.voices, transcriber)
            transcriber.unload()  # transcripts are cached; the memory goes to the TTS model
        elif args.project:
            voices, warnings = VoiceLibrary.from_project(args.project)
        else:
            voices, warnings = VoiceLibrary(), []
    except VoiceLibraryError as exc:
        return fail(str(exc))
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)

    # Bind before loading the model: a taken port should fail in a second, not after a minute of loading.
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        return fail(str(exc))
    try:
        try:
            engine = load_engine(args)
        except ModelLoadError as exc:
            return fail(str(exc))
        if not engine.has_codec:
            return fail("the server returns audio, so it needs the codec: drop '--codec none'")
        app = create_app(engine, voices, api_key=args.api_key, debug=args.debug,
                         max_batch_size=args.max_batch_size, batch_window=args.batch_window_ms / 1000)
        if not is_loopback(args.host) and not args.api_key:
            print(f"warning: listening on {args.host} without --api-key: anyone who can reach this address "
                  "can use the server", file=sys.stderr)
        url = socket_url(sock)
        names = ", ".join(voice.id for voice in voices) or "none (start with --voices or --project)"
        print(f"Dia Studio speech server on {url} (model {engine.model_id}, {engine.device}/{engine.dtype})")
        print(f"voices: {names}")
        print(f"try: curl {url}/health     API docs: {url}/docs     stop: Ctrl+C", flush=True)
        try:
            serve(app, sock, log_level="debug" if args.debug else "info")
        except KeyboardInterrupt:  # uvicorn re-raises the Ctrl+C it handled after shutting down cleanly
            pass
        return 0
    finally:
        sock.close()
