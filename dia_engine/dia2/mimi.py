"""The Mimi codec (Kyutai) through `transformers.MimiModel`: 24 kHz audio <-> N codebooks at 12.5 Hz.

`codec="auto"` loads `kyutai/mimi` from the Hugging Face cache (downloading config and weights once; offline
it uses the cache only); a path loads a local Mimi folder. Dia2 uses its first N quantizers (32 released).
Codes outside the codebook (the BOS code the model can emit, see `sampling.choose`) are decoded as silence
frames instead of failing as the reference's decode does.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from ..errors import ModelLoadError

MIMI_REPO = "kyutai/mimi"
MIMI_PATTERNS = ["config.json", "model.safetensors", "preprocessor_config.json"]
SAMPLE_RATE = 24000
SAMPLES_PER_FRAME = 1920


class MimiCodec:
    def __init__(self, model, codebooks: int, device: torch.device):
        self.model, self.codebooks, self.device = model, codebooks, device
        self.codebook_size = int(model.config.codebook_size)

    @classmethod
    def load(cls, spec: str | Path, codebooks: int, device: torch.device, cache_dir: str | None = None) -> "MimiCodec":
        try:
            from transformers import MimiModel
        except Exception as exc:
            raise ModelLoadError(f"transformers' MimiModel is not usable: {exc}") from None
        if str(spec) == "auto":
            folder = _hub_folder(cache_dir)
        else:
            folder = Path(spec).expanduser()
            if not (folder / "config.json").is_file():
                raise ModelLoadError(f"no Mimi codec in {folder} (expected a folder with config.json and weights)")
        try:
            model = MimiModel.from_pretrained(str(folder))
        except Exception as exc:
            raise ModelLoadError(f"cannot load the Mimi codec from {folder}: {exc}") from None
        cfg = model.config
        if int(cfg.sampling_rate) != SAMPLE_RATE or int(cfg.num_quantizers) < codebooks:
            raise ModelLoadError(f"codec {folder} is {cfg.sampling_rate} Hz with {cfg.num_quantizers} quantizers; "
                                 f"Dia2 needs {SAMPLE_RATE} Hz and {codebooks}")
        return cls(model.to(device).eval().requires_grad_(False), codebooks, device)

    @torch.inference_mode()
    def encode(self, audio: np.ndarray) -> np.ndarray:
        """Mono float32 at 24 kHz -> codes [ceil(samples / 1920), N]."""
        x = torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)).to(self.device).view(1, 1, -1)
        codes = self.model.encode(x, num_quantizers=self.codebooks).audio_codes
        return codes[0, : self.codebooks].T.cpu().numpy().astype(np.int64)

    @torch.inference_mode()
    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Codes [T, N] -> mono float32 at 24 kHz (T x 1920 samples), clamped to [-1, 1]."""
        codes = np.asarray(codes, dtype=np.int64)
        if len(codes) == 0:
            return np.zeros(0, dtype=np.float32)
        invalid = (codes < 0) | (codes >= self.codebook_size)
        bad_frames = invalid.any(axis=1)
        safe = np.where(invalid, 0, codes)
        c = torch.from_numpy(np.ascontiguousarray(safe.T)).unsqueeze(0).to(self.device)
        audio = self.model.decode(c).audio_values[0, 0].float().clamp(-1, 1).cpu().numpy()
        for frame in np.flatnonzero(bad_frames):
            audio[frame * SAMPLES_PER_FRAME:(frame + 1) * SAMPLES_PER_FRAME] = 0.0
        return np.ascontiguousarray(audio, dtype=np.float32)


def _hub_folder(cache_dir: str | None) -> Path:
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(MIMI_REPO, allow_patterns=MIMI_PATTERNS, cache_dir=cache_dir))
    except Exception as exc:
        raise ModelLoadError(
            f"cannot fetch the Mimi codec '{MIMI_REPO}' and it is not in the local cache (no network? "
            f"HF_HUB_OFFLINE={os.environ.get('HF_HUB_OFFLINE', '0')}): {exc}. Pass a local Mimi folder as the codec."
        ) from None
