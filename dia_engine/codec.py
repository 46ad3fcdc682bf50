"""The DAC audio codec (descript-audio-codec): 44.1 kHz audio <-> 9 codebooks of 1024 codes, hop 512."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch

from .errors import ModelLoadError
from .streaming import CroppedDecoder, receptive_field_frames
from .types import HOP_LENGTH, NUM_CHANNELS, SAMPLE_RATE


class Codec:
    def __init__(self, dac_model, device: torch.device):
        self.model, self.device = dac_model, device
        # DAC's decoder is not causal: a sample depends on about 10 frames either side (same for the tiny and
        # the 44 kHz DAC: same rates and kernels). Streaming decodes chunks with this much context.
        self.context_frames = receptive_field_frames(dac_model.decoder)
        self._cropped = CroppedDecoder(decoder_stages(dac_model.decoder))

    @classmethod
    def load(cls, spec: str | Path, device: torch.device) -> "Codec":
        """`spec` is "auto" (official 44 kHz weights through DAC's own download cache) or a weights file."""
        try:
            import dac
        except Exception as exc:
            raise ModelLoadError(f"descript-audio-codec is not usable: {exc}") from None
        if str(spec) == "auto":
            try:
                path = dac.utils.download(model_type="44khz")
            except Exception as exc:
                raise ModelLoadError(
                    f"cannot download the DAC 44 kHz codec weights (no network?): {exc}. "
                    "Pass a local weights file as the codec."
                ) from None
        else:
            path = Path(spec).expanduser()
            if not path.is_file():
                raise ModelLoadError(f"codec weights not found: {path}")
        try:
            with warnings.catch_warnings():  # DAC's loader trips torch's TypedStorage deprecation warning
                warnings.simplefilter("ignore", UserWarning)
                model = dac.DAC.load(str(path))
        except Exception as exc:
            raise ModelLoadError(f"cannot load codec weights {path}: {exc}") from None
        if model.sample_rate != SAMPLE_RATE or model.hop_length != HOP_LENGTH or model.n_codebooks != NUM_CHANNELS:
            raise ModelLoadError(
                f"codec {path} is {model.sample_rate} Hz, hop {model.hop_length}, {model.n_codebooks} codebooks; "
                f"Dia needs {SAMPLE_RATE} Hz, hop {HOP_LENGTH}, {NUM_CHANNELS} codebooks"
            )
        return cls(model.to(device).eval().requires_grad_(False), device)

    @torch.inference_mode()
    def encode(self, audio: np.ndarray) -> np.ndarray:
        """Mono float32 at 44.1 kHz -> codes [T, 9]."""
        x = torch.from_numpy(audio).to(self.device).view(1, 1, -1)
        x = self.model.preprocess(x, SAMPLE_RATE)
        _, codes, _, _, _ = self.model.encode(x)
        return codes[0].T.cpu().numpy().astype(np.int64)

    @torch.inference_mode()
    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Codes [T, 9] -> mono float32 at 44.1 kHz (T * 512 samples)."""
        if len(codes) == 0:
            return np.zeros(0, dtype=np.float32)
        c = torch.from_numpy(np.ascontiguousarray(codes.T)).to(self.device).unsqueeze(0)
        z, _, _ = self.model.quantizer.from_codes(c)
        return self.model.decode(z).squeeze().float().cpu().numpy().astype(np.float32)

    @torch.inference_mode()
    def decode_window(self, codes: np.ndarray, skip: int, length: int) -> np.ndarray:
        """Windows of codes [B, T, 9] -> the audio [B, length * 512] of their frames [skip, skip + length), as a
        decode of the whole take gives it when the window holds `context_frames` around them (streaming)."""
        c = torch.from_numpy(np.ascontiguousarray(np.asarray(codes, dtype=np.int64).transpose(0, 2, 1)))
        z, _, _ = self.model.quantizer.from_codes(c.to(self.device))
        return self._cropped(z, skip, length)[:, 0].float().cpu().numpy().astype(np.float32)


def decoder_stages(decoder) -> list[torch.nn.Module]:
    """DAC's decoder as a flat chain: its first convolution, each block's layers, the output layers."""
    stages = []
    for module in decoder.model:
        inner = getattr(module, "block", None)
        stages.extend(inner if isinstance(inner, torch.nn.Sequential) else [module])
    return stages
