"""Dia Studio entry point: the editor by default, headless subcommands `synth`, `render` and `serve`."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    from commands import render, serve, synth

    parser = argparse.ArgumentParser(
        prog="dia-studio",
        description="Script-to-dialogue editor on the Dia 1.6B model.",
        epilog="Without a subcommand, opens the editor: `python main.py [PROJECT_FOLDER]`.",
    )
    sub = parser.add_subparsers(dest="command", metavar="{synth,render,serve}")
    synth.add_parser(sub)
    render.add_parser(sub)
    serve.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # A bare positional that is not a subcommand is a project folder for the editor.
    if not argv or argv[0] not in {"synth", "render", "serve", "-h", "--help"}:
        from gui.app import run_app

        return run_app(argv)
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
