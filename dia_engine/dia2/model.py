"""Dia2's decoder: a causal transformer over (2 text streams + N codebooks) per step, with its KV cache.

Parameter names equal the checkpoint's (`transformer.layers.0.attn.q_proj.weight`, ...), so loading is a
strict `load_state_dict`. Each decoder step outputs the action logits (pad / new word), the codebook-0
logits and the final hidden state the depformer reads (`depformer.py`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..model import Linear
from .config import Dia2Config, StackConfig
from .depformer import Depformer
from .layers import Mlp, RMSNorm, Rope, TextEmbedding, attend


@dataclass
class StepOutput:
    hidden: torch.Tensor  # [R, D] the final norm's output (the depformer's input)
    action: torch.Tensor  # float32 [R, action vocab]
    cb0: torch.Tensor  # float32 [R, audio vocab]


class Attention(nn.Module):
    def __init__(self, cfg: StackConfig, eps: float):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = cfg.heads, cfg.kv_heads, cfg.head_dim
        self.q_proj = Linear(cfg.n_embd, cfg.heads * cfg.head_dim)
        self.k_proj = Linear(cfg.n_embd, cfg.kv_heads * cfg.head_dim)
        self.v_proj = Linear(cfg.n_embd, cfg.kv_heads * cfg.head_dim)
        self.o_proj = Linear(cfg.heads * cfg.head_dim, cfg.n_embd)
        self.q_norm = RMSNorm(cfg.head_dim, eps)
        self.k_norm = RMSNorm(cfg.head_dim, eps)

    def forward(self, x, rope: Rope, positions, write_index, cache_k, cache_v, key_lengths, mask):
        """x [R, 1, D]; the step's k and v are written at cache[r, :, write_index[r]] before attending."""
        r = x.shape[0]
        q = rope(self.q_norm(self.q_proj(x).view(r, 1, self.heads, self.head_dim)), positions)
        k = rope(self.k_norm(self.k_proj(x).view(r, 1, self.kv_heads, self.head_dim)), positions)
        v = self.v_proj(x).view(r, 1, self.kv_heads, self.head_dim)
        rows = torch.arange(r, device=x.device)
        cache_k[rows, :, write_index] = k[:, 0].to(cache_k.dtype)
        cache_v[rows, :, write_index] = v[:, 0].to(cache_v.dtype)
        out = attend(q.transpose(1, 2), cache_k, cache_v, key_lengths, mask)
        return self.o_proj(out.transpose(1, 2).reshape(r, 1, -1))


class DecoderLayer(nn.Module):
    def __init__(self, cfg: StackConfig, eps: float):
        super().__init__()
        self.pre_norm = RMSNorm(cfg.n_embd, eps)
        self.attn = Attention(cfg, eps)
        self.post_norm = RMSNorm(cfg.n_embd, eps)
        self.mlp = Mlp(cfg.n_embd, cfg.n_hidden, cfg.activations)


class Transformer(nn.Module):
    def __init__(self, cfg: Dia2Config):
        super().__init__()
        dec = cfg.decoder
        self.text_embed = TextEmbedding(cfg.text_vocab_size, dec.n_embd, cfg.text_pad_id, dec.low_rank_dim)
        self.audio_embeds = nn.ModuleList(nn.Embedding(cfg.audio_vocab_size, dec.n_embd)
                                          for _ in range(cfg.codebooks))
        self.layers = nn.ModuleList(DecoderLayer(dec, cfg.norm_eps) for _ in range(dec.n_layer))
        self.norm = RMSNorm(dec.n_embd, cfg.norm_eps)
        self.action_head = Linear(dec.n_embd, cfg.action_vocab_size)
        self.cb0_head = Linear(dec.n_embd, cfg.audio_vocab_size)
        # The reference's table has exactly max_context_steps rows; positions past it are refused upstream.
        self.rope = Rope(dec.head_dim, cfg.rope_min, cfg.rope_max, cfg.max_context_steps)


class Dia2Model(nn.Module):
    def __init__(self, cfg: Dia2Config):
        super().__init__()
        self.config = cfg
        self.transformer = Transformer(cfg)
        self.depformer = Depformer(cfg)

    @property
    def dtype(self) -> torch.dtype:
        return self.transformer.norm.weight.dtype

    def new_cache(self, rows: int, length: int, device: torch.device) -> list[tuple[torch.Tensor, torch.Tensor]]:
        dec = self.config.decoder
        shape = (rows, dec.kv_heads, length, dec.head_dim)
        return [(torch.zeros(shape, dtype=self.dtype, device=device), torch.zeros(shape, dtype=self.dtype, device=device))
                for _ in range(dec.n_layer)]

    def decoder_step(self, tokens: torch.Tensor, positions: torch.Tensor, write_index: torch.Tensor,
                     cache: list[tuple[torch.Tensor, torch.Tensor]], key_lengths: list[int] | None = None,
                     mask: torch.Tensor | None = None) -> StepOutput:
        """tokens [R, 2 + N] (main text, second text, codebooks); positions, write_index [R] long."""
        t = self.transformer
        x = t.text_embed(tokens[:, 0], tokens[:, 1]).to(self.dtype)
        for c, table in enumerate(t.audio_embeds):
            x = x + table(tokens[:, 2 + c])
        x = x.unsqueeze(1)
        for layer, (cache_k, cache_v) in zip(t.layers, cache):
            x = x + layer.attn(layer.pre_norm(x), t.rope, positions, write_index, cache_k, cache_v, key_lengths, mask)
            x = x + layer.mlp(layer.post_norm(x))
        hidden = t.norm(x)[:, 0]
        return StepOutput(hidden, t.action_head(hidden).float(), t.cb0_head(hidden).float())
