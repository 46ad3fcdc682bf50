"""Batch independence, seeds, callbacks and cancellation."""

import numpy as np
import pytest
import torch

from dia_engine import DiaEngine, GenerationRequest, SamplingParams, VoicePrompt

from conftest import TINY_MODEL
from engine_cases import CASES, case_requests, cpu_engine, gpu_math_engine

SAMPLED = SamplingParams(temperature=1.2, max_tokens=60)


def _engine(mode: str, dtype: str = "float32") -> DiaEngine:
    """"cpu": what the CPU runs (packed weights on the fastest kernel, attention slot by slot). "cpu-onednn":
    the same with oneDNN's kernel, the fallback. "gpu-math": the code path of CUDA run on the CPU (plain
    F.linear weights, one masked attention over padded keys for all rows)."""
    if mode == "gpu-math":
        return gpu_math_engine(getattr(torch, dtype), batch_slots=4)
    if mode == "cpu-onednn":
        return cpu_engine("onednn", getattr(torch, dtype), batch_slots=4)
    return DiaEngine.from_pretrained(str(TINY_MODEL), device="cpu", dtype=dtype, codec=None, batch_slots=4)


@pytest.fixture(scope="module", params=["cpu", "cpu-onednn", "gpu-math"])
def engine(request):
    return _engine(request.param)


def _mixed_requests() -> list[GenerationRequest]:
    prompted = case_requests(next(c for c in CASES if c["name"] == "voice_prompt"))[0]
    rng = np.random.default_rng(3)
    other_voice = VoicePrompt("[S2] Another prompt, longer.", rng.integers(0, 1024, size=(40, 9)))
    return [
        GenerationRequest("[S1] Short one.", seed=11, sampling=SAMPLED),
        GenerationRequest("[S2] A longer line of speech, with commas; and more. (sighs)", seed=12,
                          sampling=SamplingParams(temperature=0.9, top_p=0.8, cfg_filter_top_k=20, max_tokens=90)),
        GenerationRequest(prompted.text, seed=13, sampling=SAMPLED, voice=prompted.voice),
        # A 260-frame prompt puts this line's positions past the first attention bucket (256) while the
        # others stay inside it.
        GenerationRequest("[S1] Greedy after a long prompt.", seed=14, sampling=SamplingParams(temperature=0, max_tokens=320),
                          voice=VoicePrompt("[S2] A long prompt.", rng.integers(0, 1024, size=(260, 9)))),
        GenerationRequest("[S2] Prompted by another voice.", seed=15, sampling=SAMPLED, voice=other_voice),
        GenerationRequest("[S1] Café naïve — résumé! (clears throat)", seed=16,
                          sampling=SamplingParams(temperature=1.5, cfg_scale=4.0, max_tokens=70)),
    ]


def test_every_line_is_identical_alone_and_in_any_batch(engine):
    requests = _mixed_requests()
    alone = [engine.generate([r])[0].codes for r in requests]
    together = engine.generate(requests)  # 6 lines through 4 slots: rows join and leave
    reordered = engine.generate(requests[::-1])[::-1]
    pairs = engine.generate([requests[5], requests[2]])
    for i, codes in enumerate(alone):
        assert np.array_equal(together[i].codes, codes), f"line {i} changed in a batch"
        assert np.array_equal(reordered[i].codes, codes), f"line {i} changed with the order"
    assert np.array_equal(pairs[0].codes, alone[5]) and np.array_equal(pairs[1].codes, alone[2])


def test_greedy_reference_cases_are_batch_independent(engine):
    # The reference itself differs when prompted and unprompted lines share a batch; we must not.
    requests = [r for c in CASES for r in case_requests(c)]
    together = engine.generate(requests)
    for req, res in zip(requests, together):
        assert np.array_equal(res.codes, engine.generate([req])[0].codes)


def test_seed_reproduces_and_differs(engine):
    req = GenerationRequest("[S1] Same seed, same take. [S2] Really?", seed=1234, sampling=SAMPLED)
    a, b = engine.generate([req, req])
    assert np.array_equal(a.codes, b.codes) and a.seed == b.seed == 1234
    c = engine.generate([GenerationRequest(req.text, seed=1235, sampling=SAMPLED)])[0]
    assert not np.array_equal(a.codes, c.codes)


def test_no_seed_draws_one_and_reports_it(engine):
    req = GenerationRequest("[S1] Surprise me.", sampling=SAMPLED)
    first, second = engine.generate([req, req])
    assert first.seed != second.seed
    again = engine.generate([GenerationRequest(req.text, seed=first.seed, sampling=SAMPLED)])[0]
    assert np.array_equal(again.codes, first.codes)


