"""Reading Dia weights from a folder in either official layout, strictly, straight into the target dtype.

- nari layout (0626 and v0.1 alike): `model.safetensors` or a torch-saved `*.pth` (`dia-v1.pth` for 0626,
  `dia-v0_1.pth` for v0.1, read with `weights_only=True`) / `pytorch_model.bin` with keys like
  `encoder.layers.0.self_attention.q_proj.weight` of shape [in, heads, head_dim] (Flax DenseGeneral kernels).
- transformers layout: `model.safetensors.index.json` + shards, or one `model.safetensors`, with keys like
  `model.encoder.layers.0.self_attention.q_proj.weight` of shape [out, in].
Both become our parameter names (the transformers names without the `model.` prefix).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import torch

from .config import DiaConfig
from .errors import ModelLoadError
from .model import DiaModel, RotaryEmbedding

WEIGHT_FILES = ("model.safetensors.index.json", "model.safetensors", "dia-v1.pth", "dia-v0_1.pth",
                "pytorch_model.bin")


def find_weights(folder: Path) -> Path:
    """The one weights file (or shard index) to load from `folder`, in order of preference."""
    for name in WEIGHT_FILES:
        if (folder / name).is_file():
            return folder / name
    pths = sorted(folder.glob("*.pth"))
    if len(pths) == 1:
        return pths[0]
    raise ModelLoadError(
        f"no model weights in {folder}: expected one of {', '.join(WEIGHT_FILES)} (or a single .pth file)"
    )


def _iter_raw_tensors(path: Path) -> Iterator[tuple[str, torch.Tensor]]:
    """Yield (name, tensor) one at a time so that only one source tensor is resident at once."""
    try:
        if path.name.endswith(".index.json"):
            index = json.loads(path.read_text(encoding="utf-8"))
            weight_map = index.get("weight_map")
            if not isinstance(weight_map, dict) or not weight_map:
                raise ModelLoadError(f"{path}: no 'weight_map' in the shard index")
            by_shard: dict[str, list[str]] = {}
            for key, shard in weight_map.items():
                by_shard.setdefault(shard, []).append(key)
            for shard, keys in by_shard.items():
                shard_path = path.parent / shard
                if not shard_path.is_file():
                    raise ModelLoadError(f"missing weight shard {shard_path} (listed in {path.name})")
                yield from _iter_safetensors(shard_path, keys)
        elif path.suffix == ".safetensors":
            yield from _iter_safetensors(path, None)
        else:
            state = torch.load(path, map_location="cpu", mmap=True, weights_only=True)
            if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
                state = state["state_dict"]
            if not isinstance(state, dict):
                raise ModelLoadError(f"{path}: expected a state dict, found {type(state).__name__}")
            yield from state.items()
    except ModelLoadError:
        raise
    except Exception as exc:  # corrupt or truncated files surface as many different exception types
        raise ModelLoadError(f"cannot read weights {path}: {exc}") from None


def _iter_safetensors(path: Path, keys: list[str] | None) -> Iterator[tuple[str, torch.Tensor]]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt", device="cpu") as f:
        available = set(f.keys())
        for key in keys if keys is not None else sorted(available):
            if key not in available:
                raise ModelLoadError(f"tensor '{key}' is listed in the index but missing from {path.name}")
            yield key, f.get_tensor(key)


def _nari_to_ours(name: str, t: torch.Tensor) -> tuple[str, torch.Tensor]:
    """Map one nari tensor to our name and [out, in] layout."""
    if name.startswith("decoder.embeddings."):
        return name, t  # stacked later
    if name == "decoder.logits_dense.weight":
        return "logits_dense.weight", t.reshape(t.shape[0], -1).T
    if name.endswith(("q_proj.weight", "k_proj.weight", "v_proj.weight")):
        return name, t.reshape(t.shape[0], -1).T
    if name.endswith("o_proj.weight"):
        return name, t.reshape(-1, t.shape[-1]).T
    if name.endswith("mlp.wi_fused.weight"):
        return name.replace("wi_fused", "gate_up_proj"), t.reshape(t.shape[0], -1).T
    if name.endswith("mlp.wo.weight"):
        return name.replace("mlp.wo", "mlp.down_proj"), t.T
    return name, t


def _is_transformers_layout(first_key: str) -> bool:
    return first_key.startswith("model.") or first_key == "logits_dense.weight"


def load_model(folder: Path, cfg: DiaConfig, device: torch.device, dtype: torch.dtype) -> DiaModel:
    """Build the model on the meta device, then fill every parameter from the checkpoint (strictly)."""
    path = find_weights(folder)
    with torch.device("meta"):
        model = DiaModel(cfg)
    expected = dict(model.named_parameters())
    loaded: dict[str, torch.Tensor] = {}
    channel_tables: dict[int, torch.Tensor] = {}
    layout = None

    def place(name: str, tensor: torch.Tensor) -> None:
        if name not in expected:
            raise ModelLoadError(f"unexpected tensor '{name}' in {path.name}: not part of a Dia model")
        if name in loaded:
            raise ModelLoadError(f"tensor '{name}' appears twice in {path.name}")
        want = tuple(expected[name].shape)
        if tuple(tensor.shape) != want:
            raise ModelLoadError(
                f"tensor '{name}' has shape {list(tensor.shape)}, but the config needs {list(want)}"
            )
        target = torch.float32 if name.endswith("norm.weight") else dtype  # norms stay fp32 (reference)
        loaded[name] = tensor.to(device=device, dtype=target).contiguous()

    for raw_name, tensor in _iter_raw_tensors(path):
        if layout is None:
            layout = "transformers" if _is_transformers_layout(raw_name) else "nari"
        if layout == "transformers":
            place(raw_name.removeprefix("model."), tensor)
            continue
        if not raw_name.startswith(("encoder.", "decoder.")):
            raise ModelLoadError(f"unexpected tensor '{raw_name}' in {path.name}: not part of a Dia model")
        name, tensor = _nari_to_ours(raw_name, tensor)
        if name.startswith("decoder.embeddings."):
            parts = name.split(".")
            if len(parts) != 4 or not parts[2].isdigit() or int(parts[2]) >= cfg.decoder.num_channels:
                raise ModelLoadError(f"unexpected tensor '{raw_name}' in {path.name}")
            want = (cfg.decoder.vocab_size, cfg.decoder.hidden_size)
            if tuple(tensor.shape) != want:
                raise ModelLoadError(
                    f"tensor '{raw_name}' has shape {list(tensor.shape)}, but the config needs {list(want)}"
                )
            channel_tables[int(parts[2])] = tensor.to(dtype)
            continue
        place(name, tensor)

    if channel_tables:
        missing = [c for c in range(cfg.decoder.num_channels) if c not in channel_tables]
        if missing:
            raise ModelLoadError(f"missing tensor 'decoder.embeddings.{missing[0]}.weight' in {path.name}")
        place("decoder.embeddings.embed.weight", torch.cat([channel_tables[c] for c in sorted(channel_tables)]))
        channel_tables.clear()

    missing = [n for n in expected if n not in loaded]
    if missing:
        raise ModelLoadError(
            f"{path.name} lacks {len(missing)} tensor(s) the config needs, first '{missing[0]}' "
            "(does config.json match these weights?)"
        )
    model.load_state_dict(loaded, strict=True, assign=True)
    for module in model.modules():  # non-persistent buffers were created on the meta device
        if isinstance(module, RotaryEmbedding):
            module.timescale = module.compute_timescale(device)
    return model.eval().requires_grad_(False)
