"""Dia Studio entry point: the editor by default, headless subcommands `synth`, `render` and `serve`."""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from pathlib import Path

COMMANDS = ("synth", "render", "serve")


def build_parser() -> argparse.ArgumentParser:
    from commands import render, serve, synth

    parser = argparse.ArgumentParser(
        prog="dia-studio",
        description="Script-to-dialogue editor on the Dia text-to-dialogue models.",
        epilog="Without a subcommand, opens the editor: `dia-studio [PROJECT_FOLDER] [--new]`.",
    )
    sub = parser.add_subparsers(dest="command", metavar="{synth,render,serve}")
    synth.add_parser(sub)
    render.add_parser(sub)
    serve.add_parser(sub)
    return parser


def editor_argument_error(argv: list[str]) -> str:
    """Why the editor's command line cannot be right ("" when it can): a mistyped subcommand, or a project
    folder that does not exist without `--new` (a typo must not quietly start an empty project)."""
    folder = next((arg for arg in argv if not arg.startswith("-")), None)
    if folder is None or Path(folder).expanduser().exists():
        return ""
    looks_like_path = os.sep in folder or "/" in folder or "." in Path(folder).name
    close = [] if looks_like_path else difflib.get_close_matches(folder, COMMANDS, n=1, cutoff=0.6)
    if close and "--new" not in argv:
        return f"unknown command {folder!r}: did you mean {close[0]}? (commands: {', '.join(COMMANDS)})"
    if "--new" not in argv:
        return (f"{folder} does not exist. To start a new project there, run: dia-studio {folder} --new "
                f"(commands: {', '.join(COMMANDS)})")
    return ""


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in COMMANDS + ("-h", "--help"):
        args = build_parser().parse_args(argv)
        return args.func(args)
    # Otherwise the arguments are the editor's: an optional project folder.
    problem = editor_argument_error(argv)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    from gui.app import run_app

    return run_app(argv)


if __name__ == "__main__":
    sys.exit(main())
