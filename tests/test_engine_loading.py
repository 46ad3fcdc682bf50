"""Loading: both layouts, .pth, the hub cache path (offline), and clear errors for bad sources."""

import json
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from dia_engine import DiaEngine, GenerationRequest, ModelLoadError, SamplingParams

from conftest import TINY_DAC, TINY_MODEL, TINY_MODEL_HF

REQ = GenerationRequest("[S1] Hello there, how are you? [S2] Fine, thanks! (laughs)", seed=0,
                        sampling=SamplingParams(temperature=0, max_tokens=64))


def _codes(source, **kw):
    return DiaEngine.from_pretrained(str(source), device="cpu", codec=None, **kw).generate([REQ])[0].codes


@pytest.fixture(scope="module")
def reference_codes():
    return _codes(TINY_MODEL)


def _copy(src, tmp_path, name="model"):
    dst = tmp_path / name
    shutil.copytree(src, dst)
    return dst


def test_torch_saved_pth_in_nari_layout_loads(tmp_path, reference_codes):
    folder = tmp_path / "pth"
    folder.mkdir()
    shutil.copy(TINY_MODEL / "config.json", folder)
    torch.save(load_file(TINY_MODEL / "model.safetensors"), folder / "dia-v1.pth")
    assert np.array_equal(_codes(folder), reference_codes)


def test_single_file_transformers_layout_loads(tmp_path, reference_codes):
    folder = tmp_path / "hf-single"
    folder.mkdir()
    shutil.copy(TINY_MODEL_HF / "config.json", folder)
    tensors = {}
    for shard in sorted(TINY_MODEL_HF.glob("model-*.safetensors")):
        tensors.update(load_file(shard))
    save_file(tensors, folder / "model.safetensors")
    assert np.array_equal(_codes(folder), reference_codes)


