"""`describe`: a model's ModelInfo from its config (and tokenizer) without loading weights; `find_local_copy`."""

import dataclasses
import json
import shutil

import pytest

from dia_engine import DiaEngine, ModelLoadError
from dia_engine.describe import DESCRIPTION_FILES, describe, find_local_copy

from conftest import DATA, TINY_MODEL, TINY_MODEL_HF

TINY_DIA2 = DATA / "dia2-tiny"
COMMIT = "0123456789abcdef0123456789abcdef01234567"
DIA2_DESCRIPTION = [TINY_DIA2 / name for name in DESCRIPTION_FILES if (TINY_DIA2 / name).is_file()]


def _hub_cache(cache, repo_id, files):
    """A Hugging Face hub cache entry laid out as huggingface_hub lays it out (blobs as plain files)."""
    repo_dir = cache / ("models--" + repo_id.replace("/", "--"))
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text(COMMIT)
    snapshot = repo_dir / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    for f in files:
        shutil.copy(f, snapshot / f.name)
    return snapshot


def test_dia_description_equals_the_loaded_engines_info():
    engine = DiaEngine.from_pretrained(str(TINY_MODEL), device="cpu", dtype="float32", codec=None)
    info = describe(str(TINY_MODEL))
    assert info == engine.info  # every field but measure_text ...
    for text in ("[S1] Hello there.", "[S2] héllo (laughs) 日本"):
        assert info.measure_text(text) == engine.info.measure_text(text)  # ... and it counts the same


def test_dia2_description_reads_config_and_tokenizer():
    info = describe(TINY_DIA2)
    cfg = json.loads((TINY_DIA2 / "config.json").read_text())
    assert (info.family, info.variant, info.text_unit) == ("dia2", "custom", "tokens")
    assert info.sample_rate == 24000 and info.frames_per_second == 12.5
    assert info.max_frames == cfg["runtime"]["max_context_steps"] == 128
    assert info.max_seconds == pytest.approx(128 / 12.5)
    assert info.codebooks == 4 and info.word_timestamps
    assert "top_p" not in info.sampling_fields and "text_temperature" in info.sampling_fields
    # Each word alone, no leading space; a speaker tag is its own token plus the space before its word.
    assert info.measure_text("[S1] Hello") == 1 + 1 + 2
    with pytest.raises(ValueError, match="Dia2 has no sampling parameter top_p"):
        info.resolve_sampling(__import__("dia_engine").SamplingParams(top_p=0.9))


def test_dia2_without_its_tokenizer_is_refused_by_name(tmp_path):
    shutil.copy(TINY_DIA2 / "config.json", tmp_path)
    with pytest.raises(ModelLoadError, match="tokenizer.json"):
        describe(tmp_path)


def test_hub_repo_is_described_offline_from_the_cache_without_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cache = tmp_path / "hub"
    _hub_cache(cache, "nari-labs/Dia2-tiny-test", DIA2_DESCRIPTION)  # description files only
    info = describe("nari-labs/Dia2-tiny-test", cache_dir=str(cache))
    assert info.family == "dia2" and info.model_id == "nari-labs/Dia2-tiny-test"
    assert not find_local_copy("nari-labs/Dia2-tiny-test", cache_dir=str(cache)).present


def test_offline_and_not_cached_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="not in the local cache"):
        describe("nari-labs/Dia2-2B", cache_dir=str(tmp_path))
    with pytest.raises(ModelLoadError, match="model folder not found"):
        describe(tmp_path / "nowhere")


def test_local_copy_counts_the_weights_of_a_complete_cache_entry_only(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cache = tmp_path / "hub"
    files = sorted(TINY_MODEL_HF.iterdir())
    snapshot = _hub_cache(cache, "nari-labs/Dia-tiny-test", files)
    copy = find_local_copy("nari-labs/Dia-tiny-test", cache_dir=str(cache))
    shards = sorted(TINY_MODEL_HF.glob("model-*.safetensors"))
    assert copy.present and copy.folder == snapshot
    assert copy.weight_bytes == sum(f.stat().st_size for f in shards)
    (snapshot / shards[1].name).unlink()  # an interrupted download
    assert not find_local_copy("nari-labs/Dia-tiny-test", cache_dir=str(cache)).present
    assert find_local_copy(TINY_MODEL).weight_bytes == (TINY_MODEL / "model.safetensors").stat().st_size
    assert not find_local_copy(tmp_path / "missing").present


def test_local_only_reads_the_cache_even_when_online(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    cache = tmp_path / "hub"
    _hub_cache(cache, "nari-labs/Dia2-tiny-test", DIA2_DESCRIPTION)
    assert describe("nari-labs/Dia2-tiny-test", cache_dir=str(cache), local_only=True).family == "dia2"
    with pytest.raises(ModelLoadError, match="not in the local cache"):
        describe("nari-labs/Dia2-1B", cache_dir=str(cache), local_only=True)


def test_dia2_description_equals_the_loaded_engines_info(dia2_engine):
    info = describe(TINY_DIA2)
    assert info == dataclasses.replace(dia2_engine.info, model_id=str(TINY_DIA2))
    for text in ("[S1] Hello there.", "[S2] Hi (laughs) <break time=\"1s\"/> again."):
        assert info.measure_text(text) == dia2_engine.info.measure_text(text)
