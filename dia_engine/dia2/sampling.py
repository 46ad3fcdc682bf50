"""Choosing a token per slot from the conditional and unconditional logits (reference Dia2 rules).

- Guidance (per slot, when its cfg_scale != 1): guided = lerp(uncond, cond, scale); the candidates are the
  tokens whose guided value is >= the k-th largest (ties kept); the choice is made from the **conditional**
  logits of those candidates.
- `masked` ids (codebook 0: BOS and PAD) are set to the float32 minimum, a finite number: when every
  candidate is masked, argmax takes the first of them (this is how BOS can be emitted as a code).
- temperature <= 0: argmax (first index on ties). Else softmax(logits / T), keep the top-k probabilities,
  renormalise and draw by inverse CDF with the slot's own uniform number, so a seed reproduces a take and a
  slot's choice never depends on the others (every operation runs along the vocabulary axis).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

NEG_INF = float("-inf")


@dataclass
class SlotParams:
    """Per-slot parameters of one kind of choice, as tensors [S] on the logits' device."""

    cfg_scale: torch.Tensor  # float32
    filter_k: torch.Tensor  # long
    temperature: torch.Tensor  # float32
    top_k: torch.Tensor  # long


def kth_largest(values: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """values [S, V]; k [S] long (clamped to V) -> [S, 1] the k-th largest value of each row."""
    k = k.clamp(1, values.shape[-1])
    top = torch.topk(values, int(k.max()), dim=-1).values
    return top.gather(-1, (k - 1).unsqueeze(-1))


def choose(cond: torch.Tensor, uncond: torch.Tensor, p: SlotParams, uniforms: torch.Tensor | None,
           masked: tuple[int, ...] = ()) -> torch.Tensor:
    """cond, uncond float32 [S, V]; uniforms float64 [S] in [0, 1) (None: every slot greedy) -> [S] long."""
    guided = torch.lerp(uncond, cond, p.cfg_scale.unsqueeze(-1))
    keep = guided >= kth_largest(guided, p.filter_k)
    keep |= (p.cfg_scale == 1.0).unsqueeze(-1)  # guidance off: no filter
    logits = cond.masked_fill(~keep, NEG_INF)
    if masked:
        logits[:, list(masked)] = torch.finfo(torch.float32).min
    greedy = logits.argmax(-1)
    if uniforms is None:
        return greedy
    probs = torch.softmax(logits / p.temperature.clamp_min(1e-6).unsqueeze(-1), dim=-1)
    probs = torch.nan_to_num(probs, nan=0.0)
    cut = kth_largest(probs, torch.where(p.top_k > 0, p.top_k, torch.full_like(p.top_k, probs.shape[-1])))
    probs = torch.where(probs >= cut, probs, torch.zeros_like(probs)).double()
    cdf = probs.cumsum(-1)
    total = cdf[:, -1:]
    drawn = (cdf <= uniforms.to(cdf.device).unsqueeze(-1) * total).sum(-1).clamp(max=probs.shape[-1] - 1)
    valid = (total[:, 0] > 0) & (probs.gather(-1, drawn.unsqueeze(-1))[:, 0] > 0)
    drawn = torch.where(valid, drawn, greedy)
    return torch.where(p.temperature > 0, drawn, greedy)
