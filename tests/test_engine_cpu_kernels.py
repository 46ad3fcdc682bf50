"""Our CPU linear kernel: numbers, row independence, packing, building and falling back."""

import os
import shutil

import pytest
import torch

from dia_engine import cpu_kernels
from dia_engine.model import Linear

NATIVE = cpu_kernels.load()
needs_native = pytest.mark.skipif(NATIVE is None, reason="the native kernel does not build on this machine")
DTYPES = [torch.float32, torch.bfloat16]
HAS_AMX = NATIVE is not None and NATIVE.amx
# The linear kernels: fp32, bf16 on the vector units, bf16 on the AMX tile unit (where this CPU has one).
LINEAR_PATHS = [(torch.float32, False), (torch.bfloat16, False),
                pytest.param(torch.bfloat16, True, marks=pytest.mark.skipif(not HAS_AMX, reason="no AMX here"))]
# Row counts: 1 (padded nothing), 2 (one guided line, its own code path), 3 and 9 (partial row blocks),
# 16 (8 lines), 130 (past one 128-row chunk, as a prompt prefill is).
ROWS = [1, 2, 3, 9, 16, 130]
# Shapes: the tiny model's, a ragged last panel (N not a multiple of 32), the logits head's 9 x 1028.
SHAPES = [(64, 32), (100, 34), (9252, 64), (512, 256)]


def _weight(n: int, k: int, dtype: torch.dtype, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, k, generator=torch.Generator().manual_seed(seed)).to(dtype)


@pytest.fixture
def amx(request, monkeypatch):
    """Run the test with the AMX path on or off (an attribute of the one loaded library)."""
    if NATIVE is not None:
        monkeypatch.setattr(NATIVE, "amx", request.param)
    return request.param


@needs_native
@pytest.mark.parametrize("dtype,amx", LINEAR_PATHS, indirect=["amx"])
@pytest.mark.parametrize("n,k", SHAPES)
def test_kernel_matches_a_float64_product(dtype, amx, n, k):
    w = _weight(n, k, dtype)
    packed = cpu_kernels.pack(w)
    for rows in ROWS:
        x = torch.randn(rows, k, generator=torch.Generator().manual_seed(rows)).to(dtype)
        got = NATIVE.linear(x, packed, n)
        exact = x.double() @ w.double().T
        assert got.shape == (rows, n) and got.dtype == dtype
        if dtype == torch.float32:
            torch.testing.assert_close(got.double(), exact, rtol=0, atol=1e-5 * exact.abs().max().item())
        else:  # bf16 output: within one rounding of the exact value (plus fp32 accumulation noise)
            assert ((got.double() - exact).abs() <= exact.abs() * 2**-8 + 1e-3 * exact.abs().max()).all()


@needs_native
@pytest.mark.parametrize("dtype,amx", LINEAR_PATHS, indirect=["amx"])
def test_a_rows_bits_never_depend_on_the_other_rows(dtype, amx):
    n, k = 300, 96
    packed = cpu_kernels.pack(_weight(n, k, dtype))
    x = torch.randn(140, k, generator=torch.Generator().manual_seed(1)).to(dtype)
    full = NATIVE.linear(x, packed, n)
    for rows in (1, 2, 3, 8, 9, 17, 129):
        assert torch.equal(NATIVE.linear(x[:rows], packed, n), full[:rows])
    assert torch.equal(NATIVE.linear(x.roll(5, 0), packed, n), full.roll(5, 0))
    assert torch.equal(NATIVE.linear(x[70:73], packed, n), full[70:73])


@pytest.mark.skipif(not HAS_AMX, reason="no AMX here")
def test_the_tile_unit_and_the_vector_kernel_agree_within_fp32_accumulation(monkeypatch):
    """Same products, summed in another grouping: equal after bf16 rounding but for a last-bit tie now and then."""
    n, k = 320, 512
    packed = cpu_kernels.pack(_weight(n, k, torch.bfloat16))
    x = torch.randn(16, k, generator=torch.Generator().manual_seed(3)).to(torch.bfloat16)
    tiles = NATIVE.linear(x, packed, n)
    monkeypatch.setattr(NATIVE, "amx", False)
    vectors = NATIVE.linear(x, packed, n)
    assert (tiles != vectors).float().mean() < 0.02
    torch.testing.assert_close(tiles.float(), vectors.float(), rtol=2**-7, atol=1e-2)


