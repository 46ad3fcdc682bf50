"""Where a model comes from: a local folder, or a Hugging Face repo fetched (once) into the hub cache."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import ModelLoadError

# One copy of the weights is enough; the 0626 repo stores three, the v0.1 repo two. In order of preference.
WEIGHT_PATTERNS = (
    ["config.json", "model.safetensors.index.json", "model-*.safetensors"],
    ["config.json", "model.safetensors"],
    ["config.json", "dia-v1.pth"],
    ["config.json", "dia-v0_1.pth"],  # nari-labs/Dia-1.6B (v0.1), should its model.safetensors be absent
)


def _looks_like_repo_id(source: str) -> bool:
    parts = source.split("/")
    return len(parts) == 2 and all(parts) and not source.startswith((".", "~")) and "\\" not in source


def resolve_source(source: str | os.PathLike, cache_dir: str | None = None) -> Path:
    """A local folder holding `config.json` and one copy of the weights."""
    path = Path(source).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelLoadError(f"model source {path} is a file; give the folder that holds config.json")
        if not (path / "config.json").is_file():
            raise ModelLoadError(f"no config.json in model folder {path}")
        return path
    text = str(source)
    if not _looks_like_repo_id(text):
        raise ModelLoadError(f"model folder not found: {path}")
    return _download(text, cache_dir)


def _has_weights(folder: Path) -> bool:
    from .checkpoint import find_weights

    try:
        find_weights(folder)
        return (folder / "config.json").is_file()
    except ModelLoadError:
        return False


def _download(repo_id: str, cache_dir: str | None) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError

    last_error: Exception | None = None
    for patterns in WEIGHT_PATTERNS:
        try:
            folder = Path(snapshot_download(repo_id, allow_patterns=patterns, cache_dir=cache_dir))
        except RepositoryNotFoundError:
            raise ModelLoadError(f"Hugging Face repo '{repo_id}' not found (or it is private)") from None
        except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as exc:
            last_error = exc
            continue
        if _has_weights(folder):
            return folder
    if last_error is not None:
        raise ModelLoadError(
            f"cannot fetch '{repo_id}' from the Hugging Face hub and it is not in the local cache "
            f"(no network? HF_HUB_OFFLINE={os.environ.get('HF_HUB_OFFLINE', '0')}): {last_error}"
        )
    raise ModelLoadError(f"Hugging Face repo '{repo_id}' holds no Dia weights in a supported layout")
