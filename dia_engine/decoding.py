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
    for i, layer in enumerate(model.decoder.layers):
        k, v = layer.cross_attention.project_kv(enc)
        k = model.decoder.rotate_cross_keys(k)  # v0.1 only
        cache.set_cross(i, slot, k.transpose(1, 2), v.transpose(1, 2))


def prefill_slot(model: DiaModel, cache: KVCache, slot: int, tokens: torch.Tensor, text_len: int) -> None:
    """Run positions [0, T) of one slot (tokens [T, C]) causally, writing its self-attention cache."""
    rows = slice(2 * slot, 2 * slot + 2)
    cd = model.compute_dtype
    dec = model.decoder
    t = tokens.shape[0]
    x = dec.embeddings(tokens.unsqueeze(0).expand(2, -1, -1))
    positions = torch.arange(t, device=x.device).expand(2, t)
    cross_tables = dec.cross_query_tables(positions)  # v0.1 only
    for i, layer in enumerate(dec.layers):
        sa = layer.self_attention
        h = layer.pre_sa_norm(x, cd)
        q = dec.rope(sa.project_q(h), positions).transpose(1, 2)
        k, v = sa.project_kv(h)
        k = dec.rope(k, positions).transpose(1, 2)
        v = v.transpose(1, 2)
        cache.self_k[i][rows, :, :t] = k
        cache.self_v[i][rows, :, :t] = v
        x = x + sa.attend(q, k, v, causal=True)
        ca = layer.cross_attention
        q = dec.rotate_cross_query(ca.project_q(layer.pre_ca_norm(x, cd)), cross_tables).transpose(1, 2)
        k, v = cache.slot_cross_kv(i, slot, text_len)
        x = x + ca.attend(q, k.to(cd), v.to(cd))
        x = x + layer.mlp(layer.pre_mlp_norm(x, cd))


def decode_step(
    model: DiaModel, cache: KVCache, tokens: torch.Tensor, positions: torch.Tensor, self_len: int, cross_len: int,
    slot_keys: list[tuple[int, int]] | None = None,
) -> torch.Tensor:
    """One step for every slot. tokens [S, C]; positions [S] -> fp32 logits [S, 2 (uncond, cond), C, V].

    Every slot goes through the linear layers, active or not, so their matrix shapes never depend on how
    many lines are running: a row's rounding then cannot depend on its company.

    Attention runs one of two ways:
    - batched over all rows, on keys padded to `self_len`/`cross_len` and masked (one kernel per layer:
      best on a GPU, and what CUDA graphs need);
    - `slot_keys` given (the CPU, with a per-slot cache): slot by slot over exactly its (self, cross) key
      counts, so no padded key is read and a slot's result depends on nothing but its own line. Empty slots,
      (0, 0), are skipped.
    """
    cd = model.compute_dtype
    dec = model.decoder
    rows = 2 * tokens.shape[0]
    row_tokens = tokens.repeat_interleave(2, dim=0).unsqueeze(1)  # [2S, 1, C]
    row_pos = positions.repeat_interleave(2, dim=0)  # [2S]
    x = dec.embeddings(row_tokens)
    rope = dec.rope.tables(row_pos.unsqueeze(1))  # the same for every layer
    cross_tables = dec.cross_query_tables(row_pos.unsqueeze(1))  # v0.1 only
    if slot_keys is None:
        self_mask = (torch.arange(self_len, device=x.device) <= row_pos.unsqueeze(1)).view(rows, 1, 1, self_len)
        cross_mask = cache.cross_valid[:, :cross_len].view(rows, 1, 1, cross_len)
    for i, layer in enumerate(dec.layers):
        sa = layer.self_attention
        q = sa.project_step(layer.pre_sa_norm(x, cd), dec.rope, rope, cache.self_k[i], cache.self_v[i], row_pos)
        ca = layer.cross_attention
        if slot_keys is None:
            x = x + sa.attend(q, cache.self_k[i][:, :, :self_len], cache.self_v[i][:, :, :self_len], self_mask)
            q = dec.rotate_cross_query(ca.project_q(layer.pre_ca_norm(x, cd)), cross_tables).transpose(1, 2)
            x = x + ca.attend(q, cache.cross_k[i][:, :, :cross_len], cache.cross_v[i][:, :, :cross_len], cross_mask)
        else:
            keys = [(cache.self_k[i][2 * s:2 * s + 2, :, :n], cache.self_v[i][2 * s:2 * s + 2, :, :n]) if n else None
                    for s, (n, _) in enumerate(slot_keys)]
            x = x + sa.attend_per_slot(q, keys)
            q = dec.rotate_cross_query(ca.project_q(layer.pre_ca_norm(x, cd)), cross_tables).transpose(1, 2)
            keys = [cache.slot_cross[i][s] if n else None for s, (_, n) in enumerate(slot_keys)]
            x = x + ca.attend_per_slot(q, keys)
        x = x + layer.mlp(layer.pre_mlp_norm(x, cd))
    logits = model.logits(x)[:, 0]  # [2S, C, V]
    return logits.unflatten(0, (rows // 2, 2))
