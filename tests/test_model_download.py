"""Model downloads from a hub: progress, cancel mid-way and resume, the cache, offline, and the CLI bar.

Runs the real huggingface_hub download code against a local fake hub (tests/fake_hub.py)."""

from __future__ import annotations

import io

import numpy as np
import pytest

from dia_engine import (DiaEngine, DownloadCancelled, DownloadObserver, GenerationRequest, ModelLoadError,
                        SamplingParams, TqdmProgress, observe_downloads)
from dia_engine.hub import choose_files, download

from conftest import TINY_DAC, TINY_MODEL_HF
from fake_hub import FakeHub

REPO = "test-org/dia-tiny"
SHARDS = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
WANTED = ["model.safetensors.index.json", *SHARDS]
WANTED_BYTES = sum((TINY_MODEL_HF / f).stat().st_size for f in WANTED)
REQ = GenerationRequest("[S1] Hello there. [S2] Hi! (laughs)", seed=0, sampling=SamplingParams(temperature=0, max_tokens=32))


class Recorder(DownloadObserver):
    def __init__(self, stop_after_bytes: int | None = None):
        self.stop_after_bytes = stop_after_bytes
        self.started_with = None
        self.done: list[int] = []
        self.finished_calls = 0

    def started(self, status):
        self.started_with = (list(status.files), status.cached_files, status.total_bytes)

    def progressed(self, status):
        self.done.append(status.done_bytes)

    def finished(self, status):
        self.finished_calls += 1

    def should_stop(self):
        return self.stop_after_bytes is not None and bool(self.done) and self.done[-1] >= self.stop_after_bytes


@pytest.fixture
def hub(monkeypatch):
    """The fake hub online (conftest keeps real tests offline), streaming in 16 KiB chunks."""
    from huggingface_hub import constants

    with FakeHub({REPO: TINY_MODEL_HF}) as fake:
        monkeypatch.setenv("HF_HUB_OFFLINE", "0")
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 16 * 1024)
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        yield fake


def _incomplete_files(cache):
    return [p for p in cache.rglob("*") if p.name.endswith(".incomplete") or p.name.endswith(".lock") and p.stat().st_size]


def test_download_reports_every_byte_and_the_model_loads(hub, tmp_path, tiny_engine_codes_only):
    rec = Recorder()
    with observe_downloads(rec):
        engine = DiaEngine.from_pretrained(REPO, device="cpu", codec=None, cache_dir=str(tmp_path))
    assert rec.started_with == (WANTED, 0, WANTED_BYTES)
    assert len(rec.done) > 20 and rec.done[-1] == WANTED_BYTES  # chunk by chunk, ending exactly at the total
    assert rec.done == sorted(rec.done)
    assert rec.finished_calls == 1
    assert hub.gets("generation_config.json") == 0  # only what the model needs
    assert engine.model_id == REPO
    assert np.array_equal(engine.generate([REQ])[0].codes, tiny_engine_codes_only.generate([REQ])[0].codes)


def test_cancel_mid_way_keeps_the_cache_whole_and_the_next_load_resumes(hub, tmp_path, tiny_engine_codes_only):
    first_two = sum((TINY_MODEL_HF / f).stat().st_size for f in WANTED[:2])
    stopper = Recorder(stop_after_bytes=first_two + 100_000)  # inside the second shard
    with observe_downloads(stopper), pytest.raises(DownloadCancelled, match=REPO):
        download(REPO, str(tmp_path))
    assert stopper.finished_calls == 1
    assert first_two < stopper.done[-1] < WANTED_BYTES
    assert _incomplete_files(tmp_path) == []  # no partial file anywhere
    snapshot = next(tmp_path.glob("models--*/snapshots/*"))
    assert (snapshot / SHARDS[0]).is_file() and not (snapshot / SHARDS[1]).exists()

    resume = Recorder()
    with observe_downloads(resume):
        folder = download(REPO, str(tmp_path))
    assert resume.started_with == ([SHARDS[1]], 2, (TINY_MODEL_HF / SHARDS[1]).stat().st_size)
    assert (hub.gets(SHARDS[0]), hub.gets(SHARDS[1])) == (1, 2)
    engine = DiaEngine.from_pretrained(str(folder), device="cpu", codec=None)
    assert np.array_equal(engine.generate([REQ])[0].codes, tiny_engine_codes_only.generate([REQ])[0].codes)


def test_cached_files_are_not_downloaded_again(hub, tmp_path):
    download(REPO, str(tmp_path))
    rec = Recorder()
    with observe_downloads(rec):
        download(REPO, str(tmp_path))
    assert rec.started_with == ([], 3, 0)
    assert [hub.gets(f) for f in WANTED] == [1, 1, 1]


def test_offline_with_nothing_cached_is_one_line_naming_the_repo(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError) as err:
        download("nari-labs/Dia-1.6B-0626", str(tmp_path))
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("model 'nari-labs/Dia-1.6B-0626' is not in the local cache and HF_HUB_OFFLINE=1")


def test_the_command_line_says_it_in_one_line(tmp_path, monkeypatch, capsys):
    from huggingface_hub import constants

    from main import main

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    status = main(["synth", "[S1] Hello there, this is a test of the command line.", "--model", "nari-labs/Dia-1.6B-0626", "--out", str(tmp_path / "x.wav")])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if not line.startswith("warning:")]  # script lint may warn first
    assert status == 2 and len(errors) == 1
    assert errors[0].startswith("error: model 'nari-labs/Dia-1.6B-0626' is not in the local cache and HF_HUB_OFFLINE=1")


def test_offline_after_a_download_loads_from_the_cache(hub, tmp_path, monkeypatch):
    online = download(REPO, str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert download(REPO, str(tmp_path)) == online


def test_an_unknown_repo_is_named(hub, tmp_path):
    with pytest.raises(ModelLoadError, match="'test-org/nope' not found"):
        download("test-org/nope", str(tmp_path))


def test_the_first_layout_with_every_file_present_wins():
    files = ["config.json", "dia-v1.pth", "model.safetensors", "model.safetensors.index.json",
             "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    assert choose_files("dia-0626", files) == WANTED
    assert choose_files("dia-0626", ["config.json", "dia-v1.pth", "model.safetensors"]) == ["model.safetensors"]
    with pytest.raises(ModelLoadError, match="no weights"):
        choose_files("dia-0626", ["config.json", "README.md"])


def test_the_command_line_bar_shows_bytes_and_rate(hub, tmp_path):
    out = io.StringIO()
    with observe_downloads(TqdmProgress(file=out)):
        download(REPO, str(tmp_path))
    text = out.getvalue()
    assert f"downloading {REPO}: 3 files" in text
    total = f"{WANTED_BYTES / 1e6:.2f}M"
    assert f"100%" in text and f"{total}/{total}" in text and "B/s]" in text  # bytes, rate, time left


def test_synth_downloads_with_a_bar_on_stderr(hub, tmp_path, monkeypatch, capsys):
    from huggingface_hub import constants

    from main import main

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    out = tmp_path / "x.wav"
    status = main(["synth", "[S1] Hello.", "--model", REPO, "--codec", str(TINY_DAC), "--device", "cpu",
                   "--seed", "1", "--max-tokens", "40", "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 0 and out.is_file()
    assert f"downloading {REPO}: 3 files" in err and "100%" in err