def test_packing_lays_out_panels_of_32_outputs_with_zero_padding():
    w = torch.arange(40 * 6, dtype=torch.float32).reshape(40, 6)
    p = cpu_kernels.pack(w)
    assert p.shape == (2, 6, 32)  # 40 outputs -> 2 panels, the second padded with 24 zero columns
    assert torch.equal(p[0], w[:32].T) and torch.equal(p[1, :, :8], w[32:].T) and not p[1, :, 8:].any()
    b = cpu_kernels.pack(w.to(torch.bfloat16))
    assert b.shape == (2, 3, 32, 2)  # k in pairs: panel[k/2][n][2]
    assert torch.equal(b[0, 1, 5], w[5, 2:4].to(torch.bfloat16))
    assert cpu_kernels.packable(w) and not cpu_kernels.packable(torch.zeros(4, 5, dtype=torch.bfloat16))


@needs_native
def test_linear_layers_use_the_kernel_and_keep_their_results():
    layer = Linear(64, 100)
    torch.nn.init.normal_(layer.weight)
    x = torch.randn(2, 1, 64)
    dense = layer(x)
    layer.pack_for_cpu(rows_hint=4)
    assert layer.kernel == "native" and layer.weight.shape == (4, 64, 32)
    torch.testing.assert_close(layer(x), dense, rtol=1e-5, atol=1e-5)
    with pytest.raises(TypeError, match="bfloat16"):
        layer(x.to(torch.bfloat16))


def test_layers_fall_back_to_onednn_without_the_native_kernel():
    layer = Linear(64, 100)
    torch.nn.init.normal_(layer.weight)
    x = torch.randn(3, 64)
    dense = layer(x)
    layer.pack_for_cpu(rows_hint=4, allow_native=False)
    assert layer.kernel == "onednn"
    torch.testing.assert_close(layer(x), dense, rtol=1e-5, atol=1e-5)


def test_the_library_is_built_once_and_reused(tmp_path):
    if not (os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")):
        pytest.skip("no C compiler on this machine")
    first = cpu_kernels.build(tmp_path)
    stamp = first.stat().st_mtime_ns
    assert cpu_kernels.build(tmp_path) == first and first.stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no temporary files left behind


def test_a_missing_or_failing_compiler_is_a_clear_error(tmp_path):
    with pytest.raises(RuntimeError, match="cannot run the C compiler"):
        cpu_kernels.build(tmp_path, compiler=str(tmp_path / "no-such-cc"))
    failing = tmp_path / "cc"
    failing.write_text("#!/bin/sh\necho 'cc: fatal error: out of cheese' >&2\nexit 1\n")
    failing.chmod(0o755)
    with pytest.raises(RuntimeError, match="compiling cpu_kernels.c failed: cc: fatal error: out of cheese"):
        cpu_kernels.build(tmp_path / "cache", compiler=str(failing))
    assert not any((tmp_path / "cache").iterdir())


def test_load_falls_back_to_none_when_disabled_or_unbuildable(monkeypatch, tmp_path):
    cpu_kernels.load.cache_clear()
    try:
        monkeypatch.setenv("DIA_NATIVE_KERNELS", "0")
        assert cpu_kernels.load() is None
        cpu_kernels.load.cache_clear()
        monkeypatch.delenv("DIA_NATIVE_KERNELS")
        monkeypatch.setenv("DIA_STUDIO_CACHE", str(tmp_path))
        monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
        assert cpu_kernels.load() is None
    finally:
        cpu_kernels.load.cache_clear()
    monkeypatch.undo()
    assert (cpu_kernels.load() is None) == (NATIVE is None)


@needs_native
@pytest.mark.parametrize("kv_dtype", DTYPES)
@pytest.mark.parametrize("heads,kv_heads,dim", [(16, 4, 128), (16, 16, 128), (4, 2, 16), (4, 4, 8)])
def test_attention_matches_a_float64_softmax_slot_by_slot(heads, kv_heads, dim, kv_dtype):
    from dia_engine.model import single_query_attention

    if not NATIVE.supports(kv_dtype):
        pytest.skip(f"no {kv_dtype} kernels on this CPU")
    gen = torch.Generator().manual_seed(heads + dim)
    # Slots in one shared cache (self-attention) read a prefix of their rows; one has no keys yet.
    cache_k = (torch.randn(8, kv_heads, 300, dim, generator=gen) * 2).to(kv_dtype)
    cache_v = torch.randn(8, kv_heads, 300, dim, generator=gen).to(kv_dtype)
    q = torch.randn(8, heads, 1, dim, generator=gen)
    lengths = [5, 0, 300, 17]
    slot_kv = [(cache_k[2 * s:2 * s + 2, :, :n], cache_v[2 * s:2 * s + 2, :, :n]) if n else None
               for s, n in enumerate(lengths)]
    assert all(kv is None or NATIVE.attends(*kv) for kv in slot_kv)
    out = NATIVE.attend(q, slot_kv)
    assert out.shape == q.shape
    for s, kv in enumerate(slot_kv):
        rows = slice(2 * s, 2 * s + 2)
        if kv is None:
            assert not out[rows].any()
            continue
        exact = single_query_attention(q[rows].double(), kv[0].double(), kv[1].double())
        torch.testing.assert_close(out[rows].double(), exact, rtol=0, atol=2e-5)
        assert torch.equal(NATIVE.attend(q[rows], [kv]), out[rows])  # alone: the same bits
    # The softmax holds up where scores are far apart (one key takes all the weight, the rest underflow).
    k = torch.zeros(2, kv_heads, 3, dim, dtype=kv_dtype)
    k[:, :, 1] = 1.0
    v = torch.arange(3.0).view(1, 1, 3, 1).expand(2, kv_heads, 3, dim).to(kv_dtype).contiguous()
    peaked = NATIVE.attend(torch.full((2, heads, 1, dim), 100.0), [(k, v)])
    assert torch.equal(peaked, torch.ones_like(peaked))


@needs_native
def test_attention_takes_only_float32_or_bf16_keys_laid_out_key_by_key():
    k = torch.zeros(2, 4, 10, 16)
    assert NATIVE.attends(k, torch.zeros_like(k))
    assert NATIVE.attends(k.bfloat16(), k.bfloat16()) == NATIVE.supports(torch.bfloat16)
    assert not NATIVE.attends(k.half(), k.half())
    assert not NATIVE.attends(k, k.bfloat16())  # keys and values of different dtypes
    assert not NATIVE.attends(k.transpose(2, 3), k.transpose(2, 3))  # keys not contiguous
    assert not NATIVE.attends(torch.zeros(2, 4, 10, 256), torch.zeros(2, 4, 10, 256))  # head too wide


@needs_native
@pytest.mark.parametrize("x_dtype,out_dtype", [(torch.float32, None), (torch.float32, torch.float32),
                                                (torch.bfloat16, torch.bfloat16), (torch.bfloat16, None)])
def test_rms_norm_matches_the_reference_formula(x_dtype, out_dtype):
    from dia_engine.model import RMSNorm

    norm = RMSNorm(300, 1e-5)
    torch.nn.init.normal_(norm.weight)
    x = (torch.randn(2, 3, 300, generator=torch.Generator().manual_seed(2)) * 4).to(x_dtype)
    expected = norm(x, out_dtype)  # the torch formula
    norm.use_native = True
    got = norm(x, out_dtype)
    assert got.dtype == (out_dtype or torch.float32) and got.shape == x.shape
    if x_dtype == torch.float32:
        torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-6)
    else:  # one bf16 rounding step of difference at most, where the sums round differently
        assert ((got.float() - expected.float()).abs() <= expected.float().abs() * 2**-7 + 1e-6).all()
        assert (got == expected).float().mean() > 0.99


