"""Exact parity with the reference implementation on the tiny fixture model."""

import numpy as np
import pytest
import torch

from dia_engine import DiaEngine, GenerationRequest
from dia_engine.checkpoint import load_model
from dia_engine.config import DiaConfig
from dia_engine.decoding import decode_step, encode_text_pair, fill_cross_cache
from dia_engine.kv_cache import KVCache
from dia_engine import cpu_kernels
from dia_engine.text import encode_text

from conftest import TINY_MODEL, TINY_MODEL_HF
from engine_cases import CASES, case_requests, cpu_engine, gpu_math_engine


@pytest.fixture(scope="module", params=[TINY_MODEL, TINY_MODEL_HF], ids=["nari", "transformers"])
def engine(request):
    return DiaEngine.from_pretrained(str(request.param), device="cpu", dtype="float32", codec=None)


def test_cpu_engine_packs_its_weights_for_the_fastest_kernel(engine):
    # Our kernel where it builds and runs float32 (a C compiler and AVX-512), oneDNN otherwise.
    native = cpu_kernels.load()
    assert engine.cpu_kernels == ({"native"} if native and native.supports(torch.float32) else {"onednn"})
    assert engine.model.logits_dense.packed and engine.model.decoder.layers[0].mlp.down_proj.packed


@pytest.mark.parametrize("kernel", ["native", "onednn"])
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_greedy_codes_match_reference_exactly_with_either_cpu_kernel(kernel, case):
    if kernel == "native" and cpu_kernels.load() is None:
        pytest.skip("the native kernel does not build on this machine")
    results = cpu_engine(kernel).generate(case_requests(case))
    for result, expected in zip(results, case["expected_codes"]):
        assert np.array_equal(result.codes, np.array(expected))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_greedy_codes_match_reference_exactly_on_the_gpu_code_path(case):
    engine = gpu_math_engine()
    assert not engine.model.logits_dense.packed
    results = engine.generate(case_requests(case))
    for result, expected in zip(results, case["expected_codes"]):
        assert np.array_equal(result.codes, np.array(expected))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_greedy_codes_match_reference_exactly(engine, case):
    results = engine.generate(case_requests(case))
    for result, expected in zip(results, case["expected_codes"]):
        expected = np.array(expected)
        assert result.codes.shape == expected.shape
        assert np.array_equal(result.codes, expected)
        assert result.audio is None and result.sample_rate == 44100


def test_fixture_covers_both_end_rules():
    # One case ends on a natural EOS (shorter than the max-length rule allows), the others on the length cap.
    natural = [c for c in CASES for codes in c["expected_codes"]
               if len(codes) < c["params"]["max_tokens"] - 15 - 1 - (len(c["prompt_codes"][0] or []))]
    assert natural


def test_text_tokens_match_reference():
    expected = np.load(TINY_MODEL / "text_tokens.npy").reshape(-1)
    tokens = encode_text(CASES[0]["texts"][0])
    assert np.array_equal(tokens, expected[: len(tokens)])
    assert not expected[len(tokens):].any()


def test_encoder_output_matches_reference(engine):
    expected = np.load(TINY_MODEL / "encoder_out.npy")  # [2 (uncond, cond), 1024, hidden]
    tokens = torch.from_numpy(encode_text(CASES[0]["texts"][0]))
    with torch.inference_mode():
        enc = encode_text_pair(engine.model, tokens).numpy()
    np.testing.assert_allclose(enc, expected[:, : enc.shape[1]], atol=1e-4, rtol=0)


def test_first_decoder_step_logits_match_reference(engine):
    expected = np.load(TINY_MODEL / "first_step_logits.npy")  # [2 (uncond, cond), 9, 1028]
    cfg = engine.config
    tokens = torch.from_numpy(encode_text(CASES[0]["texts"][0]))
    with torch.inference_mode():
        cache = KVCache(cfg, 2, 256, 256, torch.device("cpu"), torch.float32)
        fill_cross_cache(engine.model, cache, 0, encode_text_pair(engine.model, tokens))
        bos = torch.full((1, 9), cfg.bos_token_id)
        logits = decode_step(engine.model, cache, bos, torch.zeros(1, dtype=torch.long), 256, 256)[0].numpy()
    np.testing.assert_allclose(logits, expected, atol=1e-4, rtol=0)


def test_both_layouts_load_identical_weights():
    cfg = DiaConfig.from_file(TINY_MODEL / "config.json")
    a = load_model(TINY_MODEL, cfg, torch.device("cpu"), torch.float32).state_dict()
    b = load_model(TINY_MODEL_HF, cfg, torch.device("cpu"), torch.float32).state_dict()
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_bfloat16_runs_and_keeps_norms_in_float32():
    engine = DiaEngine.from_pretrained(str(TINY_MODEL), device="cpu", dtype="bfloat16", codec=None)
    assert engine.dtype == "bfloat16"
    params = dict(engine.model.named_parameters())
    assert params["decoder.norm.weight"].dtype == torch.float32
    assert params["logits_dense.weight"].dtype == torch.bfloat16
    (result,) = engine.generate([GenerationRequest("[S1] Hello there.", seed=1)])
    assert result.codes.ndim == 2 and result.codes.shape[1] == 9
    assert result.codes.min() >= 0 and result.codes.max() <= 1023


@pytest.mark.skipif(not __import__("os").environ.get("DIA_SLOW_TESTS"),
                    reason="torch.compile takes minutes on a 2-core CPU; set DIA_SLOW_TESTS=1")
def test_compiled_decode_step_gives_the_same_codes():
    engine = DiaEngine.from_pretrained(str(TINY_MODEL), device="cpu", codec=None, compile=True)
    for case in CASES:
        for result, expected in zip(engine.generate(case_requests(case)), case["expected_codes"]):
            assert np.array_equal(result.codes, np.array(expected))
