"""The Dia encoder-decoder transformer: layers and forward math, parity-exact with the reference.

Weights use the transformers layout (`nn.Linear` weights are [out, in]); `checkpoint.py` maps the nari
layout onto it. Notable reference details kept here on purpose:
- attention has no 1/sqrt(d) scale (scale=1.0), and no biases anywhere;
- RMSNorm normalises in fp32, rounds to the input dtype, then multiplies by an fp32 weight;
- half-split ("rotate_half") RoPE in fp32 with angle = position / timescale (a division);
- cross-attention has no RoPE for 0626 weights; v0.1 rotates its queries and keys (`Decoder.cross_rope`);
- the decoder input sums the 9 channel embeddings one after another in the compute dtype;
- logits are computed from the final norm cast to the compute dtype and returned in fp32.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from . import cpu_kernels
from .config import DecoderConfig, DiaConfig, EncoderConfig


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim, dtype=torch.float32))  # stays fp32, like the reference
        self.use_native = False  # set by DiaModel.pack_for_cpu: one call instead of ~9 small torch operations

    def forward(self, x: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
        """Normalised x times the weight: fp32 by type promotion, or cast to `dtype`."""
        native = cpu_kernels.load() if self.use_native else None
        if native is not None and native.norms(x, dtype):
            return native.rms_norm(x, self.weight, self.eps, dtype)
        xf = x.float()
        normed = (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype)
        out = normed * self.weight
        return out if dtype is None else out.to(dtype)


class RotaryEmbedding(nn.Module):
    def __init__(self, head_dim: int, theta: float, min_timescale: float = 1.0):
        super().__init__()
        self.head_dim, self.theta, self.min_timescale = head_dim, theta, min_timescale
        self.register_buffer("timescale", self.compute_timescale(), persistent=False)

    def compute_timescale(self, device: torch.device | None = None) -> torch.Tensor:
        """min * (theta / min) ** (2i / head_dim) in fp32; with min = 1 (every released checkpoint) this is
        exactly theta ** (2i / head_dim)."""
        fraction = 2.0 * torch.arange(0, self.head_dim // 2, dtype=torch.float32, device=device) / self.head_dim
        if self.min_timescale == 1:
            return self.theta**fraction
        return self.min_timescale * (self.theta / self.min_timescale) ** fraction

    def forward(self, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """x: [B, T, H, D]; positions: [B, T] (any numeric dtype)."""
        return self.rotate(x, *self.tables(positions))

    def tables(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """cos and sin for `positions` [B, T], shaped to rotate [B, T, H, D] (a decode step shares them)."""
        angle = positions.float().unsqueeze(-1) / self.timescale  # [B, T, D/2]
        return torch.cos(angle).unsqueeze(-2), torch.sin(angle).unsqueeze(-2)

    @staticmethod
    def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        x1, x2 = torch.chunk(x.float(), 2, dim=-1)
        return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1).to(x.dtype)


class Linear(nn.Linear):
    """A bias-free linear layer whose weight can be repacked for a faster CPU kernel.

    A decode step multiplies a handful of rows by every weight, so it is bound by how fast the weights
    stream from memory. MKL's `x @ W^T` streams them at 8-15 GB/s here for 2-16 rows. Two packed forms do
    better (measured on a 2-core AVX-512 CPU whose plain sum reads 30-32 GB/s):
    - "native": our kernel (`cpu_kernels`), panels of 32 outputs read front to back: 28-31 GB/s (bf16 on
      the AMX tile unit where there is one, so 16 rows cost about what 2 do);
    - "onednn": oneDNN's blocked layout, an opaque tensor (`to_dense()` gives the weight back): 20-28 GB/s.
    Both give every row the same bits whatever the row count (see `DiaModel.decode_rows_independent_of_batch`).
    """

    # oneDNN's bf16/fp16 kernel for 2 rows streams the weight 10-30% slower than its kernel for 4 (measured on
    # AVX512-BF16), so fewer rows are padded with zeros up to 4; rows do not affect each other's bits.
    MIN_HALF_PRECISION_ROWS = 4

    def __init__(self, in_features: int, out_features: int):
        super().__init__(in_features, out_features, bias=False)
        self.kernel: str | None = None  # None: plain F.linear
        self.min_rows = 1

    @property
    def packed(self) -> bool:
        return self.kernel is not None

    def pack_for_cpu(self, rows_hint: int, allow_native: bool = True) -> None:
        """Repack the weight for our kernel where it runs this dtype, else for oneDNN where that does, else
        leave it. Irreversible."""
        dense = self.weight.detach()
        native = cpu_kernels.load() if allow_native else None
        if native is not None and native.supports(dense.dtype) and cpu_kernels.packable(dense):
            self.weight = nn.Parameter(cpu_kernels.pack(dense), requires_grad=False)
            self.kernel = "native"
            return
        if not onednn_supports(dense.dtype):
            return  # stays dense
        self.weight = nn.Parameter(torch.ops.mkldnn._reorder_linear_weight(dense, rows_hint), requires_grad=False)
        self.kernel = "onednn"
        self.min_rows = 1 if dense.dtype == torch.float32 else self.MIN_HALF_PRECISION_ROWS

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kernel is None:
            return F.linear(x, self.weight)
        if self.kernel == "native":
            return cpu_kernels.load().linear(x, self.weight, self.out_features)
        rows = x.shape[:-1].numel()
        if rows >= self.min_rows:
            return torch.ops.mkldnn._linear_pointwise(x, self.weight, None, "none", [], "")
        padded = F.pad(x.reshape(rows, -1), (0, 0, 0, self.min_rows - rows))
        out = torch.ops.mkldnn._linear_pointwise(padded, self.weight, None, "none", [], "")
        return out[:rows].reshape(*x.shape[:-1], -1)


def onednn_supports(dtype: torch.dtype) -> bool:
    """Whether this CPU and torch build run oneDNN linear layers in `dtype`."""
    try:
        if not torch.backends.mkldnn.is_available():
            return False
        if dtype == torch.bfloat16:
            return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
        if dtype == torch.float16:
            return bool(torch.ops.mkldnn._is_mkldnn_fp16_supported())
        return dtype == torch.float32
    except (AttributeError, RuntimeError):  # a build without these private ops
        return False


class MLP(nn.Module):
    def __init__(self, hidden: int, intermediate: int):
        super().__init__()
        self.gate_up_proj = Linear(hidden, 2 * intermediate)
        self.down_proj = Linear(intermediate, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        return self.down_proj((F.silu(gate) * up).to(x.dtype))


class Attention(nn.Module):
    """Projections of one attention block. `attend` does the (optionally grouped-query) attention."""

    def __init__(self, q_in: int, kv_in: int, out: int, num_heads: int, num_kv_heads: int, head_dim: int):
        super().__init__()
        self.num_heads, self.num_kv_heads, self.head_dim = num_heads, num_kv_heads, head_dim
        self.use_native = False  # set by DiaModel.pack_for_cpu: our attention kernel for attend_per_slot
        self.q_proj = Linear(q_in, num_heads * head_dim)
        self.k_proj = Linear(kv_in, num_kv_heads * head_dim)
        self.v_proj = Linear(kv_in, num_kv_heads * head_dim)
        self.o_proj = Linear(num_heads * head_dim, out)

    def project_q(self, x: torch.Tensor) -> torch.Tensor:  # [B, T, in] -> [B, T, H, D]
        return self.q_proj(x).unflatten(-1, (self.num_heads, self.head_dim))

    def project_kv(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # -> 2 x [B, T, Hkv, D]
        shape = (self.num_kv_heads, self.head_dim)
        return self.k_proj(x).unflatten(-1, shape), self.v_proj(x).unflatten(-1, shape)

    def project_step(self, h: torch.Tensor, rope: "RotaryEmbedding", tables, cache_k: torch.Tensor,
                     cache_v: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """A decode step's projections: rotated q [R, H, 1, D] back, rotated k and v written into the cache
        [R, Hkv, L, D] at each row's position. h: [R, 1, in]; tables: `rope.tables` of the positions."""
        native = cpu_kernels.load() if self.use_native else None
        if native is not None and cache_k.is_contiguous() and cache_v.is_contiguous():
            q = self.q_proj(h)
            native.rope_store(q, self.k_proj(h), self.v_proj(h), *tables, cache_k, cache_v, positions)  # ~14 ops
            return q.unflatten(-1, (self.num_heads, self.head_dim)).transpose(1, 2)
        q = rope.rotate(self.project_q(h), *tables).transpose(1, 2)
        k, v = self.project_kv(h)
        rows = torch.arange(h.shape[0], device=h.device)
        cache_k[rows, :, positions] = rope.rotate(k, *tables)[:, 0].to(cache_k.dtype)
        cache_v[rows, :, positions] = v[:, 0].to(cache_v.dtype)
        return q

    def attend(self, q, k, v, mask: torch.Tensor | None = None, causal: bool = False) -> torch.Tensor:
        """q: [B, H, T, D]; k, v: [B, Hkv, S, D] -> output projected back to [B, T, out]."""
        if q.device.type == "cpu" and q.dtype != torch.float32 and q.shape[2] == 1 and mask is not None:
            out = single_query_attention(q, k, v, mask)
        else:
            out = F.scaled_dot_product_attention(
                q, k, v, attn_mask=mask, is_causal=causal, scale=1.0, enable_gqa=self.num_heads != self.num_kv_heads
            )
        return self.o_proj(out.transpose(1, 2).flatten(2))

    def attend_per_slot(self, q, slot_kv: list[tuple[torch.Tensor, torch.Tensor] | None]) -> torch.Tensor:
        """One query per row, slot by slot (rows 2s and 2s+1) over that slot's own keys, unmasked.

        q: [2S, H, 1, D]; slot_kv[s]: k, v [2, Hkv, n_s, D], or None for an empty slot (its output is zeros).
        """
        native = cpu_kernels.load() if self.use_native else None
        if native is not None and all(kv is None or native.attends(*kv) for kv in slot_kv):
            out = native.attend(q, slot_kv)  # one call for all slots instead of ~4 small ops per slot
        else:
            out = torch.zeros_like(q)
            for s, kv in enumerate(slot_kv):
                if kv is not None:
                    out[2 * s:2 * s + 2] = single_query_attention(q[2 * s:2 * s + 2], *kv)
        return self.o_proj(out.transpose(1, 2).flatten(2))