def test_callbacks_report_progress_and_results_as_they_finish(engine):
    requests = _mixed_requests()[:3]
    events = []
    results = engine.generate(
        requests,
        on_progress=lambda p: events.append(("progress", p.index, p.step, p.total, p.finished)),
        on_result=lambda i, r: events.append(("result", i, len(r.codes))),
    )
    finished = [e for e in events if e[0] == "result"]
    assert sorted(e[1] for e in finished) == [0, 1, 2]
    for index, res in enumerate(results):
        steps = [e for e in events if e[0] == "progress" and e[1] == index]
        assert [s[2] for s in steps] == sorted(s[2] for s in steps), "progress must not go backwards"
        assert steps[-1][4] and steps[-1][2] == steps[-1][3]
        # the result is reported right after its last progress event
        last = events.index(steps[-1])
        assert events[last + 1] == ("result", index, len(res.codes))


def test_stop_keeps_finished_results_and_drops_the_rest(engine):
    short = GenerationRequest("[S1] Done quickly.", seed=1, sampling=SamplingParams(temperature=0, max_tokens=20))
    long = GenerationRequest("[S2] This one runs long.", seed=2, sampling=SamplingParams(temperature=0, max_tokens=200))
    steps = []
    results = engine.generate([short, long], on_progress=lambda p: steps.append(p),
                              should_stop=lambda: len(steps) > 60)
    assert results[0] is not None and np.array_equal(results[0].codes, engine.generate([short])[0].codes)
    assert results[1] is None
    # the engine is usable again right away, and the stopped line reproduces in full
    assert engine.generate([long])[0] is not None


def test_over_long_text_is_refused_before_any_work(engine):
    text = "[S1] " + "word " * 300
    with pytest.raises(ValueError, match=r"request 1: the text is 1502 bytes long but the model reads at most 1024"):
        engine.generate([GenerationRequest("[S1] fine"), GenerationRequest(text)])


@pytest.mark.parametrize("bad, message", [
    (dict(text="   "), "empty"),
    (dict(text="[S1] hi", sampling=SamplingParams(max_tokens=5000)), "exceeds the model's audio length"),
    (dict(text="[S1] hi", sampling=SamplingParams(max_tokens=10),
          voice=VoicePrompt("[S1] x", np.zeros((20, 9), dtype=np.int64))), "leaves no room to speak after the voice prompt"),
])
def test_bad_requests_raise_clear_errors(engine, bad, message):
    with pytest.raises(ValueError, match=message):
        engine.generate([GenerationRequest(**bad)])


@pytest.mark.parametrize("kwargs", [dict(top_p=0), dict(top_p=1.5), dict(temperature=-1), dict(cfg_filter_top_k=0),
                                    dict(max_tokens=0), dict(cfg_scale=float("nan"))])
def test_sampling_params_validate(kwargs):
    with pytest.raises(ValueError):
        SamplingParams(**kwargs)


def test_voice_prompt_validates_codes():
    with pytest.raises(ValueError, match="shape"):
        VoicePrompt("[S1] hi", np.zeros((4, 8), dtype=np.int64))
    with pytest.raises(ValueError, match="1023"):
        VoicePrompt("[S1] hi", np.full((4, 9), 1024))
    with pytest.raises(ValueError, match="transcript"):
        VoicePrompt("", np.zeros((4, 9), dtype=np.int64))


def test_out_of_memory_halves_the_slots_and_retries(monkeypatch, caplog):
    """Fault injection: the decoder step fails for more than 2 slots, as a too-small GPU would."""
    import torch

    import dia_engine.generation as generation

    real_step = generation.decode_step

    def small_device_step(model, cache, tokens, *args):
        if tokens.shape[0] > 2:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return real_step(model, cache, tokens, *args)

    monkeypatch.setattr(generation, "decode_step", small_device_step)
    engine = DiaEngine.from_pretrained(str(TINY_MODEL), device="cpu", codec=None, batch_slots=8)
    engine.per_slot_attention = False  # as on CUDA, where memory runs out: a fixed slot count
    requests = _mixed_requests()[:3]
    results = engine.generate(requests)
    assert "retrying unfinished lines with 4 batch slots" in caplog.text
    assert "with 2 batch slots" in caplog.text
    two_slots = DiaEngine.from_pretrained(str(TINY_MODEL), device="cpu", codec=None, batch_slots=2)
    for got, want in zip(results, two_slots.generate(requests)):
        assert np.array_equal(got.codes, want.codes)


def test_out_of_memory_at_one_slot_fails_clearly(monkeypatch):
    import torch

    import dia_engine.generation as generation
    from dia_engine import GenerationOutOfMemory

    def no_memory(*args):
        raise torch.OutOfMemoryError("CUDA out of memory (simulated)")

    monkeypatch.setattr(generation, "decode_step", no_memory)
    engine = DiaEngine.from_pretrained(str(TINY_MODEL), device="cpu", codec=None, batch_slots=2)
    with pytest.raises(GenerationOutOfMemory, match="even for one line at a time"):
        engine.generate([GenerationRequest("[S1] hi", seed=1, sampling=SAMPLED)])


