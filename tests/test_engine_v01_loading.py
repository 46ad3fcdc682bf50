"""Dia v0.1 (`nari-labs/Dia-1.6B`) loading: the v0.1 config schema, both weight files, the hub, strict errors,
and what `engine.info` reports."""

import argparse
import fnmatch
import json
import shutil

import pytest
import torch
from safetensors.torch import save_file

from dia_engine import DIA_DEFAULT_SAMPLING, DiaEngine, GenerationRequest, ModelLoadError, SamplingParams, VoicePrompt
from dia_engine.config import DiaConfig
from dia_engine.family import DIA2, detect_family

from conftest import DATA

V01 = DATA / "dia-v01-tiny"
PTH = "dia-v0_1.pth"


def _load(folder, **kw) -> DiaEngine:
    return DiaEngine.from_pretrained(str(folder), device="cpu", dtype="float32", codec=None, **kw)


@pytest.fixture(scope="module")
def engine():
    return _load(V01)


@pytest.fixture(scope="module")
def reference_state():
    from dia_engine.checkpoint import load_model

    cfg = DiaConfig.from_file(V01 / "config.json")
    return load_model(V01, cfg, torch.device("cpu"), torch.float32).state_dict()


def _copy(tmp_path, name="model"):
    dst = tmp_path / name
    shutil.copytree(V01, dst)
    return dst


def _same_state(folder, reference_state):
    from dia_engine.checkpoint import load_model

    cfg = DiaConfig.from_file(folder / "config.json")
    state = load_model(folder, cfg, torch.device("cpu"), torch.float32).state_dict()
    return state.keys() == reference_state.keys() and all(torch.equal(state[k], reference_state[k]) for k in state)


# ------------------------------------------------------------------------------------------------- config
def test_v01_config_maps_onto_the_model_with_lengths_rounded_up_to_128():
    cfg = DiaConfig.from_file(V01 / "config.json")
    assert cfg.variant == "v0.1"
    assert cfg.encoder.text_length == 256 and cfg.decoder.audio_length == 128  # written 200 and 100
    assert (cfg.encoder.hidden_size, cfg.encoder.num_heads, cfg.encoder.num_kv_heads, cfg.encoder.head_dim) == (32, 4, 4, 8)
    dec = cfg.decoder
    assert (dec.hidden_size, dec.num_heads, dec.num_kv_heads, dec.head_dim) == (16, 4, 2, 16)
    assert (dec.cross_num_heads, dec.cross_head_dim, dec.cross_attention_rope) == (4, 8, True)
    assert (cfg.bos_token_id, cfg.eos_token_id, cfg.pad_token_id) == (1026, 1024, 1025)
    assert cfg.delay_pattern == (0, 8, 9, 10, 11, 12, 13, 14, 15)
    raw = json.loads((V01 / "config.json").read_text())
    for written, rounded in ((1024, 1024), (3072, 3072), (1, 128), (129, 256)):
        raw["data"]["text_length"] = raw["data"]["audio_length"] = written
        cfg = DiaConfig.from_dict(raw)
        assert cfg.encoder.text_length == cfg.decoder.audio_length == rounded
    # 0626 configs keep their own reading: no rounding, no cross-attention RoPE.
    cfg_0626 = DiaConfig.from_file(DATA / "dia-tiny" / "config.json")
    assert cfg_0626.variant == "0626" and not cfg_0626.decoder.cross_attention_rope


def test_a_dia2_config_is_not_read_as_a_dia_1_6b_one():
    raw = {"data": {"text_pad_token_id": 0}, "model": {"decoder": {}, "depformer": {}}, "runtime": {}}
    assert detect_family(raw) == DIA2
    with pytest.raises(ModelLoadError, match="Dia2 config") as err:
        DiaConfig.from_dict(raw)
    assert "v0.1" not in str(err.value)


@pytest.mark.parametrize("edit, message", [
    (lambda c: c["model"]["encoder"].pop("n_embd"), "model: encoder: missing field 'n_embd'"),
    (lambda c: c["model"]["decoder"].update(kv_heads=3), "'gqa_query_heads' must be a multiple of 'kv_heads'"),
    (lambda c: c["model"]["decoder"].update(cross_head_dim=7), "'cross_head_dim' must be even"),
    (lambda c: c["data"].update(audio_length=0), "data: 'audio_length' must be a positive integer"),
    (lambda c: c["data"].update(delay_pattern=[0, 8]), "'delay_pattern' has 2 entries but 'channels' is 9"),
    (lambda c: c["model"].update(tgt_vocab_size=1000), "'audio_bos_value' must be below 'tgt_vocab_size' 1000"),
    (lambda c: c["data"].update(text_pad_value=5), "'text_pad_value' must be 0"),
    (lambda c: c["model"].update(normalization_layer_epsilon="tiny"), "'normalization_layer_epsilon'"),
    (lambda c: c["model"].pop("src_vocab_size"), "missing field 'src_vocab_size'"),
])
def test_invalid_v01_config_fails_naming_the_field(tmp_path, edit, message):
    folder = _copy(tmp_path)
    cfg = json.loads((folder / "config.json").read_text())
    edit(cfg)
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelLoadError, match=message):
        _load(folder)


