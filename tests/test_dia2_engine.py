"""Dia2 through the public API: info, validation, seeds and batching, prefixes, cancellation, OOM halving."""

import numpy as np
import pytest
import torch

from dia_engine import GenerationOutOfMemory, GenerationRequest, SamplingParams, VoicePrompt, combine_voices
from dia_engine.dia2.prefix import approximate_words
from dia_engine.dia2.script import words_to_entries
from dia_engine.types import VoiceClip

from dia2_cases import DIA2_TINY, clip_prompt

SAMPLED = SamplingParams(temperature=0.8, text_temperature=0.6, cfg_scale=2.0)
LINE = "[S1] Hi there. [S2] Yes."


def test_info_describes_dia2(dia2_engine):
    info = dia2_engine.info
    assert (info.family, info.variant, info.text_unit, info.family_name) == ("dia2", "custom", "tokens", "Dia2")
    assert (info.sample_rate, info.frames_per_second, info.max_frames, info.text_limit) == (24000, 12.5, 128, 128)
    assert info.codebooks == 4 and info.word_timestamps
    assert info.sampling_fields == ("cfg_scale", "temperature", "top_k", "text_temperature", "text_top_k",
                                    "cfg_filter_top_k")
    assert all(getattr(info.default_sampling, f) is not None for f in info.sampling_fields)
    assert info.measure_text("[S1] Hello") == 4  # [S1] + " Hello" (3 tokens)
    assert dia2_engine.sample_rate == 24000 and dia2_engine.has_codec and dia2_engine.dtype == "float32"
    assert dia2_engine.device == "cpu" and dia2_engine.batch_slots == 8


def test_foreign_and_bad_requests_are_refused_clearly(dia2_engine):
    with pytest.raises(ValueError, match="Dia2 has no sampling parameter top_p"):
        dia2_engine.validate([GenerationRequest(LINE, sampling=SamplingParams(top_p=0.9))])
    with pytest.raises(ValueError, match="request 0: the text is empty"):
        dia2_engine.validate([GenerationRequest("  ")])
    long_text = "[S1] " + " ".join(["wonderful"] * 80)
    with pytest.raises(ValueError, match=r"the text is \d+ tokens .* context holds 128 steps"):
        dia2_engine.validate([GenerationRequest(long_text)])
    with pytest.raises(ValueError, match="max_tokens 500 is past the model's max_context_steps 128"):
        dia2_engine.validate([GenerationRequest(LINE, sampling=SamplingParams(max_tokens=500))])
    clip = VoiceClip("Hello my friend.", np.zeros((126, 4), dtype=np.int64))
    with pytest.raises(ValueError, match=r"voice prompt \(126 frames\) leaves no room .* 128 steps"):
        dia2_engine.validate([GenerationRequest(LINE, voice=VoicePrompt.from_clips(clip))])
    dac = VoicePrompt("Hi.", codes=np.zeros((5, 9), dtype=np.int64))
    with pytest.raises(ValueError, match="Dia 1.6B .DAC. codes"):
        dia2_engine.validate([GenerationRequest(LINE, voice=dac)])


def test_dia_1_6b_refuses_dia2_only_inputs(tiny_engine_codes_only):
    clip = VoicePrompt.from_clips(VoiceClip("Hi.", np.zeros((5, 4), dtype=np.int64)))
    with pytest.raises(ValueError, match="Dia2 .Mimi. clips"):
        tiny_engine_codes_only.validate([GenerationRequest(LINE, voice=clip)])
    with pytest.raises(ValueError, match="initial_padding"):
        tiny_engine_codes_only.validate([GenerationRequest(LINE, sampling=SamplingParams(initial_padding=3))])


def _take(engine, seed, text=LINE, others=()):
    requests = [GenerationRequest(text, seed=seed, sampling=SAMPLED)] + list(others)
    return engine.generate(requests)[0]


def test_seeds_reproduce_takes_alone_and_in_any_company(dia2_engine):
    first = _take(dia2_engine, 7)
    again = _take(dia2_engine, 7)
    other = _take(dia2_engine, 8)
    assert first.seed == 7 and np.array_equal(first.codes, again.codes) and first.words == again.words
    assert not (first.codes.shape == other.codes.shape and np.array_equal(first.codes, other.codes))
    company = [GenerationRequest("[S2] Something else, longer.", seed=3, sampling=SAMPLED),
               GenerationRequest("[S1] Greedy.", seed=1, sampling=SamplingParams(temperature=0, text_temperature=0))]
    mixed = _take(dia2_engine, 7, others=company)
    assert np.array_equal(mixed.codes, first.codes) and mixed.words == first.words