def test_a_bf16_cpu_engine_keeps_its_cache_in_bf16_only_where_our_kernel_reads_it():
    from engine_cases import cpu_engine

    assert cpu_engine("onednn", torch.bfloat16).model.per_slot_cache_dtype == torch.float32
    assert cpu_engine("onednn", torch.float32).model.per_slot_cache_dtype == torch.float32
    if NATIVE is None or not NATIVE.supports(torch.bfloat16):
        pytest.skip("no bf16 kernels on this machine")
    assert cpu_engine("native", torch.bfloat16).model.per_slot_cache_dtype == torch.bfloat16


@needs_native
@pytest.mark.parametrize("dtype,cache_dtype", [(torch.float32, torch.float32), (torch.bfloat16, torch.bfloat16),
                                               (torch.bfloat16, torch.float32)])
def test_a_steps_rope_and_cache_write_match_the_torch_path(dtype, cache_dtype):
    from dia_engine.model import Attention, RotaryEmbedding

    torch.manual_seed(3)
    attn = Attention(64, 64, 64, num_heads=4, num_kv_heads=2, head_dim=16).to(dtype)
    rope = RotaryEmbedding(16, 10000.0)
    h = torch.randn(6, 1, 64).to(dtype)
    positions = torch.tensor([0, 0, 7, 7, 30, 30])
    tables = rope.tables(positions.unsqueeze(1))
    results = []
    for native in (False, True):
        attn.use_native = native
        caches = [torch.zeros(6, 2, 40, 16, dtype=cache_dtype) for _ in range(2)]
        q = attn.project_step(h, rope, tables, *caches, positions)
        results.append((q, *caches))
    for torch_side, native_side in zip(*results):
        assert torch_side.shape == native_side.shape and torch_side.dtype == native_side.dtype
        # The same math in another order: equal, or one rounding apart in the model's dtype.
        tol = 1e-6 if dtype == torch.float32 else 2**-7
        assert ((native_side.float() - torch_side.float()).abs() <= tol * (1 + torch_side.float().abs())).all()
    cache_k = results[1][1]
    assert cache_k[2, :, 7].any() and not cache_k[2, :, 6].any() and not cache_k[2, :, 8].any()
