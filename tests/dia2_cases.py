"""The dia2-tiny fixture's cases as public-API requests (shared by the Dia2 tests)."""

from __future__ import annotations

import json
from pathlib import Path

from dia_engine import GenerationRequest, SamplingParams, VoicePrompt

DIA2_TINY = Path(__file__).parent / "data" / "dia2-tiny"
CASES = json.loads((DIA2_TINY / "cases.json").read_text())
PREFIX_WORDS = json.loads((DIA2_TINY / "prefix_words.json").read_text())


def sampling(case: dict) -> SamplingParams:
    p = case["params"]
    return SamplingParams(cfg_scale=p["cfg_scale"], cfg_filter_top_k=p["cfg_filter_k"], temperature=p["temperature"],
                          top_k=p["top_k"], text_temperature=p["text_temperature"], text_top_k=p["text_top_k"],
                          initial_padding=p["initial_padding"])


def clip_prompt(engine, name: str):
    words = [(w["text"], w["start"], w["end"]) for w in PREFIX_WORDS[name]]
    transcript = " ".join(w[0] for w in words)
    return engine.encode_voice(DIA2_TINY / name, transcript, words=words)


def request(engine, case: dict, seed: int = 0) -> GenerationRequest:
    voice = None
    prefix = case["prefix"]
    if prefix is not None:
        clips = [clip_prompt(engine, prefix["speaker_1"]).clips[0]]
        if prefix["speaker_2"]:
            clips.append(clip_prompt(engine, prefix["speaker_2"]).clips[0])
        voice = VoicePrompt.from_clips(*clips, keep_audio=prefix["include_audio"])
    return GenerationRequest(case["script"], seed=seed, sampling=sampling(case), voice=voice)
