"""One decoder pass over the static caches: prefill of a single slot, and one step of all slots."""

from __future__ import annotations

import torch

from .kv_cache import KVCache
from .model import DiaModel


def encode_text_pair(model: DiaModel, tokens: torch.Tensor) -> torch.Tensor:
    """Encoder output for one line: row 0 unconditional (all padding bytes), row 1 the text. -> [2, T, De].

    The encoder runs over the real text length only: padding positions are masked in the reference, so
    leaving them out changes nothing but the cost.
    """
    pair = torch.stack([torch.zeros_like(tokens), tokens])
    return model.encoder(pair)


def fill_cross_cache(model: DiaModel, cache: KVCache, slot: int, enc: torch.Tensor) -> None:
    rows = slice(2 * slot, 2 * slot + 2)
    length = enc.shape[1]
    for layer, k_cache, v_cache in zip(model.decoder.layers, cache.cross_k, cache.cross_v):
        k, v = layer.cross_attention.project_kv(enc)
        k_cache[rows, :, :length] = k.transpose(1, 2)
        v_cache[rows, :, :length] = v.transpose(1, 2)
    cache.cross_valid[rows] = False
    cache.cross_valid[rows, :length] = True


def prefill_slot(model: DiaModel, cache: KVCache, slot: int, tokens: torch.Tensor, text_len: int) -> None:
    """Run positions [0, T) of one slot (tokens [T, C]) causally, writing its self-attention cache."""
    rows = slice(2 * slot, 2 * slot + 2)
    cd = model.compute_dtype
    dec = model.decoder
    t = tokens.shape[0]
    x = dec.embeddings(tokens.unsqueeze(0).expand(2, -1, -1))
    positions = torch.arange(t, device=x.device).expand(2, t)
    for i, layer in enumerate(dec.layers):
        sa = layer.self_attention
        h = layer.pre_sa_norm(x).to(cd)
        q = dec.rope(sa.project_q(h), positions).transpose(1, 2)
        k, v = sa.project_kv(h)
        k = dec.rope(k, positions).transpose(1, 2)
        v = v.transpose(1, 2)
        cache.self_k[i][rows, :, :t] = k
        cache.self_v[i][rows, :, :t] = v
        x = x + sa.attend(q, k, v, causal=True)
        ca = layer.cross_attention
        q = ca.project_q(layer.pre_ca_norm(x).to(cd)).transpose(1, 2)
        x = x + ca.attend(q, cache.cross_k[i][rows, :, :text_len], cache.cross_v[i][rows, :, :text_len])
        x = x + layer.mlp(layer.pre_mlp_norm(x).to(cd))


def decode_step(
    model: DiaModel, cache: KVCache, tokens: torch.Tensor, positions: torch.Tensor, self_len: int, cross_len: int
) -> torch.Tensor:
    """One step for every slot. tokens [S, C]; positions [S] -> fp32 logits [S, 2 (uncond, cond), C, V].

    Every slot is computed, active or not, so the matrix shapes never depend on how many lines are
    running: a row's rounding then cannot depend on its company.
    """
    cd = model.compute_dtype
    dec = model.decoder
    rows = 2 * tokens.shape[0]
    row_tokens = tokens.repeat_interleave(2, dim=0).unsqueeze(1)  # [2S, 1, C]
    row_pos = positions.repeat_interleave(2, dim=0)  # [2S]
    x = dec.embeddings(row_tokens)
    rope_pos = row_pos.unsqueeze(1)
    row_index = torch.arange(rows, device=x.device)
    self_mask = (torch.arange(self_len, device=x.device) <= row_pos.unsqueeze(1)).view(rows, 1, 1, self_len)
    cross_mask = cache.cross_valid[:, :cross_len].view(rows, 1, 1, cross_len)
    for i, layer in enumerate(dec.layers):
        sa = layer.self_attention
        h = layer.pre_sa_norm(x).to(cd)
        q = dec.rope(sa.project_q(h), rope_pos).transpose(1, 2)
        k, v = sa.project_kv(h)
        k = dec.rope(k, rope_pos)
        cache.self_k[i][row_index, :, row_pos] = k[:, 0]
        cache.self_v[i][row_index, :, row_pos] = v[:, 0]
        x = x + sa.attend(q, cache.self_k[i][:, :, :self_len], cache.self_v[i][:, :, :self_len], self_mask)
        ca = layer.cross_attention
        q = ca.project_q(layer.pre_ca_norm(x).to(cd)).transpose(1, 2)
        x = x + ca.attend(q, cache.cross_k[i][:, :, :cross_len], cache.cross_v[i][:, :, :cross_len], cross_mask)
        x = x + layer.mlp(layer.pre_mlp_norm(x).to(cd))
    logits = model.logits(x)[:, 0]  # [2S, C, V]
    return logits.unflatten(0, (rows // 2, 2))
