"""Dia2's `config.json` (`data` / `model` / `runtime` blocks), read strictly: a bad or missing field is named.

Fields the reference reads but never uses (`first_word_min_start`, `max_pad`, the action token ids) are
accepted and ignored on purpose: its padding limit is a fixed 6 and its actions are 0 = pad, 1 = new word.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import ModelLoadError

FRAMES_PER_SECOND = 12.5  # Mimi frames (decoder steps) per second
SAMPLE_RATE = 24000
MAX_PADDING = 6  # fixed in the reference's state machine (the config's max_pad is ignored)
ACTIVATIONS = ("silu", "swish", "swiglu", "gelu", "geglu", "relu", "linear")


class _Reader:
    """Reads typed fields out of one config block, naming the field in every error."""

    def __init__(self, raw: Any, where: str, source: str):
        if not isinstance(raw, dict):
            raise ModelLoadError(f"{source}: '{where or 'config'}' must be a JSON object")
        self.raw, self.where, self.source = raw, where, source

    def _fail(self, key: str, why: str) -> ModelLoadError:
        return ModelLoadError(f"{self.source}: bad config field '{self.where}.{key}': {why}")

    def int(self, key: str, default: int | None = None, minimum: int = 0) -> int:
        value = self.raw.get(key, default)
        if value is None:
            raise self._fail(key, "missing")
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self._fail(key, f"expected an integer >= {minimum}, got {value!r}")
        return value

    def opt_int(self, key: str) -> int | None:
        return None if self.raw.get(key) is None else self.int(key, minimum=1)

    def float(self, key: str, default: float | None = None) -> float:
        value = self.raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise self._fail(key, f"expected a positive number, got {value!r}")
        return float(value)

    def bool(self, key: str, default: bool) -> bool:
        value = self.raw.get(key, default)
        if not isinstance(value, bool):
            raise self._fail(key, f"expected true or false, got {value!r}")
        return value

    def ints(self, key: str, default: list[int] | None = None) -> tuple[int, ...]:
        value = self.raw.get(key, default)
        if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                                                   for v in value):
            raise self._fail(key, f"expected a list of integers >= 0, got {value!r}")
        return tuple(value)

    def activations(self, key: str) -> tuple[str, str]:
        value = self.raw.get(key, ["silu", "linear"])
        if not isinstance(value, list) or len(value) != 2 or any(str(v).lower() not in ACTIVATIONS for v in value):
            raise self._fail(key, f"expected two of {', '.join(ACTIVATIONS)}, got {value!r}")
        return str(value[0]).lower(), str(value[1]).lower()

    def block(self, key: str) -> "_Reader":
        where = f"{self.where}.{key}" if self.where else key
        if key not in self.raw:
            raise ModelLoadError(f"{self.source}: config block '{where}' is missing")
        return _Reader(self.raw[key], where, self.source)


@dataclass(frozen=True)
class StackConfig:
    """One transformer stack (the decoder, or the depformer)."""

    n_layer: int
    n_embd: int
    n_hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    low_rank_dim: int | None = None
    apply_rope: bool = True
    text_embedding: bool = False
    activations: tuple[str, str] = ("silu", "linear")

    @classmethod
    def read(cls, r: _Reader, activations: tuple[str, str], depformer: bool) -> "StackConfig":
        cfg = cls(n_layer=r.int("n_layer", minimum=1), n_embd=r.int("n_embd", minimum=1),
                  n_hidden=r.int("n_hidden", minimum=1), heads=r.int("gqa_query_heads", minimum=1),
                  kv_heads=r.int("kv_heads", minimum=1), head_dim=r.int("gqa_head_dim", minimum=2),
                  low_rank_dim=None if depformer else r.opt_int("low_rank_dim"),
                  apply_rope=r.bool("apply_rope", True) if depformer else True,
                  text_embedding=r.bool("text_embedding", False) if depformer else False,
                  activations=r.activations("mlp_activations") if depformer else activations)
        if cfg.heads % cfg.kv_heads:
            raise r._fail("kv_heads", f"{cfg.kv_heads} does not divide gqa_query_heads {cfg.heads}")
        if cfg.head_dim % 2:
            raise r._fail("gqa_head_dim", f"RoPE needs an even head size, got {cfg.head_dim}")
        return cfg


@dataclass(frozen=True)
class Dia2Config:
    channels: int  # 2 text streams + N audio codebooks
    text_vocab_size: int
    audio_vocab_size: int
    action_vocab_size: int
    text_pad_id: int
    text_new_word_id: int
    text_zero_id: int
    audio_pad_id: int
    audio_bos_id: int
    delays: tuple[int, ...]
    second_stream_ahead: int
    decoder: StackConfig
    depformer: StackConfig
    rope_min: float
    rope_max: float
    norm_eps: float
    weights_schedule: tuple[int, ...]
    max_context_steps: int

    @property
    def codebooks(self) -> int:
        return self.channels - 2

    @property
    def max_delay(self) -> int:
        return max(self.delays)

    @property
    def dep_vocab(self) -> int:
        """Depformer logits keep the columns below BOS and PAD (the real codes)."""
        return min(self.audio_pad_id, self.audio_bos_id)

    @classmethod
    def from_dict(cls, raw: Any, source: str = "config.json") -> "Dia2Config":
        root = _Reader(raw, "", source)
        data, model = root.block("data"), root.block("model")
        if "runtime" not in raw:
            raise ModelLoadError(f"{source}: config block 'runtime' is missing (Dia2 configs have one)")
        runtime = root.block("runtime")
        linear_acts = model.block("linear").activations("mlp_activations") if "linear" in model.raw else (
            "silu", "linear")
        channels = data.int("channels", minimum=3)
        audio_vocab = data.int("audio_vocab_size", minimum=2)
        codebooks = channels - 2
        delays = data.ints("delay_pattern")
        if len(delays) != codebooks:
            raise data._fail("delay_pattern", f"{len(delays)} delays for {codebooks} codebooks (channels - 2)")
        schedule = runtime.ints("weights_schedule", list(range(codebooks - 1)))
        if len(schedule) != codebooks - 1:
            raise runtime._fail("weights_schedule", f"{len(schedule)} stages for {codebooks - 1} depformer stages")
        cfg = cls(
            channels=channels, text_vocab_size=data.int("text_vocab_size", minimum=1), audio_vocab_size=audio_vocab,
            action_vocab_size=data.int("action_vocab_size", 2, minimum=2),
            text_pad_id=data.int("text_pad_token_id"), text_new_word_id=data.int("text_new_word_token_id"),
            text_zero_id=data.int("text_zero_token_id", 7),
            audio_pad_id=data.int("audio_pad_token_id", audio_vocab - 1),
            audio_bos_id=data.int("audio_bos_token_id", audio_vocab - 2),
            delays=delays, second_stream_ahead=data.int("second_stream_ahead", 0),
            decoder=StackConfig.read(model.block("decoder"), linear_acts, depformer=False),
            depformer=StackConfig.read(model.block("depformer"), linear_acts, depformer=True),
            rope_min=model.float("rope_min_timescale", 1), rope_max=model.float("rope_max_timescale", 10000),
            norm_eps=model.float("normalization_layer_epsilon", 1e-5),
            weights_schedule=schedule, max_context_steps=runtime.int("max_context_steps", 1500, minimum=2),
        )
        for name, value in (("text_pad_token_id", cfg.text_pad_id), ("text_new_word_token_id", cfg.text_new_word_id),
                            ("text_zero_token_id", cfg.text_zero_id)):
            if value >= cfg.text_vocab_size:
                raise data._fail(name, f"{value} is outside the text vocabulary ({cfg.text_vocab_size})")
        for name, value in (("audio_pad_token_id", cfg.audio_pad_id), ("audio_bos_token_id", cfg.audio_bos_id)):
            if value >= audio_vocab:
                raise data._fail(name, f"{value} is outside the audio vocabulary ({audio_vocab})")
        if cfg.max_delay + 2 >= cfg.max_context_steps:
            raise runtime._fail("max_context_steps", f"{cfg.max_context_steps} leaves no room after the delays")
        return cfg
