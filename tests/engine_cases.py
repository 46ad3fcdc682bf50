"""Helpers to turn the reference fixture cases into engine requests."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dia_engine import DiaEngine, GenerationRequest, SamplingParams, VoicePrompt, cpu_kernels
from dia_engine.checkpoint import load_model
from dia_engine.model import onednn_supports
from dia_engine.config import DiaConfig

from conftest import TINY_MODEL

CASES = json.loads((TINY_MODEL / "cases.json").read_text())["cases"]


def case_requests(case: dict, seed: int = 0) -> list[GenerationRequest]:
    """The fixture's texts already start with the prompt transcript; split it off into the VoicePrompt."""
    p = case["params"]
    sampling = SamplingParams(cfg_scale=p["cfg_scale"], temperature=p["temperature"], top_p=p["top_p"],
                              cfg_filter_top_k=p["cfg_filter_top_k"], max_tokens=p["max_tokens"])
    out = []
    for text, prompt in zip(case["texts"], case["prompt_codes"]):
        voice = None
        if prompt is not None:
            cut = text.index("[S1]", 1)
            voice = VoicePrompt(transcript=text[: cut - 1], codes=np.array(prompt))
            text = text[cut:]
        out.append(GenerationRequest(text=text, seed=seed, sampling=sampling, voice=voice))
    return out


def gpu_math_engine(dtype: torch.dtype = torch.float32, batch_slots: int | None = None) -> DiaEngine:
    """The tiny engine running the code path of CUDA on the CPU: plain F.linear weights, one masked attention
    over padded keys for all rows, a fixed slot count."""
    cfg = DiaConfig.from_file(TINY_MODEL / "config.json")
    model = load_model(TINY_MODEL, cfg, torch.device("cpu"), dtype)
    engine = DiaEngine(model, cfg, None, torch.device("cpu"), str(TINY_MODEL), batch_slots=batch_slots,
                       pack_weights=False)
    engine.per_slot_attention = False
    return engine


def cpu_engine(kernel: str, dtype: torch.dtype = torch.float32, batch_slots: int | None = None) -> DiaEngine:
    """The tiny engine on the CPU path with its linear layers on `kernel`: "native" (our kernel, what the
    CPU runs where it builds) or "onednn" (the fallback)."""
    native = cpu_kernels.load()
    runs = native is not None and native.supports(dtype) if kernel == "native" else onednn_supports(dtype)
    if not runs:  # e.g. no AVX-512 for ours, no AVX512-BF16 for oneDNN's bf16: nothing to test on this CPU
        pytest.skip(f"the {kernel} kernel does not run {dtype} on this CPU")
    cfg = DiaConfig.from_file(TINY_MODEL / "config.json")
    model = load_model(TINY_MODEL, cfg, torch.device("cpu"), dtype)
    model.pack_for_cpu(rows_hint=8, allow_native=kernel == "native")
    engine = DiaEngine(model, cfg, None, torch.device("cpu"), str(TINY_MODEL), batch_slots=batch_slots,
                       pack_weights=False)
    assert engine.cpu_kernels == {kernel}, engine.cpu_kernels
    return engine
