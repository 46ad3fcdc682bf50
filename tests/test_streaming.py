"""Streaming audio from the engine: chunks tile the finished take, arrive early, and stop when cancelled."""

from collections import defaultdict

import numpy as np
import pytest

from dia_engine import DiaEngine, GenerationRequest, SamplingParams
from dia_engine.streaming import AudioChunker, receptive_field_frames

from conftest import TINY_DAC, TINY_MODEL

TOLERANCE = 1e-4
HOP = 512


@pytest.fixture(scope="module")
def engine():
    return DiaEngine.from_pretrained(str(TINY_MODEL), device="cpu", dtype="float32", codec=str(TINY_DAC),
                                     batch_slots=2)


def _stream(engine, requests, **kwargs):
    chunks = defaultdict(list)
    steps = defaultdict(int)
    first_chunk_step = {}

    def on_progress(p):
        steps[p.index] = p.step

    def on_chunk(index, samples, start):
        assert samples.dtype == np.float32 and samples.ndim == 1
        chunks[index].append((start, samples.copy()))
        first_chunk_step.setdefault(index, steps[index])

    results = engine.generate(requests, on_chunk=on_chunk, on_progress=on_progress, **kwargs)
    return results, chunks, first_chunk_step


def _joined(pieces):
    offset = 0
    for start, samples in pieces:
        assert start == offset, "chunks must tile the line without gap or overlap"
        offset += len(samples)
    return np.concatenate([s for _, s in pieces])


def test_receptive_field_of_the_dac_is_what_a_windowed_decode_needs(engine):
    left, right = engine.codec.context_frames
    assert (left, right) == receptive_field_frames(engine.codec.model.decoder) == (11, 10)
    codes = np.random.default_rng(0).integers(0, 1024, size=(60, 9))
    full = engine.codec.decode(codes)
    a, b = 25, 30
    window = engine.codec.decode(codes[a - left : b + right])
    assert np.abs(window[left * HOP : (left + 5) * HOP] - full[a * HOP : b * HOP]).max() < 1e-6
    short = engine.codec.decode(codes[a - 7 : b + 7])  # too little context: the chunk edges are wrong
    assert np.abs(short[7 * HOP : 12 * HOP] - full[a * HOP : b * HOP]).max() > TOLERANCE
    cropped = engine.codec.decode_window(codes[None, a - left : b + right], left, b - a)[0]  # layer by layer
    assert np.abs(cropped - full[a * HOP : b * HOP]).max() < 1e-6


def test_the_44khz_dac_needs_the_same_context():
    import dac

    # The real codec's architecture (random weights: only the layer shapes matter): same rates and kernels.
    assert receptive_field_frames(dac.DAC().decoder) == (11, 10)


@pytest.mark.parametrize("temperature", [0.0, 1.2])
def test_chunks_of_one_line_concatenate_to_its_audio(engine, temperature):
    req = GenerationRequest("[S1] Streaming, one chunk at a time.", seed=5,
                            sampling=SamplingParams(temperature=temperature, max_tokens=90))
    plain = engine.generate([req])[0]
    (result,), chunks, first = _stream(engine, [req], chunk_seconds=0.1)
    assert np.array_equal(result.codes, plain.codes) and np.array_equal(result.audio, plain.audio)
    joined = _joined(chunks[0])
    assert len(joined) == len(result.audio)
    assert np.abs(joined - result.audio).max() < TOLERANCE
    frames = int(0.1 * 44100 / HOP)  # 8 frames of 512 samples
    assert len(chunks[0]) >= 3 and all(len(s) <= frames * HOP for _, s in chunks[0])
    # The first chunk goes out once its frames and the DAC's right context are final: 15 delay steps later.
    assert first[0] == frames + engine.codec.context_frames[1] + engine.config.max_delay


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_chunks_of_a_batch_concatenate_to_each_lines_audio(engine, temperature):
    sampling = SamplingParams(temperature=temperature, max_tokens=70)
    requests = [GenerationRequest(text, seed=20 + i, sampling=sampling) for i, text in enumerate(
        ["[S1] First of three.", "[S2] The second line is a little longer.", "[S1] Third, joining late."])]
    alone = [engine.generate([r])[0] for r in requests]
    results, chunks, _ = _stream(engine, requests)  # 3 lines through 2 slots: the third joins later
    for i, (res, ref) in enumerate(zip(results, alone)):
        assert np.array_equal(res.codes, ref.codes), f"streaming changed line {i}'s codes"
        assert np.abs(_joined(chunks[i]) - res.audio).max() < TOLERANCE
        assert all(len(s) <= int(0.25 * 44100 / HOP) * HOP for _, s in chunks[i])


def test_a_cancelled_line_stops_its_chunks_and_frees_its_slot(engine):
    sampling = SamplingParams(temperature=0.0, max_tokens=80)
    requests = [GenerationRequest(f"[S1] Line number {i}.", seed=i, sampling=sampling) for i in range(3)]
    alone = {i: engine.generate([requests[i]])[0] for i in (1, 2)}
    cancelled = set()
    counts = defaultdict(int)

    def on_chunk(index, samples, start):
        assert index not in cancelled, "a chunk of a cancelled line"
        counts[index] += 1
        if index == 0 and counts[0] == 2:
            cancelled.add(0)

    results = engine.generate(requests, on_chunk=on_chunk, chunk_seconds=0.1,
                              should_cancel=lambda i: i in cancelled)
    assert results[0] is None and counts[0] == 2
    for i in (1, 2):  # line 2 took line 0's slot and came out as it does alone
        assert np.array_equal(results[i].codes, alone[i].codes)


def test_chunker_skips_frames_it_already_holds_after_a_replay(engine):
    codes = np.random.default_rng(1).integers(0, 1024, size=(50, 9))
    got = []
    chunker = AudioChunker(engine.codec.decode_window, HOP, 11, 10, 8, lambda i, s, start: got.append((start, s)))
    chunker.push({7: (codes[:30], False)})
    chunker.replay()  # the line starts over, e.g. after an out-of-memory retry
    chunker.push({7: (codes[:20], False)})
    chunker.push({7: (codes[20:], True)})
    assert np.abs(_joined(got) - engine.codec.decode(codes)).max() < TOLERANCE


def test_streaming_needs_the_codec(tiny_engine_codes_only):
    with pytest.raises(Exception, match="no codec"):
        tiny_engine_codes_only.generate([GenerationRequest("[S1] Hi.")], on_chunk=lambda *a: None)
