"""Dia2's depformer: a small transformer run along the codebook axis of one frame.

Stage s (0..N-2) predicts codebook s+1 from the decoder's hidden state (through `depformer_in[g]`, g the
stage's weight group in `runtime.weights_schedule`) plus the embedding of codebook s's chosen code (plus,
at stage 0 where configured, the text pair the state machine just produced). Attention projections are
chosen by the stage's group; norms and MLPs are shared; RoPE position = stage; the cache spans one frame.
"""

from __future__ import annotations

import torch
from torch import nn

from ..model import Linear
from .config import Dia2Config
from .layers import Mlp, RMSNorm, Rope, TextEmbedding, attend


class ScheduleAttention(nn.Module):
    def __init__(self, cfg: Dia2Config):
        super().__init__()
        dep = cfg.depformer
        self.heads, self.head_dim, self.apply_rope = dep.heads, dep.head_dim, dep.apply_rope
        groups = sorted(set(cfg.weights_schedule))
        self.in_proj = nn.ModuleDict({str(g): Linear(dep.n_embd, 3 * dep.heads * dep.head_dim) for g in groups})
        self.out_proj = nn.ModuleDict({str(g): Linear(dep.heads * dep.head_dim, dep.n_embd) for g in groups})
        self.q_norm = RMSNorm(dep.head_dim, cfg.norm_eps)
        self.k_norm = RMSNorm(dep.head_dim, cfg.norm_eps)

    def forward(self, x, stage: int, group: str, rope: Rope, cache_k, cache_v):
        r = x.shape[0]
        proj = self.in_proj[group](x).view(r, 1, 3, self.heads, self.head_dim)
        q, k, v = self.q_norm(proj[:, :, 0]), self.k_norm(proj[:, :, 1]), proj[:, :, 2]
        if self.apply_rope:
            positions = torch.full((r,), stage, dtype=torch.long, device=x.device)
            q, k = rope(q, positions), rope(k, positions)
        cache_k[:, :, stage] = k[:, 0]
        cache_v[:, :, stage] = v[:, 0]
        out = attend(q.transpose(1, 2), cache_k[:, :, :stage + 1], cache_v[:, :, :stage + 1], None, None)
        return self.out_proj[group](out.transpose(1, 2).reshape(r, 1, -1))


class DepformerLayer(nn.Module):
    def __init__(self, cfg: Dia2Config):
        super().__init__()
        dep = cfg.depformer
        self.pre_norm = RMSNorm(dep.n_embd, cfg.norm_eps)
        self.self_attention = ScheduleAttention(cfg)
        self.post_norm = RMSNorm(dep.n_embd, cfg.norm_eps)
        self.mlp = Mlp(dep.n_embd, dep.n_hidden, dep.activations)


class Depformer(nn.Module):
    def __init__(self, cfg: Dia2Config):
        super().__init__()
        dep = cfg.depformer
        self.stages = cfg.codebooks - 1
        self.schedule = [str(g) for g in cfg.weights_schedule]
        self.vocab = cfg.dep_vocab
        self.audio_embeds = nn.ModuleList(nn.Embedding(cfg.audio_vocab_size, dep.n_embd) for _ in range(self.stages))
        self.text_embed = TextEmbedding(cfg.text_vocab_size, dep.n_embd, cfg.text_pad_id) if dep.text_embedding else None
        self.depformer_in = nn.ModuleDict({g: Linear(cfg.decoder.n_embd, dep.n_embd) for g in sorted(set(self.schedule))})
        self.layers = nn.ModuleList(DepformerLayer(cfg) for _ in range(dep.n_layer))
        self.norm = RMSNorm(dep.n_embd, cfg.norm_eps)
        self.logits = nn.ModuleList(Linear(dep.n_embd, cfg.audio_vocab_size) for _ in range(self.stages))
        self.rope = Rope(dep.head_dim, cfg.rope_min, cfg.rope_max, max(self.stages, 1))

    def new_cache(self, rows: int, device: torch.device, dtype: torch.dtype) -> list[tuple[torch.Tensor, torch.Tensor]]:
        attn = self.layers[0].self_attention
        shape = (rows, attn.heads, max(self.stages, 1), attn.head_dim)
        return [(torch.zeros(shape, dtype=dtype, device=device), torch.zeros(shape, dtype=dtype, device=device))
                for _ in self.layers]

    def stage(self, s: int, hidden: torch.Tensor, prev_code: torch.Tensor, cache, main: torch.Tensor | None = None,
              second: torch.Tensor | None = None) -> torch.Tensor:
        """Logits (float32 [R, dep vocab]) for codebook s+1. hidden [R, D]; prev_code [R]: codebook s's code;
        main/second [R]: the text pair stage 0 embeds (when the depformer has a text embedding)."""
        group = self.schedule[s]
        token = self.audio_embeds[s](prev_code)
        if s == 0 and self.text_embed is not None:
            token = token + self.text_embed(main, second)
        x = (self.depformer_in[group](hidden) + token.to(hidden.dtype)).unsqueeze(1)
        for layer, (cache_k, cache_v) in zip(self.layers, cache):
            x = x + layer.self_attention(layer.pre_norm(x), s, group, self.rope, cache_k, cache_v)
            x = x + layer.mlp(layer.post_norm(x))
        return self.logits[s](self.norm(x))[:, 0, :self.vocab].float()
