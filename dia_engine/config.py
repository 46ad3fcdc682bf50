"""Model configuration: reads the `config.json` of the official Dia 1.6B checkpoints (both releases).

- 0626 (`nari-labs/Dia-1.6B-0626`): an HF-style config with `encoder_config` / `decoder_config`. The reference
  writes `rope_theta` inline; transformers writes it inside `rope_parameters`.
- v0.1 (`nari-labs/Dia-1.6B`, the original release): `version`, `model` {encoder, decoder, ...} and `data`
  blocks, read by `from_v01`. Its text and audio lengths are rounded up to multiples of 128, as the reference
  does when it reads them, and its decoder rotates cross-attention queries and keys.
transformers 5.x writes the 0626 top-level `bos/eos/pad_token_id` as null, keeping them in `decoder_config`
only; those fall back to the decoder's. Unused fields are ignored; needed fields that are missing or invalid
raise `ModelLoadError` naming the field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ModelLoadError
from .family import DIA2, DIA_V01, detect_family


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
    rope_theta: float  # the largest RoPE timescale
    rope_min_timescale: float = 1.0  # the smallest: timescale_i = min * (theta / min) ** (2i / head_dim)


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
    rope_min_timescale: float = 1.0
    cross_attention_rope: bool = False  # v0.1: queries rotated at decoder positions, keys at encoder positions


@dataclass(frozen=True)
class DiaConfig:
    encoder: EncoderConfig
    decoder: DecoderConfig
    delay_pattern: tuple[int, ...]
    bos_token_id: int
    eos_token_id: int
    pad_token_id: int
    variant: str = "0626"  # or "v0.1": which release's math and sampling rules apply

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
        family = detect_family(raw, source)
        if family == DIA_V01:
            return from_v01(raw, source)
        if family == DIA2:
            raise ModelLoadError(f"{source}: this is a Dia2 config (nari-labs/Dia2-*), not a Dia 1.6B one")
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


def round_up_128(n: int) -> int:
    """v0.1 reads text_length and audio_length rounded up to a multiple of 128 (200 -> 256, 3072 -> 3072)."""
    return -(-n // 128) * 128


def from_v01(raw: dict, source: str = "config") -> DiaConfig:
    """A v0.1 `config.json` (`nari-labs/Dia-1.6B`) as a DiaConfig with variant "v0.1".

    Field names follow the v0.1 schema, and so do the errors; missing optional fields take the v0.1
    reference's defaults. `dropout`, `weight_dtype` and `training` play no part in inference.
    """
    r = _Reader(raw, source)
    model, data = r.section("model"), r.section("data")
    enc, dec = model.section("encoder"), model.section("decoder")
    eps = model.positive_float("normalization_layer_epsilon", default=1e-5)
    rope_min = model.positive_float("rope_min_timescale", default=1)
    rope_max = model.positive_float("rope_max_timescale", default=10_000)
    encoder = EncoderConfig(
        hidden_size=enc.positive_int("n_embd"),
        intermediate_size=enc.positive_int("n_hidden"),
        num_layers=enc.positive_int("n_layer"),
        num_heads=enc.positive_int("n_head"),
        num_kv_heads=enc.positive_int("n_head"),  # no grouped-query attention in the v0.1 encoder
        head_dim=enc.positive_int("head_dim"),
        text_length=round_up_128(data.positive_int("text_length")),
        vocab_size=model.positive_int("src_vocab_size"),
        norm_eps=eps, rope_theta=rope_max, rope_min_timescale=rope_min,
    )
    decoder = DecoderConfig(
        hidden_size=dec.positive_int("n_embd"),
        intermediate_size=dec.positive_int("n_hidden"),
        num_layers=dec.positive_int("n_layer"),
        num_heads=dec.positive_int("gqa_query_heads"),
        num_kv_heads=dec.positive_int("kv_heads"),
        head_dim=dec.positive_int("gqa_head_dim"),
        cross_num_heads=dec.positive_int("cross_query_heads"),  # as many key/value heads as query heads
        cross_head_dim=dec.positive_int("cross_head_dim"),
        audio_length=round_up_128(data.positive_int("audio_length")),
        vocab_size=_int_or(model, "tgt_vocab_size", 1028),
        num_channels=_int_or(data, "channels", 9),
        norm_eps=eps, rope_theta=rope_max, rope_min_timescale=rope_min, cross_attention_rope=True,
    )
    where = f"{source}: data"
    delay = data.data.get("delay_pattern", [0, 8, 9, 10, 11, 12, 13, 14, 15])
    if not isinstance(delay, list) or not delay or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in delay):
        raise ModelLoadError(f"{where}: 'delay_pattern' must be a non-empty list of integers >= 0")
    if len(delay) != decoder.num_channels:
        raise ModelLoadError(f"{where}: 'delay_pattern' has {len(delay)} entries but 'channels' is {decoder.num_channels}")
    if _int_or(data, "text_pad_value", 0, positive=False) != 0:
        raise ModelLoadError(f"{where}: 'text_pad_value' must be 0 (byte 0 pads the text)")
    if decoder.num_heads % decoder.num_kv_heads:
        raise ModelLoadError(f"{source}: model: decoder: 'gqa_query_heads' must be a multiple of 'kv_heads'")
    for name, value in (("encoder 'head_dim'", encoder.head_dim), ("decoder 'gqa_head_dim'", decoder.head_dim),
                        ("decoder 'cross_head_dim'", decoder.cross_head_dim)):
        if value % 2:
            raise ModelLoadError(f"{source}: model: {name} must be even for rotary embeddings, got {value}")
    tokens = {name: _int_or(data, name, default, positive=False) for name, default in
              (("audio_bos_value", 1026), ("audio_eos_value", 1024), ("audio_pad_value", 1025))}
    for name, value in tokens.items():
        if value >= decoder.vocab_size:
            raise ModelLoadError(f"{where}: '{name}' must be below 'tgt_vocab_size' {decoder.vocab_size}")
    return DiaConfig(encoder=encoder, decoder=decoder, delay_pattern=tuple(delay),
                     bos_token_id=tokens["audio_bos_value"], eos_token_id=tokens["audio_eos_value"],
                     pad_token_id=tokens["audio_pad_value"], variant="v0.1")


def _int_or(reader: _Reader, key: str, default: int, positive: bool = True) -> int:
    """An optional integer field: `default` when absent, else checked like a required one."""
    if reader.data.get(key) is None:
        return default
    return reader.positive_int(key) if positive else reader.non_negative_int(key)