# ------------------------------------------------------------------------------------------------ weights
def test_model_safetensors_beside_the_config_loads_the_same_weights(tmp_path, reference_state):
    folder = tmp_path / "safetensors"
    folder.mkdir()
    shutil.copy(V01 / "config.json", folder)
    save_file(torch.load(V01 / PTH, weights_only=True), folder / "model.safetensors")
    assert _same_state(folder, reference_state)


def test_a_pth_that_is_not_plain_tensors_is_refused(tmp_path):
    folder = _copy(tmp_path)
    state = torch.load(V01 / PTH, weights_only=True)
    state["extra"] = argparse.Namespace(x=1)  # an arbitrary object: weights_only=True must not unpickle it
    torch.save(state, folder / PTH)
    with pytest.raises(ModelLoadError, match=f"cannot read weights .*{PTH}"):
        _load(folder)


def _edit_pth(folder, edit):
    state = torch.load(folder / PTH, weights_only=True)
    edit(state)
    torch.save(state, folder / PTH)


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.pop("decoder.layers.1.cross_attention.k_proj.weight"),
     "lacks 1 tensor.*'decoder.layers.1.cross_attention.k_proj.weight'"),
    # Cross-attention keys are projected from the encoder width (32), not the decoder's (16).
    (lambda t: t.update({"decoder.layers.0.cross_attention.k_proj.weight": torch.zeros(16, 4, 8)}),
     r"'decoder.layers.0.cross_attention.k_proj.weight' has shape \[32, 16\], but the config needs \[32, 32\]"),
    (lambda t: t.update({"encoder.extra.weight": torch.zeros(2)}), "unexpected tensor 'encoder.extra.weight'"),
    (lambda t: t.pop("decoder.embeddings.8.weight"), "decoder.embeddings.8.weight"),
])
def test_wrong_tensors_fail_naming_the_tensor(tmp_path, edit, message):
    folder = _copy(tmp_path)
    _edit_pth(folder, edit)
    with pytest.raises(ModelLoadError, match=message):
        _load(folder)


# ---------------------------------------------------------------------------------------------------- hub
@pytest.fixture
def online(monkeypatch):
    """Downloads allowed (conftest keeps tests offline); the fake hub's address is set per test."""
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


@pytest.mark.parametrize("files, fetched", [
    (["config.json", PTH, "model.safetensors", "README.md"], {"config.json", "model.safetensors"}),
    (["config.json", PTH, "README.md"], {"config.json", PTH}),
])
def test_hub_fetches_the_config_and_one_copy_of_the_weights(tmp_path, monkeypatch, online, reference_state, files,
                                                              fetched):
    from fake_hub import FakeHub

    remote = tmp_path / "remote"
    remote.mkdir()
    for name in files:
        if name == "model.safetensors":
            save_file(torch.load(V01 / PTH, weights_only=True), remote / name)
        elif name == "README.md":
            (remote / name).write_text("model card")
        else:
            shutil.copy(V01 / name, remote / name)
    with FakeHub({"nari-labs/Dia-1.6B": remote}) as hub:
        monkeypatch.setenv("HF_ENDPOINT", hub.url)
        engine = _load("nari-labs/Dia-1.6B", cache_dir=str(tmp_path / "cache"))
        assert {name for name in files if hub.gets(name)} == fetched
    assert engine.model_id == "nari-labs/Dia-1.6B" and engine.info.variant == "v0.1"
    snapshot = next((tmp_path / "cache").rglob("config.json")).parent
    assert _same_state(snapshot, reference_state)


def test_hub_repo_loads_offline_from_the_cache(tmp_path, monkeypatch, reference_state):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--nari-labs--Dia-1.6B"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    for name in ("config.json", PTH):
        shutil.copy(V01 / name, snapshot / name)
    engine = _load("nari-labs/Dia-1.6B", cache_dir=str(tmp_path / "hub"))
    assert engine.info.variant == "v0.1" and _same_state(snapshot, reference_state)


# --------------------------------------------------------------------------------------------------- info
def test_info_reports_dia_v01_with_its_rounded_limits(engine):
    info = engine.info
    assert (info.family, info.variant, info.text_unit, info.codebooks) == ("dia", "v0.1", "bytes", 9)
    assert info.max_frames == 128 and info.text_limit == 256  # 100 and 200 in config.json
    assert info.sample_rate == 44100 and not info.word_timestamps
    assert info.default_sampling == DIA_DEFAULT_SAMPLING  # generate()'s defaults at 2811af1: 3.0, 1.2, 0.95, 45
    with pytest.raises(ValueError, match="no sampling parameter text_temperature"):
        info.resolve_sampling(SamplingParams(text_temperature=0.5))


def test_limits_are_the_rounded_ones_and_no_max_tokens_means_the_audio_length(engine):
    assert engine.validate([GenerationRequest("[S1] " + "a" * 254)]) == [128]  # 256 bytes ([S1] is one)
    voice = VoicePrompt("[S1] A prompt.", codes=[[1] * 9] * 24)
    assert engine.validate([GenerationRequest("[S2] Hi.", voice=voice)]) == [128]
    assert engine.validate([GenerationRequest("[S1] Hi.", sampling=SamplingParams(max_tokens=128))]) == [128]
    with pytest.raises(ValueError, match="257 bytes long but the model reads at most 256"):
        engine.validate([GenerationRequest("[S1] " + "a" * 255)])
    with pytest.raises(ValueError, match="max_tokens 129 exceeds the model's audio length 128"):
        engine.validate([GenerationRequest("[S1] Hi.", sampling=SamplingParams(max_tokens=129))])


