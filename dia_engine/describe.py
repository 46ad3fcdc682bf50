"""What a model is, read from its folder or the hub cache without loading its weights.

`describe(source)` gives the same `ModelInfo` the loaded engine's `engine.info` gives, from `config.json` (and, for
Dia2, the tokenizer files) alone, so the editor and `render` can check a script's limits and estimate lengths
before — or without — loading gigabytes of weights. From the hub it fetches only those small files (or reads them
from the cache; with `HF_HUB_OFFLINE=1` only from the cache). `find_local_copy` says whether a model's weights are
on this machine and how large they are, for the model picker.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .config import DiaConfig
from .errors import ModelLoadError
from .family import DIA2, detect_family, read_config
from .hub import _looks_like_repo_id, local_folder
from .info import ModelInfo
from .text import text_byte_length
from .types import DIA_DEFAULT_SAMPLING, FRAMES_PER_SECOND, SAMPLE_RATE

DIA_SPEECH_CHARS_PER_SECOND = 15.0  # typical Dia 1.6B speaking rate (spoken characters per second)
DIA_SAMPLING_FIELDS = ("cfg_scale", "temperature", "top_p", "cfg_filter_top_k")

# Small files that say what a model is: enough for `describe`, never the weights.
DESCRIPTION_FILES = ["config.json", "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt",
                     "special_tokens_map.json", "added_tokens.json"]


def dia_info(config: DiaConfig, model_id: str) -> ModelInfo:
    """The description of a Dia 1.6B checkpoint with this config (the engine's `info` uses it too)."""
    return ModelInfo(
        family="dia", variant=config.variant, model_id=model_id, sample_rate=SAMPLE_RATE,
        frames_per_second=FRAMES_PER_SECOND, max_frames=config.decoder.audio_length,
        text_limit=config.encoder.text_length, text_unit="bytes",
        codebooks=config.decoder.num_channels, word_timestamps=False,
        default_sampling=DIA_DEFAULT_SAMPLING, sampling_fields=DIA_SAMPLING_FIELDS,
        speech_chars_per_second=DIA_SPEECH_CHARS_PER_SECOND, measure_text=text_byte_length,
    )


def describe(source: str | os.PathLike, cache_dir: str | None = None, *, local_only: bool = False) -> ModelInfo:
    """The `ModelInfo` of the model at `source` (a folder or a hub repo id), without loading its weights.

    `local_only` never touches the network (what a UI thread may call). Raises ModelLoadError with one readable
    message when the description files cannot be found or read."""
    folder = description_folder(source, cache_dir, local_only=local_only)
    raw = read_config(folder / "config.json")
    family = detect_family(raw, str(folder / "config.json"))
    if family == DIA2:
        return _describe_dia2(folder, raw, str(source))
    # Dia 0626; DiaConfig refuses v0.1 with a message that says so until the engine supports it.
    return dia_info(DiaConfig.from_dict(raw, source=str(folder / "config.json")), str(source))


def description_folder(source: str | os.PathLike, cache_dir: str | None = None, *, local_only: bool = False) -> Path:
    """A folder holding the model's `config.json` (and tokenizer files where it has them)."""
    folder = local_folder(source)
    if folder is not None:
        return folder
    repo_id = str(source)
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, RepositoryNotFoundError

    try:
        folder = Path(snapshot_download(repo_id, allow_patterns=DESCRIPTION_FILES, cache_dir=cache_dir,
                                        local_files_only=local_only))
    except RepositoryNotFoundError:
        raise ModelLoadError(f"Hugging Face repo '{repo_id}' not found (or it is private)") from None
    except (LocalEntryNotFoundError, HfHubHTTPError, OSError) as exc:
        raise ModelLoadError(
            f"cannot fetch the description of '{repo_id}' from the Hugging Face hub and it is not in the local "
            f"cache (no network? HF_HUB_OFFLINE={os.environ.get('HF_HUB_OFFLINE', '0')}): {exc}"
        ) from None
    if not (folder / "config.json").is_file():
        raise ModelLoadError(f"Hugging Face repo '{repo_id}' has no config.json: it is not a Dia model")
    return folder


@dataclass(frozen=True)
class LocalCopy:
    """Whether a model's weights are on this machine (a folder, or complete in the hub cache)."""

    folder: Path | None  # where config.json and the weights lie; None when they are not here
    weight_bytes: int = 0  # size of the weights found (0 when none)

    @property
    def present(self) -> bool:
        return self.folder is not None


def find_local_copy(source: str | os.PathLike, cache_dir: str | None = None) -> LocalCopy:
    """The model's weights on this machine, looked up without any network access."""
    from .checkpoint import find_weights

    path = Path(source).expanduser()
    if path.is_dir():
        folder = path
    elif _looks_like_repo_id(str(source)):
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError

        try:
            folder = Path(snapshot_download(str(source), allow_patterns=["config.json"], cache_dir=cache_dir,
                                            local_files_only=True))
        except (LocalEntryNotFoundError, OSError, ValueError):
            return LocalCopy(None)
    else:
        return LocalCopy(None)
    try:
        weights = find_weights(folder)
    except ModelLoadError:
        return LocalCopy(None)
    if not (folder / "config.json").is_file():
        return LocalCopy(None)
    files = [weights]
    if weights.name.endswith(".index.json"):
        import json

        try:
            shards = set(json.loads(weights.read_text(encoding="utf-8"))["weight_map"].values())
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return LocalCopy(None)
        files = [folder / shard for shard in sorted(shards)]
        if not all(f.is_file() for f in files):  # a download cut short: not usable yet
            return LocalCopy(None)
    return LocalCopy(folder, sum(f.stat().st_size for f in files))


def _describe_dia2(folder: Path, raw: dict, model_id: str) -> ModelInfo:
    """The Dia2 engine's own description, from its config reader and tokenizer (no weights, no codec)."""
    from .dia2.config import Dia2Config
    from .dia2.engine import dia2_info
    from .dia2.script import count_tokens
    from .dia2.tokenizer import Dia2Tokenizer

    config = Dia2Config.from_dict(raw, str(folder / "config.json"))
    tokenizer = Dia2Tokenizer(folder)
    return dia2_info(config, model_id, lambda text: count_tokens(text, tokenizer))
