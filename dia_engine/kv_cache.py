"""Static key/value caches for a fixed number of batch slots (two rows per slot: unconditional, conditional)."""

from __future__ import annotations

import torch

from .config import DiaConfig

# Attention lengths are rounded up to a multiple of this, so that a row attends over the same key length
# whatever other rows share the batch (see generation.py on batch independence).
KEY_BUCKET = 256


def bucket(length: int, cap: int) -> int:
    return min(cap, -(-max(length, 1) // KEY_BUCKET) * KEY_BUCKET)


class KVCache:
    """Self-attention keys/values [rows, Hkv, self_len, D] per layer, and the cross-attention ones.

    The dtype is the caller's: `DiaModel.per_slot_cache_dtype` for the per-slot layout. Our attention kernel
    reads a bf16 cache directly (half the bytes of float32); without it a bf16 model's per-slot cache is
    float32, because oneDNN's bf16 matmul costs ~0.2 ms a call for these tiny shapes and ~0.9 ms whenever the
    key count changes (every step), against 0.04-0.1 ms for MKL's float32 one. The stored values are the same
    either way (bf16 widens exactly), and attention computes in float32 either way.

    Cross-attention keys come in one of two layouts:
    - batched (`per_slot=False`): padded to `cross_len` for all rows, with `cross_valid` marking real text;
    - per slot (`per_slot=True`, the CPU): one contiguous [2, H, text_len, D] pair per slot and layer, exactly
      as long as that slot's text, so attention reads no padding.
    """

    def __init__(self, cfg: DiaConfig, rows: int, self_len: int, cross_len: int, device, dtype, per_slot=False):
        dec = cfg.decoder
        self.self_len, self.cross_len, self.per_slot = self_len, cross_len, per_slot
        self.dtype = dtype
        self.self_k = [torch.zeros(rows, dec.num_kv_heads, self_len, dec.head_dim, device=device, dtype=dtype)
                       for _ in range(dec.num_layers)]
        self.self_v = [torch.zeros_like(k) for k in self.self_k]
        if per_slot:
            self.slot_cross: list[list[tuple[torch.Tensor, torch.Tensor] | None]] = [
                [None] * (rows // 2) for _ in range(dec.num_layers)]
            return
        shape = (rows, dec.cross_num_heads, cross_len, dec.cross_head_dim)
        self.cross_k = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(dec.num_layers)]
        self.cross_v = [torch.zeros_like(k) for k in self.cross_k]
        # Which encoder positions are real text, per row. Empty slots keep one valid key so no row is
        # fully masked (fully masked SDPA rows can be NaN on some backends).
        self.cross_valid = torch.zeros(rows, cross_len, dtype=torch.bool, device=device)
        self.cross_valid[:, 0] = True

    def set_cross(self, layer: int, slot: int, k: torch.Tensor, v: torch.Tensor) -> None:
        """Store one slot's cross keys/values, k and v [2, H, text_len, D]."""
        if self.per_slot:
            self.slot_cross[layer][slot] = (k.to(self.dtype).contiguous(), v.to(self.dtype).contiguous())
            return
        rows, length = slice(2 * slot, 2 * slot + 2), k.shape[2]
        self.cross_k[layer][rows, :, :length] = k
        self.cross_v[layer][rows, :, :length] = v
        self.cross_valid[rows] = False
        self.cross_valid[rows, :length] = True

    def slot_cross_kv(self, layer: int, slot: int, length: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.per_slot:
            return self.slot_cross[layer][slot]
        rows = slice(2 * slot, 2 * slot + 2)
        return self.cross_k[layer][rows, :, :length], self.cross_v[layer][rows, :, :length]

    def keep_slots(self, slots: list[int]) -> None:
        """Keep only `slots` (ascending), renumbered 0..n-1; per-slot layout only. Moves rows in place."""
        assert self.per_slot, "only the per-slot layout can drop slots"
        for i in range(len(self.self_k)):
            for new, old in enumerate(slots):
                if new != old:
                    for cache in (self.self_k[i], self.self_v[i]):
                        cache[2 * new:2 * new + 2] = cache[2 * old:2 * old + 2]
            self.self_k[i] = self.self_k[i][:2 * len(slots)]
            self.self_v[i] = self.self_v[i][:2 * len(slots)]
            self.slot_cross[i] = [self.slot_cross[i][s] for s in slots]
