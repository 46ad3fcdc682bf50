"""The README's shell examples work: every ```bash block runs, except those marked as needing the network,
the model download, or a person (each mark says why), in a scratch folder with the repo's tests/data."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SKIP_MARK = re.compile(r"<!-- not run by tests/test_readme\.py: (.+?) -->")
BLOCK = re.compile(r"```bash\n(.*?)```\n(<!--[^\n]*-->)?", re.S)


def bash_blocks() -> list[tuple[str, str | None]]:
    """(script, why it is not run or None) for every bash block of the README."""
    blocks = []
    for match in BLOCK.finditer((ROOT / "README.md").read_text(encoding="utf-8")):
        mark = SKIP_MARK.fullmatch(match.group(2) or "")
        assert match.group(2) is None or mark, f"unreadable mark after a README block: {match.group(2)}"
        blocks.append((match.group(1), mark.group(1) if mark else None))
    return blocks


RUNNABLE = [script for script, skipped in bash_blocks() if skipped is None]


def test_the_readme_starts_with_the_two_setup_commands_and_most_examples_run():
    first, why = bash_blocks()[0]
    assert first == ("python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/python main.py\n"
                     "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/python -m pytest\n")
    assert why and len(RUNNABLE) >= 3


@pytest.mark.parametrize("script", RUNNABLE, ids=[s.splitlines()[0][:60] for s in RUNNABLE])
def test_readme_example_runs(script, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "python"  # `python` in the README is the project's interpreter
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    shim.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()
    (work / "main.py").symlink_to(ROOT / "main.py")
    (work / "tests").symlink_to(ROOT / "tests")
    home = tmp_path / "home"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(ROOT),
           "QT_QPA_PLATFORM": "offscreen", "HF_HUB_OFFLINE": "1", "XDG_CONFIG_HOME": str(home / "config"),
           "XDG_DATA_HOME": str(home / "data"), "XDG_STATE_HOME": str(home / "state")}
    run = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=work, env=env, capture_output=True,
                         text=True, timeout=600)
    assert run.returncode == 0, f"{script}\n--- stdout\n{run.stdout[-3000:]}\n--- stderr\n{run.stderr[-3000:]}"
