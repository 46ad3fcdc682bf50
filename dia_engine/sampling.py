"""Choosing the next token of every channel from guided logits, row by row, by the rules of each release:
`select_tokens` for 0626 and `select_tokens_v01` for the original v0.1 release.

Each slot has its own parameters and its own random stream, and every operation works along the
vocabulary axis only, so a slot's choice never depends on the other slots in the batch.
"""

from __future__ import annotations

import torch

NEG_INF = float("-inf")


def _keep_top_k(logits: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """Mask everything below each row's k-th largest value. logits [S, C, V]; k [S] (long)."""
    k_max = int(k.max())
    top = torch.topk(logits, min(k_max, logits.shape[-1]), dim=-1).values
    idx = (k.clamp(max=logits.shape[-1]) - 1).view(-1, 1, 1).expand(*logits.shape[:2], 1)
    kth = top.gather(-1, idx)
    return logits < kth


def select_tokens(
    cond: torch.Tensor,
    uncond: torch.Tensor,
    cfg_scale: torch.Tensor,
    temperature: torch.Tensor,
    top_p: torch.Tensor,
    top_k: torch.Tensor,
    uniforms: torch.Tensor,
    eos: int,
    pad: int,
) -> torch.Tensor:
    """cond/uncond: fp32 [S, C, V]; per-slot params [S]; uniforms float64 [S, C] in [0, 1). -> [S, C] long.

    Rows with temperature 0 are greedy and ignore their uniforms.
    """
    guided = cond + cfg_scale.view(-1, 1, 1) * (cond - uncond)
    # CFG filter: sample from the conditional logits, restricted to the top-k of the guided ones.
    logits = cond.masked_fill(_keep_top_k(guided, top_k), NEG_INF)
    logits[..., pad:] = NEG_INF  # PAD, BOS and the unused slot are never sampled
    logits[:, 1:, eos:] = NEG_INF  # only channel 0 may end the speech
    greedy = logits.argmax(-1)
    if not bool((temperature > 0).any()):
        return greedy  # an all-greedy step skips the sampling work (the result is the same)

    scaled = logits / temperature.clamp_min(1e-6).view(-1, 1, 1)
    # EOS rule: EOS is allowed only when it is the single most likely token, and then it is certain.
    eos_first = greedy == eos
    scaled[..., eos] = torch.where(eos_first, scaled[..., eos], torch.full_like(scaled[..., eos], NEG_INF))
    scaled[..., :eos] = scaled[..., :eos].masked_fill(eos_first.unsqueeze(-1), NEG_INF)
    scaled = scaled.masked_fill(_keep_top_k(scaled, top_k), NEG_INF)
    return torch.where(temperature.view(-1, 1) > 0, _draw_top_p(scaled, top_p, uniforms), greedy)


def select_tokens_v01(
    cond: torch.Tensor,
    uncond: torch.Tensor,
    cfg_scale: torch.Tensor,
    temperature: torch.Tensor,
    top_p: torch.Tensor,
    top_k: torch.Tensor,
    uniforms: torch.Tensor,
    eos: int,
) -> torch.Tensor:
    """The v0.1 rules (reference `2811af1`), same arguments as `select_tokens`.

    Greedy and sampling both read the guided logits themselves (0626 samples the conditional ones). Channel 0's
    EOS value is scaled by 0.8 (a float32 product, so a negative one moves toward zero); an EOS that is the
    most likely token is still drawn, not forced; top-k applies to the tempered logits.
    """
    guided = cond + cfg_scale.view(-1, 1, 1) * (cond - uncond)
    guided[..., eos + 1:] = NEG_INF  # PAD, BOS and the unused slot
    guided[:, 1:, eos:] = NEG_INF  # only channel 0 may end the speech
    guided[:, 0, eos] *= torch.tensor(0.8, dtype=guided.dtype)
    greedy = guided.argmax(-1)
    if not bool((temperature > 0).any()):
        return greedy

    scaled = guided / temperature.clamp_min(1e-6).view(-1, 1, 1)
    eos_not_first = scaled.argmax(-1) != eos
    scaled[..., eos] = scaled[..., eos].masked_fill(eos_not_first, NEG_INF)
    scaled = scaled.masked_fill(_keep_top_k(scaled, top_k), NEG_INF)
    return torch.where(temperature.view(-1, 1) > 0, _draw_top_p(scaled, top_p, uniforms), greedy)


def _draw_top_p(scaled: torch.Tensor, top_p: torch.Tensor, uniforms: torch.Tensor) -> torch.Tensor:
    """One token per row of `scaled` [S, C, V] (tempered, filtered logits), drawn with the slot's uniforms
    [S, C] from what remains after top-p [S]."""
    # Top-p: drop the tail once the cumulative probability passes top_p; the crossing token stays.
    probs = torch.softmax(scaled, dim=-1)
    sorted_probs, order = torch.sort(probs, dim=-1, descending=True)
    remove_sorted = torch.cumsum(sorted_probs, dim=-1) > top_p.view(-1, 1, 1)
    remove_sorted[..., 1:] = remove_sorted[..., :-1].clone()
    remove_sorted[..., 0] = False
    remove = torch.zeros_like(remove_sorted).scatter(-1, order, remove_sorted)
    scaled = scaled.masked_fill(remove, NEG_INF)

    # Inverse-CDF draw with the slot's own uniforms (the first token whose cumulative mass exceeds u).
    probs = torch.softmax(scaled, dim=-1).double()
    cdf = torch.cumsum(probs, dim=-1)
    u = uniforms.to(cdf.device).unsqueeze(-1) * cdf[..., -1:]
    drawn = (cdf <= u).sum(-1).clamp(max=cdf.shape[-1] - 1)
    drawn_ok = probs.gather(-1, drawn.unsqueeze(-1)).squeeze(-1) > 0
    return torch.where(drawn_ok, drawn, scaled.argmax(-1))
