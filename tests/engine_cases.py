"""Helpers to turn the reference fixture cases into engine requests."""

from __future__ import annotations

import json

import numpy as np

from dia_engine import GenerationRequest, SamplingParams, VoicePrompt

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
