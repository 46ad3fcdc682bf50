"""Model configuration: reads the `config.json` of the official checkpoints (both flavours).

The 0626 checkpoints ship an HF-style config with `encoder_config` / `decoder_config`. The reference writes
`rope_theta` inline; transformers writes it inside `rope_parameters`, and (5.x) writes the top-level
`bos/eos/pad_token_id` as null, keeping them in `decoder_config` only. Unused fields are ignored; needed
fields that are missing or invalid raise `ModelLoadError` naming the field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ModelLoadError


@dataclass(frozen=True)
class EncoderConfig:
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    text_length: int  # max_position_embeddings: the byte-token limit
    vocab_size: int
    norm_eps: float
    rope_theta: float


@dataclass(frozen=True)
class DecoderConfig:
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    cross_num_heads: int
    cross_head_dim: int
    audio_length: int  # max_position_embeddings: longest decoder sequence
    vocab_size: int
    num_channels: int
    norm_eps: float
    rope_theta: float


@dataclass(frozen=True)
class DiaConfig:
    encoder: EncoderConfig
    decoder: DecoderConfig
    delay_pattern: tuple[int, ...]
    bos_token_id: int
    eos_token_id: int
    pad_token_id: int

    @property
    def max_delay(self) -> int:
        return max(self.delay_pattern)

    @classmethod
    def from_file(cls, path: str | Path) -> "DiaConfig":
        path = Path(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelLoadError(f"config file not found: {path}") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelLoadError(f"cannot read config {path}: {exc}") from None
        return cls.from_dict(raw, source=str(path))

    @classmethod
    def from_dict(cls, raw: Any, source: str = "config") -> "DiaConfig":
        if not isinstance(raw, dict):
            raise ModelLoadError(f"{source}: expected a JSON object")
        if "model" in raw and "data" in raw and "encoder_config" not in raw:
            raise ModelLoadError(
                f"{source}: this is a Dia v0.1 config (nari-labs/Dia-1.6B); only the 0626 checkpoints "
                "(nari-labs/Dia-1.6B-0626) are supported"
            )
        r = _Reader(raw, source)
        enc, dec = r.section("encoder_config"), r.section("decoder_config")
        encoder = EncoderConfig(
            hidden_size=enc.positive_int("hidden_size"),
            intermediate_size=enc.positive_int("intermediate_size"),
            num_layers=enc.positive_int("num_hidden_layers"),
            num_heads=enc.positive_int("num_attention_heads"),
            num_kv_heads=enc.positive_int("num_key_value_heads"),
            head_dim=enc.positive_int("head_dim"),
            text_length=enc.positive_int("max_position_embeddings"),
            vocab_size=enc.positive_int("vocab_size"),
            norm_eps=enc.positive_float("norm_eps", default=1e-5),
            rope_theta=enc.rope_theta(),
        )
        decoder = DecoderConfig(
            hidden_size=dec.positive_int("hidden_size"),
            intermediate_size=dec.positive_int("intermediate_size"),
            num_layers=dec.positive_int("num_hidden_layers"),
            num_heads=dec.positive_int("num_attention_heads"),
            num_kv_heads=dec.positive_int("num_key_value_heads"),
            head_dim=dec.positive_int("head_dim"),
            cross_num_heads=dec.positive_int("cross_num_attention_heads"),
            cross_head_dim=dec.positive_int("cross_head_dim"),
            audio_length=dec.positive_int("max_position_embeddings"),
            vocab_size=dec.positive_int("vocab_size"),
            num_channels=dec.positive_int("num_channels"),
            norm_eps=dec.positive_float("norm_eps", default=1e-5),
            rope_theta=dec.rope_theta(),
        )
        delay = raw.get("delay_pattern")
        if not isinstance(delay, list) or not delay or not all(isinstance(d, int) and d >= 0 for d in delay):
            raise ModelLoadError(f"{source}: 'delay_pattern' must be a non-empty list of integers >= 0")
        if len(delay) != decoder.num_channels:
            raise ModelLoadError(
                f"{source}: 'delay_pattern' has {len(delay)} entries but num_channels is {decoder.num_channels}"
            )
        if decoder.num_heads % decoder.num_kv_heads:
            raise ModelLoadError(f"{source}: decoder num_attention_heads must be a multiple of num_key_value_heads")
        if encoder.head_dim % 2 or decoder.head_dim % 2:
            raise ModelLoadError(f"{source}: head_dim must be even for rotary embeddings")
        cfg = cls(
            encoder=encoder,
            decoder=decoder,
            delay_pattern=tuple(delay),
            bos_token_id=_token_id(r, dec, "bos_token_id"),
            eos_token_id=_token_id(r, dec, "eos_token_id"),
            pad_token_id=_token_id(r, dec, "pad_token_id"),
        )
        for name in ("bos_token_id", "eos_token_id", "pad_token_id"):
            if getattr(cfg, name) >= decoder.vocab_size:
                raise ModelLoadError(f"{source}: '{name}' must be below the decoder vocab_size {decoder.vocab_size}")
        return cfg


def _token_id(top: "_Reader", decoder: "_Reader", key: str) -> int:
    """A special token id; transformers 5 saves the top-level ones as null and keeps them in `decoder_config`."""
    if top.data.get(key) is None and decoder.data.get(key) is not None:
        return decoder.non_negative_int(key)
    return top.non_negative_int(key)


class _Reader:
    """Typed access to one JSON object with errors that name the field."""

    def __init__(self, data: dict, where: str):
        self.data, self.where = data, where

    def _get(self, key: str, default: Any = None) -> Any:
        if key not in self.data or self.data[key] is None:
            if default is not None:
                return default
            raise ModelLoadError(f"{self.where}: missing field '{key}'")
        return self.data[key]

    def section(self, key: str) -> "_Reader":
        value = self._get(key)
        if not isinstance(value, dict):
            raise ModelLoadError(f"{self.where}: '{key}' must be an object")
        return _Reader(value, f"{self.where}: {key}")

    def positive_int(self, key: str) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ModelLoadError(f"{self.where}: '{key}' must be a positive integer, got {value!r}")
        return value

    def non_negative_int(self, key: str) -> int:
        value = self._get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ModelLoadError(f"{self.where}: '{key}' must be an integer >= 0, got {value!r}")
        return value

    def positive_float(self, key: str, default: float | None = None) -> float:
        value = self._get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ModelLoadError(f"{self.where}: '{key}' must be a positive number, got {value!r}")
        return float(value)

    def rope_theta(self) -> float:
        if self.data.get("rope_theta") is not None:
            return self.positive_float("rope_theta")
        params = self.data.get("rope_parameters")
        if isinstance(params, dict) and params.get("rope_theta") is not None:
            return _Reader(params, f"{self.where}: rope_parameters").positive_float("rope_theta")
        raise ModelLoadError(f"{self.where}: missing field 'rope_theta' (inline or in 'rope_parameters')")
