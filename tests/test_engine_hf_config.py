"""A Dia checkpoint saved by the installed transformers (5.x writes the top-level token ids as null) loads."""

import json
import shutil

import numpy as np
import pytest

from dia_engine import DiaEngine, GenerationRequest, ModelLoadError, SamplingParams
from dia_engine.config import DiaConfig

from conftest import TINY_MODEL_HF

transformers = pytest.importorskip("transformers")

REQ = GenerationRequest("[S1] Hello there. [S2] Hi! (laughs)", seed=0, sampling=SamplingParams(temperature=0, max_tokens=48))


@pytest.fixture(scope="module")
def saved_by_transformers(tmp_path_factory):
    """The tiny checkpoint's architecture as a fine-tuning script builds it today (`transformers.DiaConfig` from the
    sub-configs), saved by `save_pretrained`, beside the tiny weights."""
    folder = tmp_path_factory.mktemp("hf-saved")
    raw = json.loads((TINY_MODEL_HF / "config.json").read_text())
    config = transformers.DiaConfig(encoder_config=raw["encoder_config"], decoder_config=raw["decoder_config"],
                                    delay_pattern=raw["delay_pattern"])
    config.save_pretrained(str(folder))
    for shard in TINY_MODEL_HF.glob("model*.safetensors*"):
        shutil.copy(shard, folder)
    return folder


def test_transformers_writes_null_top_level_token_ids(saved_by_transformers):
    raw = json.loads((saved_by_transformers / "config.json").read_text())
    assert raw["transformers_version"] == transformers.__version__
    # What makes this test meaningful: if a future transformers writes them again, the fallback is untested here.
    if all(raw.get(k) is not None for k in ("bos_token_id", "eos_token_id", "pad_token_id")):
        pytest.skip(f"transformers {transformers.__version__} writes the top-level token ids")
    assert raw["decoder_config"]["eos_token_id"] == 1024


def test_null_top_level_token_ids_fall_back_to_the_decoder_config(saved_by_transformers):
    cfg = DiaConfig.from_file(saved_by_transformers / "config.json")
    assert (cfg.bos_token_id, cfg.eos_token_id, cfg.pad_token_id) == (1026, 1024, 1025)
    assert cfg == DiaConfig.from_file(TINY_MODEL_HF / "config.json")


def test_a_transformers_saved_checkpoint_generates_the_reference_codes(saved_by_transformers, tiny_engine_codes_only):
    codes = DiaEngine.from_pretrained(str(saved_by_transformers), device="cpu", codec=None).generate([REQ])[0].codes
    assert np.array_equal(codes, tiny_engine_codes_only.generate([REQ])[0].codes)


def test_a_token_id_missing_everywhere_is_still_an_error():
    raw = json.loads((TINY_MODEL_HF / "config.json").read_text())
    raw["eos_token_id"] = None
    del raw["decoder_config"]["eos_token_id"]
    with pytest.raises(ModelLoadError, match="missing field 'eos_token_id'"):
        DiaConfig.from_dict(raw)


def test_the_top_level_id_wins_when_both_are_given():
    raw = json.loads((TINY_MODEL_HF / "config.json").read_text())
    raw["decoder_config"]["pad_token_id"] = 7
    assert DiaConfig.from_dict(raw).pad_token_id == 1025
