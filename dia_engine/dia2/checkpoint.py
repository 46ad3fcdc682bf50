"""Loading a Dia2 checkpoint strictly: every tensor of `model.safetensors` (or its shards) accounted for.

A missing, unexpected or misshapen tensor is named in a ModelLoadError (the reference copies what it finds
and leaves the rest random). Parameters are built on the meta device and replaced by the file's tensors,
converted once to the target dtype and device, so a model is never held twice in memory.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from ..errors import ModelLoadError
from .config import Dia2Config
from .model import Dia2Model

WEIGHT_FILES = ("model.safetensors.index.json", "model.safetensors")


def weight_files(folder: Path) -> list[Path]:
    index = folder / WEIGHT_FILES[0]
    if index.is_file():
        try:
            shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
        except (OSError, ValueError, KeyError, AttributeError) as exc:
            raise ModelLoadError(f"cannot read shard index {index}: {exc}") from None
        missing = [s for s in shards if not (folder / s).is_file()]
        if missing:
            raise ModelLoadError(f"missing weight shard {folder / missing[0]} (listed in {index.name})")
        return [folder / s for s in shards]
    if (folder / WEIGHT_FILES[1]).is_file():
        return [folder / WEIGHT_FILES[1]]
    raise ModelLoadError(f"no Dia2 weights in {folder}: expected model.safetensors (or a shard index)")


def empty_model(cfg: Dia2Config) -> Dia2Model:
    """The model's structure with parameters on the meta device (nothing allocated)."""
    with torch.device("meta"):
        return Dia2Model(cfg)


def finish(model: Dia2Model, device: torch.device) -> Dia2Model:
    """Rebuild the non-persistent buffers (RoPE tables) on `device` after the parameters are in place."""
    for module in model.modules():
        if hasattr(module, "build"):
            module.build(device)
    return model.eval().requires_grad_(False)


def load_model(folder: Path, cfg: Dia2Config, device: torch.device, dtype: torch.dtype) -> Dia2Model:
    from safetensors import safe_open

    model = empty_model(cfg)
    expected = {name: p.shape for name, p in model.named_parameters()}
    state: dict[str, torch.Tensor] = {}
    for path in weight_files(folder):
        try:
            with safe_open(str(path), framework="pt", device="cpu") as f:
                for name in f.keys():
                    if name not in expected:
                        raise ModelLoadError(f"{path.name}: unexpected tensor '{name}' (not part of this Dia2 config)")
                    tensor = f.get_tensor(name)
                    if tuple(tensor.shape) != tuple(expected[name]):
                        raise ModelLoadError(f"{path.name}: tensor '{name}' has shape {list(tensor.shape)}, "
                                             f"the config needs {list(expected[name])}")
                    if not tensor.is_floating_point():
                        raise ModelLoadError(f"{path.name}: tensor '{name}' is {tensor.dtype}, not floating point")
                    state[name] = tensor.to(device=device, dtype=dtype)
        except ModelLoadError:
            raise
        except Exception as exc:  # corrupt or truncated files surface as many exception types
            raise ModelLoadError(f"cannot read weights {path}: {exc}") from None
    missing = sorted(set(expected) - set(state))
    if missing:
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise ModelLoadError(f"{folder}: tensor '{missing[0]}'{more} missing from the checkpoint")
    model.load_state_dict(state, strict=True, assign=True)
    return finish(model, device)
