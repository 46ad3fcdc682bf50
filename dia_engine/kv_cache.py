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
    def __init__(self, cfg: DiaConfig, rows: int, self_len: int, cross_len: int, device, dtype):
        dec = cfg.decoder
        self.self_len, self.cross_len = self_len, cross_len
        self.self_k = [torch.zeros(rows, dec.num_kv_heads, self_len, dec.head_dim, device=device, dtype=dtype)
                       for _ in range(dec.num_layers)]
        self.self_v = [torch.zeros_like(k) for k in self.self_k]
        shape = (rows, dec.cross_num_heads, cross_len, dec.cross_head_dim)
        self.cross_k = [torch.zeros(shape, device=device, dtype=dtype) for _ in range(dec.num_layers)]
        self.cross_v = [torch.zeros_like(k) for k in self.cross_k]
        # Which encoder positions are real text, per row. Empty slots keep one valid key so no row is
        # fully masked (fully masked SDPA rows can be NaN on some backends).
        self.cross_valid = torch.zeros(rows, cross_len, dtype=torch.bool, device=device)
        self.cross_valid[:, 0] = True
