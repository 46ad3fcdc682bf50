"""Which model family a checkpoint belongs to, read from its `config.json` alone.

- Dia 1.6B 0626 (`nari-labs/Dia-1.6B-0626`): HF-style `encoder_config` / `decoder_config` blocks.
- Dia 1.6B v0.1 (`nari-labs/Dia-1.6B`, the original release): `version`, `model` {encoder, decoder}, `data`.
- Dia2 (`nari-labs/Dia2-1B`, `-2B`): `data`, `model` {decoder, depformer, ...} and `runtime` blocks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .errors import ModelLoadError

DIA_0626 = "dia-0626"
DIA_V01 = "dia-v0.1"
DIA2 = "dia2"


def detect_family(raw: Any, source: str = "config") -> str:
    """DIA_0626, DIA_V01 or DIA2 for a parsed config.json; ModelLoadError for anything else."""
    if not isinstance(raw, dict):
        raise ModelLoadError(f"{source}: expected a JSON object")
    if "encoder_config" in raw or "decoder_config" in raw:
        return DIA_0626
    model = raw.get("model")
    if isinstance(model, dict) and "data" in raw:
        if "depformer" in model or "runtime" in raw:
            return DIA2
        if "encoder" in model:
            return DIA_V01
    raise ModelLoadError(
        f"{source}: not a Dia config (expected Dia 1.6B 0626 'encoder_config'/'decoder_config', "
        "Dia v0.1 'model'/'data', or Dia2 'data'/'model'/'runtime' blocks)"
    )


def read_config(path: str | Path) -> dict:
    """The parsed config.json at `path`, with one readable ModelLoadError for a missing or broken file."""
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelLoadError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"cannot read config {path}: {exc}") from None