def test_unseeded_requests_report_their_seed(dia2_engine):
    result = dia2_engine.generate([GenerationRequest("[S1] Hi.", sampling=SAMPLED)])[0]
    assert np.array_equal(_take(dia2_engine, result.seed, "[S1] Hi.").codes, result.codes)


def test_prefix_without_timings_gets_approximate_ones(dia2_engine):
    voice = dia2_engine.encode_voice(DIA2_TINY / "prefix_s1.wav", "Hello my friend.")
    clip = voice.clips[0]
    assert clip.approximate and [w for w, _, _ in clip.words] == ["Hello", "my", "friend."]
    assert 0 < clip.words[0][1] < clip.words[1][1] < clip.words[2][1] <= clip.num_frames / 12.5
    # Spaced so the state machine can consume every word at its planned step during the warm-up.
    entries, steps = words_to_entries(clip.words, dia2_engine.tokenizer, "[S1]", 12.5)
    for (word, start, _), step in zip(clip.words, steps):
        assert step == round(start * 12.5) - 1
    result = dia2_engine.generate([GenerationRequest("[S1] And now some new words.", seed=0,
                                                     sampling=SamplingParams(temperature=0, text_temperature=0),
                                                     voice=voice)])[0]
    assert [w for w, _ in result.words] == ["And", "now", "some", "new", "words."]
    # The cached clip codes are reused for the same audio content.
    assert np.array_equal(dia2_engine.encode_voice(DIA2_TINY / "prefix_s1.wav", "Hi").clips[0].codes, clip.codes)


def test_approximate_words_keep_the_minimum_spacing(dia2_engine):
    words = approximate_words("Supercalifragilistic is a very long word indeed", 1.0, dia2_engine.tokenizer, 12.5)
    for (w1, s1, _), (_, s2, _) in zip(words, words[1:]):
        tokens = len(dia2_engine.tokenizer.encode(w1)) + (1 if w1 == words[0][0] else 0)
        assert s2 - s1 >= tokens / 12.5


def test_two_speaker_prompts_combine(dia2_engine):
    s1, s2 = clip_prompt(dia2_engine, "prefix_s1.wav"), clip_prompt(dia2_engine, "prefix_s2.wav")
    both = combine_voices(s1, s2)
    assert len(both.clips) == 2 and both.num_frames == 44 and both.transcript == "Hello my friend. Yes, of course."
    with pytest.raises(ValueError, match="one or two clips"):
        VoicePrompt.from_clips(*both.clips, s1.clips[0])


def test_should_stop_cancels_between_steps(dia2_engine):
    steps = []
    results = dia2_engine.generate([GenerationRequest(LINE, seed=0, sampling=SAMPLED)] * 2,
                                   on_progress=lambda p: steps.append(p), should_stop=lambda: len(steps) >= 6)
    assert results == [None, None] and len(steps) == 6


def test_progress_counts_up_and_finishes(dia2_engine):
    seen = []
    result = dia2_engine.generate([GenerationRequest("[S1] Hi.", seed=0, sampling=SAMPLED)], on_progress=seen.append)[0]
    assert [p.step for p in seen] == list(range(1, len(seen) + 1)) and seen[-1].finished
    assert all(p.step <= p.total for p in seen) and result is not None


def test_out_of_memory_halves_the_slots_and_keeps_every_line(dia2_engine, monkeypatch):
    requests = [GenerationRequest(LINE, seed=s, sampling=SAMPLED) for s in (1, 2, 3)]
    alone = [dia2_engine.generate([r])[0].codes for r in requests]
    model, real = dia2_engine.model, dia2_engine.model.decoder_step
    rows_seen = []

    def step(tokens, *args, **kwargs):  # fault injection: more than one slot does not fit
        rows_seen.append(tokens.shape[0])
        if tokens.shape[0] > 2:
            raise torch.OutOfMemoryError("injected")
        return real(tokens, *args, **kwargs)

    monkeypatch.setattr(model, "decoder_step", step)
    results = dia2_engine.generate(requests)
    assert max(rows_seen) == 6 and rows_seen[-1] == 2
    assert all(np.array_equal(r.codes, a) for r, a in zip(results, alone))

    def never(*args, **kwargs):
        raise torch.OutOfMemoryError("injected")

    monkeypatch.setattr(model, "decoder_step", never)
    with pytest.raises(GenerationOutOfMemory, match="even for one line"):
        dia2_engine.generate(requests[:1])