def _populate_hub_cache(cache, repo_id, files_from):
    """Lay out a Hugging Face hub cache entry exactly as huggingface_hub does (blobs are plain files here)."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo_dir = cache / ("models--" + repo_id.replace("/", "--"))
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text(commit)
    shutil.copytree(files_from, repo_dir / "snapshots" / commit)


def test_hub_repo_loads_offline_from_the_cache(tmp_path, monkeypatch, reference_codes):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cache = tmp_path / "hub"
    _populate_hub_cache(cache, "nari-labs/Dia-tiny-test", TINY_MODEL_HF)
    engine = DiaEngine.from_pretrained("nari-labs/Dia-tiny-test", device="cpu", codec=None, cache_dir=str(cache))
    assert engine.model_id == "nari-labs/Dia-tiny-test"
    assert np.array_equal(engine.generate([REQ])[0].codes, reference_codes)


def test_hub_repo_offline_and_not_cached_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="not in the local cache"):
        DiaEngine.from_pretrained("nari-labs/Dia-1.6B-0626", device="cpu", codec=None, cache_dir=str(tmp_path))


def test_missing_folder_fails_clearly(tmp_path):
    with pytest.raises(ModelLoadError, match="model folder not found"):
        DiaEngine.from_pretrained(str(tmp_path / "nope" / "deeper"), codec=None)


def test_missing_config_fails_clearly(tmp_path):
    folder = _copy(TINY_MODEL, tmp_path)
    (folder / "config.json").unlink()
    with pytest.raises(ModelLoadError, match="no config.json"):
        DiaEngine.from_pretrained(str(folder), codec=None)


def test_missing_weights_fail_clearly(tmp_path):
    folder = _copy(TINY_MODEL, tmp_path)
    (folder / "model.safetensors").unlink()
    with pytest.raises(ModelLoadError, match="no model weights"):
        DiaEngine.from_pretrained(str(folder), codec=None)


@pytest.mark.parametrize("edit, message", [
    (lambda c: c["decoder_config"].pop("num_hidden_layers"), "missing field 'num_hidden_layers'"),
    (lambda c: c["encoder_config"].update(hidden_size=-3), "'hidden_size' must be a positive integer"),
    (lambda c: c["decoder_config"].pop("rope_theta"), "rope_theta"),
    (lambda c: c.update(delay_pattern=[0, 8]), "delay_pattern"),
    (lambda c: c.pop("encoder_config"), "missing field 'encoder_config'"),
])
def test_invalid_config_fails_naming_the_field(tmp_path, edit, message):
    folder = _copy(TINY_MODEL, tmp_path)
    cfg = json.loads((folder / "config.json").read_text())
    edit(cfg)
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match=message):
        DiaEngine.from_pretrained(str(folder), codec=None)


def test_unparseable_config_fails_clearly(tmp_path):
    folder = _copy(TINY_MODEL, tmp_path)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="cannot read config"):
        DiaEngine.from_pretrained(str(folder), codec=None)


def test_transformers_rope_parameters_flavour_is_read(tmp_path, reference_codes):
    folder = _copy(TINY_MODEL, tmp_path)
    cfg = json.loads((folder / "config.json").read_text())
    for part in ("encoder_config", "decoder_config"):
        cfg[part]["rope_parameters"] = {"rope_theta": cfg[part].pop("rope_theta"), "rope_type": "default"}
    (folder / "config.json").write_text(json.dumps(cfg))
    assert np.array_equal(_codes(folder), reference_codes)


def _edit_weights(folder, edit):
    tensors = load_file(folder / "model.safetensors")
    edit(tensors)
    save_file(tensors, folder / "model.safetensors")


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.update({"decoder.layers.0.mlp.wo.weight": torch.zeros(3, 3)}),
     r"'decoder.layers.0.mlp.down_proj.weight' has shape \[3, 3\]"),
    (lambda t: t.pop("encoder.norm.weight"), "'encoder.norm.weight'"),
    (lambda t: t.update({"decoder.extra.weight": torch.zeros(2)}), "unexpected tensor 'decoder.extra.weight'"),
    (lambda t: t.pop("decoder.embeddings.4.weight"), "decoder.embeddings.4.weight"),
])
def test_wrong_tensors_fail_naming_the_tensor(tmp_path, edit, message):
    folder = _copy(TINY_MODEL, tmp_path)
    _edit_weights(folder, edit)
    with pytest.raises(ModelLoadError, match=message):
        DiaEngine.from_pretrained(str(folder), codec=None)


def test_truncated_weights_fail_clearly(tmp_path):
    folder = _copy(TINY_MODEL, tmp_path)
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelLoadError, match="cannot read weights"):
        DiaEngine.from_pretrained(str(folder), codec=None)


def test_missing_shard_fails_clearly(tmp_path):
    folder = _copy(TINY_MODEL_HF, tmp_path)
    (folder / "model-00002-of-00002.safetensors").unlink()
    with pytest.raises(ModelLoadError, match="missing weight shard"):
        DiaEngine.from_pretrained(str(folder), codec=None)


def test_codec_errors_are_clear(tmp_path):
    with pytest.raises(ModelLoadError, match="codec weights not found"):
        DiaEngine.from_pretrained(str(TINY_MODEL), codec=str(tmp_path / "missing.pth"))
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"garbage")
    with pytest.raises(ModelLoadError, match="cannot load codec weights"):
        DiaEngine.from_pretrained(str(TINY_MODEL), codec=str(bad))


def test_bad_device_and_dtype_fail_clearly():
    with pytest.raises(ModelLoadError, match="unknown dtype"):
        DiaEngine.from_pretrained(str(TINY_MODEL), dtype="int8", codec=None)
    with pytest.raises(ModelLoadError, match="unknown device"):
        DiaEngine.from_pretrained(str(TINY_MODEL), device="tpu", codec=None)
    if not torch.cuda.is_available():
        with pytest.raises(ModelLoadError, match="no CUDA GPU"):
            DiaEngine.from_pretrained(str(TINY_MODEL), device="cuda", codec=None)


def test_defaults_on_cpu_are_float32_with_codec(tiny_engine):
    assert tiny_engine.device == "cpu" and tiny_engine.dtype == "float32"
    assert tiny_engine.has_codec and tiny_engine.sample_rate == 44100 and tiny_engine.max_text_bytes == 1024
    assert str(TINY_DAC).endswith("weights.pth")