def single_query_attention(q, k, v, mask=None):
    """One decode step's attention as two small matmuls with an fp32 softmax (scale 1.0, GQA by grouping).

    On the CPU in bf16/fp16 this is about 7-15x faster than SDPA's flash kernel for a single query. The
    matmuls run in the dtype of the keys (float32 for the CPU's per-slot cache); the output in q's dtype.
    """
    b, h, _, d = q.shape
    groups = h // k.shape[1]
    qg = q.reshape(b, k.shape[1], groups, d).to(k.dtype)  # query head j uses KV head j // groups
    # k @ q^T streams the keys row by row: twice as fast on the CPU as q @ k^T, which walks them by column.
    scores = (k @ qg.transpose(-1, -2)).transpose(-1, -2).float()
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    probs = torch.softmax(scores, dim=-1).to(v.dtype)
    return (probs @ v).reshape(b, h, 1, d).to(q.dtype)


class EncoderLayer(nn.Module):
    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        d = cfg.hidden_size
        self.pre_sa_norm = RMSNorm(d, cfg.norm_eps)
        self.self_attention = Attention(d, d, d, cfg.num_heads, cfg.num_kv_heads, cfg.head_dim)
        self.post_sa_norm = RMSNorm(d, cfg.norm_eps)
        self.mlp = MLP(d, cfg.intermediate_size)


