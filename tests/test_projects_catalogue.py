"""The model catalogue: released ids, a local folder, and whether each is on this machine (no network)."""

import shutil

from projects.catalogue import DEFAULT_MODEL, RELEASED, choices, format_bytes, model_title, released

from conftest import TINY_MODEL

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def test_released_models_are_offered_with_their_families():
    ids = [entry.model_id for entry in RELEASED]
    assert ids == ["nari-labs/Dia-1.6B-0626", "nari-labs/Dia2-1B", "nari-labs/Dia2-2B"]
    assert DEFAULT_MODEL == ids[0]
    assert [released(i).family for i in ids] == ["dia", "dia2", "dia2"]
    assert released("someone/else") is None
    assert model_title("nari-labs/Dia2-2B") == "Dia2 2B" and model_title("/models/my-dia2/") == "my-dia2"


def test_choices_say_what_is_downloaded_and_its_size(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cache = tmp_path / "hub"
    repo = cache / "models--nari-labs--Dia2-1B"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(COMMIT)
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    shutil.copy(TINY_MODEL / "config.json", snapshot)
    shutil.copy(TINY_MODEL / "model.safetensors", snapshot)
    rows = {c.entry.model_id: c for c in choices(local_folder=TINY_MODEL, cache_dir=str(cache))}
    size = (TINY_MODEL / "model.safetensors").stat().st_size
    assert not rows["nari-labs/Dia-1.6B-0626"].cached and not rows["nari-labs/Dia2-2B"].cached
    assert rows["nari-labs/Dia2-1B"].cached and rows["nari-labs/Dia2-1B"].size_bytes == size
    assert rows[str(TINY_MODEL)].cached and rows[str(TINY_MODEL)].local_bytes == size
    assert rows["nari-labs/Dia2-2B"].label() == "Dia2 2B — 7.7 GB, not downloaded"
    assert rows["nari-labs/Dia2-1B"].label() == f"Dia2 1B — {format_bytes(size)}, downloaded"
