"""The engine's description of the loaded model, family detection and per-family sampling defaults."""

import json

import pytest

from dia_engine import DIA_DEFAULT_SAMPLING, DiaEngine, ModelLoadError, SamplingParams
from dia_engine.family import DIA2, DIA_0626, DIA_V01, detect_family

from conftest import TINY_MODEL


@pytest.fixture(scope="module")
def engine():
    return DiaEngine.from_pretrained(str(TINY_MODEL), device="cpu", dtype="float32", codec=None)


def test_info_describes_the_loaded_dia_model(engine):
    info = engine.info
    cfg = json.loads((TINY_MODEL / "config.json").read_text())
    assert (info.family, info.variant, info.text_unit) == ("dia", "0626", "bytes")
    assert info.sample_rate == 44100 and info.frames_per_second == pytest.approx(44100 / 512)
    assert info.max_frames == cfg["decoder_config"]["max_position_embeddings"]
    assert info.text_limit == cfg["encoder_config"]["max_position_embeddings"]
    assert info.codebooks == 9 and not info.word_timestamps
    assert info.measure_text("[S1] héllo") == len("\x01 héllo".encode())
    assert info.default_sampling == DIA_DEFAULT_SAMPLING


def test_none_fields_take_the_family_defaults_and_foreign_ones_are_refused(engine):
    resolved = engine.info.resolve_sampling(SamplingParams(temperature=0))
    assert resolved.temperature == 0 and resolved.cfg_scale == 3.0 and resolved.top_p == 0.95
    assert resolved.cfg_filter_top_k == 45 and resolved.text_temperature is None
    with pytest.raises(ValueError, match="Dia 1.6B has no sampling parameter text_temperature"):
        engine.info.resolve_sampling(SamplingParams(text_temperature=0.5))
    with pytest.raises(ValueError, match="request 0: .*top_k"):
        engine.validate([__import__("dia_engine").GenerationRequest("[S1] Hi.", sampling=SamplingParams(top_k=5))])


@pytest.mark.parametrize("raw, family", [
    ({"encoder_config": {}, "decoder_config": {}}, DIA_0626),
    ({"version": "0.1", "model": {"encoder": {}, "decoder": {}}, "data": {}}, DIA_V01),
    ({"data": {}, "model": {"decoder": {}, "depformer": {}}, "runtime": {}}, DIA2),
])
def test_family_is_read_from_the_config_blocks(raw, family):
    assert detect_family(raw) == family


def test_an_unknown_config_is_refused_with_what_was_expected():
    with pytest.raises(ModelLoadError, match="not a Dia config"):
        detect_family({"architectures": ["LlamaForCausalLM"]})