class Encoder(nn.Module):
    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        self.embedding = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList(EncoderLayer(cfg) for _ in range(cfg.num_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.norm_eps)
        self.rope = RotaryEmbedding(cfg.head_dim, cfg.rope_theta, cfg.rope_min_timescale)

    def forward(self, tokens: torch.Tensor, valid: torch.Tensor | None = None) -> torch.Tensor:
        """tokens: [B, T] byte ids; valid: [B, T] bool (None: every position is real text)."""
        cd = self.embedding.weight.dtype
        x = self.embedding(tokens)
        positions = torch.arange(tokens.shape[1], device=tokens.device, dtype=torch.float32).expand(tokens.shape)
        mask = None if valid is None else (valid[:, :, None] & valid[:, None, :]).unsqueeze(1)
        for layer in self.layers:
            sa = layer.self_attention
            h = layer.pre_sa_norm(x, cd)
            q = self.rope(sa.project_q(h), positions).transpose(1, 2)
            k, v = sa.project_kv(h)
            k = self.rope(k, positions).transpose(1, 2)
            x = x + sa.attend(q, k, v.transpose(1, 2), mask)
            x = x + layer.mlp(layer.post_sa_norm(x, cd))
        return self.norm(x, cd)


class DecoderLayer(nn.Module):
    def __init__(self, cfg: DecoderConfig, encoder_hidden: int):
        super().__init__()
        d = cfg.hidden_size
        self.pre_sa_norm = RMSNorm(d, cfg.norm_eps)
        self.self_attention = Attention(d, d, d, cfg.num_heads, cfg.num_kv_heads, cfg.head_dim)
        self.pre_ca_norm = RMSNorm(d, cfg.norm_eps)
        self.cross_attention = Attention(
            d, encoder_hidden, d, cfg.cross_num_heads, cfg.cross_num_heads, cfg.cross_head_dim
        )
        self.pre_mlp_norm = RMSNorm(d, cfg.norm_eps)
        self.mlp = MLP(d, cfg.intermediate_size)


class ChannelEmbeddings(nn.Module):
    """The 9 per-channel tables stacked into one [C*V, D] table (transformers layout)."""

    def __init__(self, num_channels: int, vocab_size: int, hidden: int):
        super().__init__()
        self.vocab_size = vocab_size
        self.embed = nn.Embedding(num_channels * vocab_size, hidden)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens: [B, T, C] -> [B, T, D], summed channel by channel in the compute dtype."""
        x = self.embed(tokens[..., 0])
        for c in range(1, tokens.shape[-1]):
            x = x + self.embed(tokens[..., c] + c * self.vocab_size)
        return x


class Decoder(nn.Module):
    def __init__(self, cfg: DecoderConfig, encoder_hidden: int):
        super().__init__()
        self.cfg = cfg
        self.embeddings = ChannelEmbeddings(cfg.num_channels, cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(cfg, encoder_hidden) for _ in range(cfg.num_layers))
        self.norm = RMSNorm(cfg.hidden_size, cfg.norm_eps)
        self.rope = RotaryEmbedding(cfg.head_dim, cfg.rope_theta, cfg.rope_min_timescale)
        # v0.1 only: cross-attention queries rotate at their decoder position, cached keys at their encoder
        # position (see `rotate_cross_keys`). 0626 has no cross-attention RoPE.
        self.cross_rope = (RotaryEmbedding(cfg.cross_head_dim, cfg.rope_theta, cfg.rope_min_timescale)
                           if cfg.cross_attention_rope else None)

    def rotate_cross_keys(self, k: torch.Tensor) -> torch.Tensor:
        """Cross-attention keys [B, T, H, D] of encoder positions 0..T-1, rotated where the model does (v0.1)."""
        if self.cross_rope is None:
            return k
        positions = torch.arange(k.shape[1], device=k.device, dtype=torch.float32).expand(k.shape[:2])
        return self.cross_rope(k, positions)

    def cross_query_tables(self, positions: torch.Tensor):
        """`rope.tables` for cross-attention queries at decoder `positions` [B, T]; None where they do not rotate."""
        return None if self.cross_rope is None else self.cross_rope.tables(positions)

    def rotate_cross_query(self, q: torch.Tensor, tables) -> torch.Tensor:
        """Cross-attention queries [B, T, H, D], rotated by `cross_query_tables` (unchanged when None)."""
        return q if tables is None else RotaryEmbedding.rotate(q, *tables)


class DiaModel(nn.Module):
    """Parameters and the per-block math. The generation loop lives in `decoding.py`."""

    def __init__(self, cfg: DiaConfig):
        super().__init__()
        self.config = cfg
        self.encoder = Encoder(cfg.encoder)
        self.decoder = Decoder(cfg.decoder, cfg.encoder.hidden_size)
        self.logits_dense = Linear(cfg.decoder.hidden_size, cfg.decoder.num_channels * cfg.decoder.vocab_size)

    def pack_for_cpu(self, rows_hint: int, allow_native: bool = True) -> None:
        """Repack every linear weight for a faster CPU kernel (see `Linear`), and let norms and per-slot
        attention use our kernels where they load. Irreversible for this model."""
        for module in self.modules():
            if isinstance(module, Linear) and not module.packed:
                module.pack_for_cpu(rows_hint, allow_native)
        native = allow_native and cpu_kernels.load() is not None
        for module in self.modules():
            if isinstance(module, (RMSNorm, Attention)):
                module.use_native = native

    def linear_kernels(self) -> set[str]:
        """What the linear layers run on: "native", "onednn" and/or "dense" (F.linear)."""
        return {m.kernel or "dense" for m in self.modules() if isinstance(m, Linear)}

    def decode_rows_independent_of_batch(self, max_rows: int) -> bool:
        """Whether every decode-step linear layer gives each row bit-identical results for any row count
        up to `max_rows` and at another place in the batch (checked on random inputs: kernels pick their
        method from shapes, not values).

        Our kernel does by construction, and oneDNN's packed kernels did on the CPU we measured (1-64 rows,
        every decoder shape); MKL's did not (227 of 528 cases differed), and cuBLAS may split the reduction
        differently with the row count. Only then may the number of batch slots follow the number of lines
        without changing any line's result.
        """
        per_line = ("encoder.", "cross_attention.k_proj", "cross_attention.v_proj")  # run per line, not per step
        layers = {}
        for name, module in self.named_modules():
            if isinstance(module, Linear) and not any(part in name for part in per_line):
                layers.setdefault((module.in_features, module.out_features), module)
        gen = torch.Generator().manual_seed(0)
        for (in_features, _), layer in layers.items():
            x = torch.randn(max_rows, 1, in_features, generator=gen).to(layer.weight.device, self.compute_dtype)
            full = layer(x)
            if not torch.equal(layer(x.roll(1, 0)), full.roll(1, 0)):
                return False
            for rows in range(1, max_rows):
                if not torch.equal(layer(x[:rows]), full[:rows]):
                    return False
        return True

    @property
    def compute_dtype(self) -> torch.dtype:
        return self.logits_dense.weight.dtype

    @property
    def per_slot_cache_dtype(self) -> torch.dtype:
        """The dtype of a per-slot KV cache (see `KVCache`): the model's where our attention kernel reads it,
        float32 otherwise."""
        native = cpu_kernels.load() if self.decoder.layers[0].self_attention.use_native else None
        if native is not None and native.supports(self.compute_dtype):
            return self.compute_dtype
        return torch.float32

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """Final norm and projection: [B, T, D] -> fp32 [B, T, C, V]."""
        h = self.decoder.norm(x, self.compute_dtype)
        dec = self.config.decoder
        return self.logits_dense(h).float().unflatten(-1, (dec.num_channels, dec.vocab_size))
