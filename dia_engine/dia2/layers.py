"""Dia2's building blocks: RMSNorm, RoPE tables, the two-stream text embedding, the gated MLP, attention.

Reference math kept on purpose: attention scale 1.0 after per-head RMSNorm of q and k; rotate-half RoPE
with angle = position x (1 / timescale), timescale = min x (max/min)^(2i/d); the MLP's `wi` holds the gate
rows then the up rows. Linear layers are `dia_engine.model.Linear`, so the CPU can repack them for the
kernels whose rows' bits do not depend on the batch (see `cpu_kernels`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..model import Linear, single_query_attention

ACTIVATION_FNS = {"silu": F.silu, "swish": F.silu, "swiglu": F.silu, "gelu": F.gelu, "geglu": F.gelu,
                  "relu": F.relu, "linear": lambda x: x}


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.rms_norm(x, (x.shape[-1],), self.weight.to(x.dtype), self.eps)


class Rope(nn.Module):
    """cos/sin tables for positions 0..length-1 (float32), applied in the activations' dtype."""

    def __init__(self, head_dim: int, min_timescale: float, max_timescale: float, length: int):
        super().__init__()
        self.head_dim, self.min_timescale, self.max_timescale, self.length = head_dim, min_timescale, max_timescale, length
        self.build(torch.get_default_device())

    def build(self, device: torch.device) -> None:
        """(Re)compute the tables on `device` (after a model built on the meta device gets its weights)."""
        if torch.device(device).type == "meta":
            device = torch.device("cpu")
        fraction = 2.0 * torch.arange(0, self.head_dim // 2, device=device) / self.head_dim
        timescale = self.min_timescale * (self.max_timescale / self.min_timescale) ** fraction
        inv_freq = (1.0 / timescale).float()
        angles = torch.outer(torch.arange(self.length, dtype=torch.float32, device=device), inv_freq)
        angles = torch.cat((angles, angles), dim=-1)
        self.register_buffer("cos", angles.cos(), persistent=False)
        self.register_buffer("sin", angles.sin(), persistent=False)

    def forward(self, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """x [R, 1, H, D]; positions [R] long."""
        cos = self.cos[positions].view(-1, 1, 1, x.shape[-1]).to(x.dtype)
        sin = self.sin[positions].view(-1, 1, 1, x.shape[-1]).to(x.dtype)
        x1, x2 = x.chunk(2, dim=-1)
        return x * cos + torch.cat((-x2, x1), dim=-1) * sin


class TextEmbedding(nn.Module):
    """main_proj(E[main]) + second_proj(E[second]), the second term dropped where second is the pad id."""

    def __init__(self, vocab: int, dim: int, pad_id: int, rank: int | None = None):
        super().__init__()
        self.pad_id = pad_id
        self.embedding = nn.Embedding(vocab, rank or dim)
        self.main_proj = Linear(rank or dim, dim)
        self.second_proj = Linear(rank or dim, dim)

    def forward(self, main: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        out = self.main_proj(self.embedding(main))
        extra = self.second_proj(self.embedding(second))
        return out + torch.where((second != self.pad_id).unsqueeze(-1), extra, torch.zeros_like(extra))


class Mlp(nn.Module):
    def __init__(self, dim: int, hidden: int, activations: tuple[str, str]):
        super().__init__()
        self.hidden = hidden
        self.act = (ACTIVATION_FNS[activations[0]], ACTIVATION_FNS[activations[1]])
        self.wi = Linear(dim, 2 * hidden)
        self.wo = Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.wi(x).unflatten(-1, (2, self.hidden)).unbind(-2)
        return self.wo(self.act[0](gate) * self.act[1](up))


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, key_lengths: list[int] | None,
           mask: torch.Tensor | None) -> torch.Tensor:
    """Scale-1.0 attention of one query per row. q [R, H, 1, D]; k, v [R, Hkv, L, D].

    `key_lengths` (one per slot of 2 rows): each slot attends over its own first n keys, slot by slot, so a
    row's arithmetic never depends on the other slots (CPU). Otherwise `mask` [R, 1, 1, L] selects the
    written keys of every row at once, with shapes that never change (CUDA graphs, torch.compile)."""
    if key_lengths is None:
        if q.device.type == "cpu":  # SDPA's CPU kernel costs ~20 ms a call for one query on a busy CPU
            return single_query_attention(q, k, v, mask)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=1.0, enable_gqa=q.shape[1] != k.shape[1])
    out = torch.zeros_like(q)
    for s, n in enumerate(key_lengths):
        if n:
            rows = slice(2 * s, 2 * s + 2)
            out[rows] = single_query_attention(q[rows], k[rows, :, :n], v[rows, :, :n])
    return out
