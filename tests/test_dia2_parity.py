"""Dia2 parity with the reference: every dia2-tiny case exact (codes and word times), alone and batched."""

import numpy as np
import pytest
import torch

from dia_engine.dia2.prefix import plan_prefix
from dia_engine.dia2.script import parse_script

from dia2_cases import CASES, DIA2_TINY, clip_prompt, request

NAMES = [c["name"] for c in CASES["cases"]]


def _check(case, result):
    expected = np.array(case["expected_codes"])
    assert result.codes.shape == expected.shape
    assert np.array_equal(result.codes, expected)
    assert [w for w, _ in result.words] == [w for w, _ in case["expected_timestamps"]]
    assert np.allclose([t for _, t in result.words], [t for _, t in case["expected_timestamps"]], atol=1e-6, rtol=0)


@pytest.mark.parametrize("name", NAMES)
def test_case_alone_is_exact(dia2_engine, name):
    case = CASES["cases"][NAMES.index(name)]
    result = dia2_engine.generate([request(dia2_engine, case)])[0]
    _check(case, result)
    assert result.sample_rate == 24000 and result.frames_per_second == 12.5
    assert len(result.audio) == len(result.codes) * 1920 and np.abs(result.audio).max() <= 1.0


def test_all_cases_in_one_batch_are_exact(dia2_engine):
    order = list(reversed(CASES["cases"]))  # another order and other neighbours than alone
    seen = []
    results = dia2_engine.generate([request(dia2_engine, c) for c in order], on_result=lambda i, r: seen.append(i))
    for case, result in zip(order, results):
        _check(case, result)
    assert sorted(seen) == list(range(len(order)))


def test_script_entries_and_prefix_plans_match_the_reference(dia2_engine):
    for case in CASES["cases"]:
        entries = parse_script(case["script"], dia2_engine.tokenizer, 12.5)
        assert [[e.text, list(e.tokens), e.padding] for e in entries] == case["script_entries"], case["name"]
        if case["prefix"] is not None:
            plan = plan_prefix(request(dia2_engine, case).voice, dia2_engine.tokenizer, 12.5)
            expected = case["prefix_plan"]
            assert [[e.text, list(e.tokens), e.padding] for e in plan.entries] == expected["entries"]
            assert sorted(plan.new_word_steps) == sorted(expected["new_word_steps"])
            assert plan.frames == expected["aligned_frames"]


def test_mimi_encoding_and_decoding_match_the_reference(dia2_engine):
    for name, clip in CASES["prefix_clips"].items():
        assert np.array_equal(clip_prompt(dia2_engine, name).clips[0].codes, np.array(clip["codes"]))
    codes = np.array(CASES["cases"][0]["expected_codes"])
    expected = np.load(DIA2_TINY / "mimi_decode_case0.npy")
    assert np.abs(dia2_engine.decode(codes) - expected).max() < 1e-5


def test_first_step_logits_match_the_reference(dia2_engine):
    model = dia2_engine.model
    tokens = torch.from_numpy(np.load(DIA2_TINY / "first_step_tokens.npy"))
    zero = torch.zeros(2, dtype=torch.long)
    with torch.inference_mode():
        out = model.decoder_step(tokens, zero, zero, model.new_cache(2, 4, torch.device("cpu")), key_lengths=[1])
        assert np.abs(out.action.numpy() - np.load(DIA2_TINY / "first_step_action_logits.npy")).max() < 1e-4
        assert np.abs(out.cb0.numpy() - np.load(DIA2_TINY / "first_step_cb0_logits.npy")).max() < 1e-4
        dep = np.load(DIA2_TINY / "first_step_dep_logits.npy")
        trace = CASES["cases"][0]["trace"][0]
        text = torch.full((2,), trace[3]), torch.full((2,), trace[4])
        cache = model.depformer.new_cache(2, torch.device("cpu"), torch.float32)
        for stage, code in enumerate(CASES["first_step"]["sampled_codes"][:3]):
            logits = model.depformer.stage(stage, out.hidden, torch.full((2,), code), cache, *text)
            assert np.abs(logits.numpy() - dep[stage]).max() < 1e-4


def test_bos_codes_are_kept_and_decoded_as_silence(dia2_engine):
    case = CASES["cases"][NAMES.index("starts_with_s2")]
    codes = np.array(case["expected_codes"])
    assert (codes[:, 0] == 64).sum() == 2  # the reference's quirk, kept
    audio = dia2_engine.decode(codes)
    frame = int(np.flatnonzero(codes[:, 0] == 64)[0])
    assert not audio[frame * 1920:(frame + 1) * 1920].any() and np.abs(audio).max() > 0


def test_static_graph_path_gives_the_eager_codes(one_thread):
    """compile=True: fixed slots, masked full-length cache and static step buffers (the CUDA-graph path,
    run here without the capture) give every case's exact codes, alone and batched."""
    from dia_engine import DiaEngine

    engine = DiaEngine.from_pretrained(str(DIA2_TINY), device="cpu", dtype="float32", codec=str(DIA2_TINY / "mimi"),
                                       compile=True, batch_slots=2)
    assert not engine.per_slot_attention
    cases = [CASES["cases"][NAMES.index(n)] for n in ("prefix_s1_s2", "starts_with_s2")]
    _check(cases[0], engine.generate([request(engine, cases[0])])[0])
    for case, result in zip(cases, engine.generate([request(engine, c) for c in cases])):
        _check(case, result)
