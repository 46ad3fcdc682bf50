"""Loading Dia2 strictly: named errors for missing/misshapen/unexpected tensors, bad config fields, missing
tokenizer files; the hub path offline from a cache; the Mimi codec choices."""

import json
import shutil

import numpy as np
import pytest
from safetensors.torch import load_file, save_file

from dia_engine import DiaEngine, GenerationRequest, ModelLoadError, SamplingParams

from conftest import DIA2_TINY

REQ = GenerationRequest("[S1] Hello there.", seed=0, sampling=SamplingParams(temperature=0, text_temperature=0))
FILES = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
         "vocab.json", "merges.txt", "added_tokens.json"]


def _copy(tmp_path, name="dia2"):
    folder = tmp_path / name
    folder.mkdir(parents=True)
    for f in FILES:
        shutil.copy(DIA2_TINY / f, folder / f)
    return folder


def _load(folder, **kw):
    return DiaEngine.from_pretrained(str(folder), device="cpu", dtype="float32", codec=kw.pop("codec", None), **kw)


@pytest.fixture(scope="module")
def reference_codes(one_thread):
    return _load(DIA2_TINY).generate([REQ])[0].codes


def _edit_weights(folder, edit):
    tensors = load_file(folder / "model.safetensors")
    edit(tensors)
    save_file(tensors, folder / "model.safetensors")


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.pop("depformer.logits.2.weight"), "tensor 'depformer.logits.2.weight' missing"),
    (lambda t: t.__setitem__("transformer.cb0_head.weight", t["transformer.cb0_head.weight"][:10]),
     r"'transformer.cb0_head.weight' has shape \[10, 32\], the config needs \[66, 32\]"),
    (lambda t: t.__setitem__("transformer.extra.weight", t["transformer.norm.weight"].clone()),
     "unexpected tensor 'transformer.extra.weight'"),
])
def test_wrong_tensors_fail_naming_the_tensor(tmp_path, edit, message):
    folder = _copy(tmp_path)
    _edit_weights(folder, edit)
    with pytest.raises(ModelLoadError, match=message):
        _load(folder)


@pytest.mark.parametrize("edit, message", [
    (lambda c: c["model"]["decoder"].__setitem__("n_layer", "two"), r"'model.decoder.n_layer'.*'two'"),
    (lambda c: c["data"].__setitem__("delay_pattern", [1, 2]), r"'data.delay_pattern': 2 delays for 4 codebooks"),
    (lambda c: c["runtime"].__setitem__("weights_schedule", [0, 1]), "'runtime.weights_schedule'"),
    (lambda c: c["model"]["decoder"].__setitem__("kv_heads", 3), "'model.decoder.kv_heads'"),
    (lambda c: c["data"].__setitem__("text_pad_token_id", 9999), "'data.text_pad_token_id'.*outside"),
    (lambda c: c["model"].pop("depformer"), "'model.depformer' is missing"),
])
def test_bad_config_fields_are_named(tmp_path, edit, message):
    folder = _copy(tmp_path)
    cfg = json.loads((folder / "config.json").read_text())
    edit(cfg)
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match=message):
        _load(folder)


def test_missing_tokenizer_file_fails_clearly(tmp_path):
    folder = _copy(tmp_path)
    (folder / "tokenizer.json").unlink()
    with pytest.raises(ModelLoadError, match="tokenizer file missing: .*tokenizer.json"):
        _load(folder)


def test_missing_weights_and_float16_fail_clearly(tmp_path):
    folder = _copy(tmp_path)
    with pytest.raises(ModelLoadError, match="float32 or bfloat16"):
        DiaEngine.from_pretrained(str(folder), device="cpu", dtype="float16", codec=None)
    (folder / "model.safetensors").unlink()
    with pytest.raises(ModelLoadError, match="no Dia2 weights"):
        _load(folder)


def test_hub_repo_loads_offline_from_the_cache(tmp_path, monkeypatch, reference_codes):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--nari-labs--Dia2-tiny-test"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    _copy(repo / "snapshots", commit)
    engine = DiaEngine.from_pretrained("nari-labs/Dia2-tiny-test", device="cpu", codec=None,
                                       cache_dir=str(tmp_path / "hub"))
    assert engine.info.family == "dia2" and engine.model_id == "nari-labs/Dia2-tiny-test"
    assert np.array_equal(engine.generate([REQ])[0].codes, reference_codes)


def test_codec_choices(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    with pytest.raises(ModelLoadError, match="Mimi codec 'kyutai/mimi' .*not in the local cache"):
        DiaEngine.from_pretrained(str(DIA2_TINY), device="cpu", codec="auto", cache_dir=str(tmp_path / "hub"))
    with pytest.raises(ModelLoadError, match="no Mimi codec in"):
        DiaEngine.from_pretrained(str(DIA2_TINY), device="cpu", codec=str(tmp_path))
    engine = _load(DIA2_TINY, codec=None)
    assert not engine.has_codec and engine.generate([REQ])[0].audio is None