@pytest.mark.parametrize("mode", ["cpu", "cpu-onednn", "gpu-math"])
def test_bfloat16_lines_are_batch_independent_too(mode):
    # bf16 takes other kernels (and, batched on the CPU, its own attention); the guarantee must hold there too.
    engine = _engine(mode, "bfloat16")
    requests = _mixed_requests()
    together = engine.generate(requests)
    for req, res in zip(requests, together):
        assert np.array_equal(res.codes, engine.generate([req])[0].codes)


@pytest.mark.parametrize("mode", ["cpu", "cpu-onednn"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_a_slots_logits_are_bit_identical_for_any_slot_count_on_the_cpu_path(dtype, mode):
    # The CPU path lets the slot count follow the number of lines; that is only sound if a slot's
    # logits do not depend on how many slots the step has or where the slot sits.
    from dia_engine.decoding import decode_step, encode_text_pair, fill_cross_cache
    from dia_engine.kv_cache import KVCache
    from dia_engine.text import encode_text

    engine = _engine(mode, str(dtype).split(".")[1])
    model, cfg = engine.model, engine.config
    texts = ["[S1] Hello there.", "[S2] A much longer line of text to encode.", "[S1] Hm.", "[S2] Yes! (laughs)"]
    gen = torch.Generator().manual_seed(5)
    history = torch.randint(0, 1024, (30, 9), generator=gen)

    def logits_of(order: list[int]) -> list[torch.Tensor]:
        slots = len(order)
        cache = KVCache(cfg, 2 * slots, 256, 256, torch.device("cpu"), model.per_slot_cache_dtype, per_slot=True)
        with torch.inference_mode():
            for s, line in enumerate(order):
                fill_cross_cache(model, cache, s, encode_text_pair(model, torch.from_numpy(encode_text(texts[line]))))
            out = None
            for pos in range(20):
                tokens = history[pos + torch.tensor(order)]
                keys = [(pos + 1, len(encode_text(texts[line]))) for line in order]
                out = decode_step(model, cache, tokens, torch.full((slots,), pos), 256, 256, keys)
        return [out[order.index(line)] for line in range(len(texts)) if line in order]

    together = logits_of([0, 1, 2, 3])
    assert torch.equal(logits_of([2])[0], together[2])
    reordered = logits_of([3, 1, 0, 2])
    assert all(torch.equal(a, b) for a, b in zip(reordered, together))
    pair = logits_of([1, 3])
    assert torch.equal(pair[0], together[1]) and torch.equal(pair[1], together[3])


def test_slot_count_follows_the_lines_only_when_rows_are_verified_independent(monkeypatch):
    from dia_engine import generation
    from dia_engine.model import Linear

    used = []
    real_init = generation.GenerationLoop.__init__

    def record(self, model, cfg, device, slots, **kwargs):
        used.append(slots)
        real_init(self, model, cfg, device, slots, **kwargs)

    monkeypatch.setattr(generation.GenerationLoop, "__init__", record)
    engine = DiaEngine.from_pretrained(str(TINY_MODEL), device="cpu", codec=None, batch_slots=8)
    requests = [GenerationRequest("[S1] One line.", seed=1, sampling=SamplingParams(max_tokens=30))]
    engine.generate(requests)
    engine.generate(requests * 3)
    engine.generate(requests * 10)
    assert used == [1, 3, 8]

    # A kernel whose rounding depends on the row count (as MKL's and cuBLAS's can) keeps the slots fixed.
    real_forward = Linear.forward
    monkeypatch.setattr(Linear, "forward", lambda self, x: real_forward(self, x) * (1 + 1e-6 * (x.shape[0] % 3)))
    fresh = DiaEngine.from_pretrained(str(TINY_MODEL), device="cpu", codec=None, batch_slots=8)
    assert not fresh.model.decode_rows_independent_of_batch(16)
    used.clear()
    fresh.generate(requests)
    assert used == [8]


@pytest.mark.parametrize("mode", ["cpu", "gpu-math"])
def test_finished_lines_give_up_their_slots_only_on_the_cpu_path(monkeypatch, mode):
    from dia_engine import generation

    engine = _engine(mode)
    requests = [GenerationRequest(f"[S1] Line {n}.", seed=n, sampling=SamplingParams(temperature=0, max_tokens=m))
                for n, m in [(1, 30), (2, 60), (3, 90)]]
    alone = [engine.generate([r])[0].codes for r in requests]
    steps = []
    real_step = generation.decode_step

    def counting_step(model, cache, tokens, *args):
        steps.append(tokens.shape[0])
        return real_step(model, cache, tokens, *args)

    monkeypatch.setattr(generation, "decode_step", counting_step)
    together = engine.generate(requests)
    for got, want in zip(together, alone):
        assert np.array_equal(got.codes, want)
    if mode == "cpu":  # 3 lines in 3 slots, then 2, then 1, as the shorter lines end
        assert steps[0] == 3 and steps[-1] == 1 and sorted(set(steps)) == [1, 2, 3]
        assert steps == sorted(steps, reverse=True)
    else:
        assert set(steps) == {4}
