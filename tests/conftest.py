"""Shared fixtures: the tiny Dia checkpoints and tiny DAC copied from ../shared/fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never reach the network

DATA = Path(__file__).parent / "data"
TINY_MODEL = DATA / "dia-tiny"
TINY_MODEL_HF = DATA / "dia-tiny-hf"
TINY_DAC = DATA / "dac-tiny" / "weights.pth"


@pytest.fixture(scope="session")
def tiny_model_dir() -> Path:
    return TINY_MODEL


@pytest.fixture(scope="session")
def tiny_dac_path() -> Path:
    return TINY_DAC


@pytest.fixture(scope="session")
def tiny_engine():
    """The tiny random Dia with the tiny DAC, on the CPU in float32 (shared: loading is the slow part)."""
    from dia_engine import DiaEngine

    return DiaEngine.from_pretrained(str(TINY_MODEL), device="cpu", dtype="float32", codec=str(TINY_DAC))


@pytest.fixture(scope="session")
def tiny_engine_codes_only():
    from dia_engine import DiaEngine

    return DiaEngine.from_pretrained(str(TINY_MODEL), device="cpu", dtype="float32", codec=None)


DIA2_TINY = DATA / "dia2-tiny"


@pytest.fixture(scope="session")
def one_thread():
    """One CPU thread: on the shared 2-core CI machine OpenMP regions of tiny ops cost ~10 ms each with two
    (the fixture was produced with one; the codes are the same with one or two)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def tiny_whisper(tmp_path_factory):
    """A tiny random Whisper saved as a local model folder (tests/whisper_tiny.py), built once per run."""
    from whisper_tiny import build_tiny_whisper

    return build_tiny_whisper(tmp_path_factory.mktemp("whisper") / "whisper-tiny")


@pytest.fixture(scope="session")
def dia2_engine(one_thread):
    """The tiny random Dia2 with its tiny Mimi, on the CPU in float32 (shared: loading is the slow part)."""
    from dia_engine import DiaEngine

    return DiaEngine.from_pretrained(str(DIA2_TINY), device="cpu", dtype="float32", codec=str(DIA2_TINY / "mimi"))
