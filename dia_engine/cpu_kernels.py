"""Our own CPU kernels for the decode step (`cpu_kernels.c`), built on first use.

A decode step is bound by how fast the weights stream from memory. oneDNN's few-row kernels read them at
70-80% of a plain sum's speed on the 2-core AVX-512 CPU we measure on; our linear kernel reads them at about
the speed of the sum and keeps every row's bits independent of the row count. In bfloat16 on a CPU with AMX
(Sapphire Rapids and later) the tile unit does the multiplying, so 16 rows (8 lines with their guidance rows)
cost a step about what 2 do. Attention over every slot, RMSNorm, and RoPE with the cache write each take one
call where torch needs many small operations.

The library is compiled with the system C compiler for this very CPU (`-march=native`) the first time it is
needed, and the library is cached in the app's cache folder (`appdirs.cache_dir()`, or `DIA_STUDIO_CACHE`). Without a compiler,
without OpenMP, without AVX-512 or with `DIA_NATIVE_KERNELS=0`, `load()` gives None and the engine keeps
oneDNN, so nothing but speed depends on it.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

import torch
import torch.nn.functional as F

from . import appdirs

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("cpu_kernels.c")
ABI = 6
PANEL = 32  # output columns per panel, as in cpu_kernels.c
FLAGS = ["-O3", "-march=native", "-fopenmp", "-shared", "-fPIC"]
FEATURE_BITS = {torch.float32: 1, torch.bfloat16: 2}
AMX_BIT = 4  # the AMX tile unit can be used (bf16 linear layers with K a multiple of 32)
MODEL_DTYPES = (torch.float32, torch.bfloat16)


class NativeKernels:
    """The loaded library: which dtypes this CPU runs, and a Python entry point per kernel."""

    def __init__(self, lib: ctypes.CDLL):
        if lib.dia_kernels_abi() != ABI:
            raise OSError("the cached kernel library is from another version")
        self.lib = lib
        self.features = lib.dia_kernels_features()
        args = [ctypes.c_void_p] * 3 + [ctypes.c_int64] * 3 + [ctypes.c_int]
        self._fns = {}
        for dtype, name in ((torch.float32, "dia_linear_f32"), (torch.bfloat16, "dia_linear_bf16")):
            if self.supports(dtype):
                fn = getattr(lib, name)
                fn.argtypes, fn.restype = args, None
                self._fns[dtype] = fn
        # bf16 on the tile unit: 8 lines cost a step hardly more than 1. Off with DIA_NATIVE_AMX=0.
        self.amx = bool(self.features & AMX_BIT) and os.environ.get("DIA_NATIVE_AMX", "1") != "0"
        if self.amx:
            self._amx = lib.dia_linear_bf16_amx
            self._amx.argtypes, self._amx.restype = args, ctypes.c_int
        self._norm = lib.dia_rms_norm
        self._norm.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                               ctypes.c_float, ctypes.c_int, ctypes.c_int]
        self._norm.restype = None
        self._rope = lib.dia_rope_store
        self._rope.argtypes = [ctypes.c_void_p] * 8 + [ctypes.c_int64] * 6 + [ctypes.c_int, ctypes.c_int]
        self._rope.restype = None
        if self.supports(torch.float32):
            self._attend = lib.dia_attend
            self._attend.argtypes = [ctypes.c_int64, ctypes.c_void_p, ctypes.c_void_p] + [ctypes.c_int64] * 3 + [
                ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
            self._attend.restype = None

    def supports(self, dtype: torch.dtype) -> bool:
        return bool(self.features & FEATURE_BITS.get(dtype, 0))

    def linear(self, x: torch.Tensor, packed: torch.Tensor, out_features: int) -> torch.Tensor:
        """x [..., K] @ W^T for a weight packed by `pack`; the result has x's leading dims."""
        k = x.shape[-1]
        rows = x.reshape(-1, k)
        if rows.dtype != packed.dtype:
            raise TypeError(f"input is {rows.dtype} but the weight is {packed.dtype}")
        rows = rows.contiguous()
        out = torch.empty(rows.shape[0], out_features, dtype=rows.dtype)
        # ctypes releases the GIL for the call; the thread count follows torch's. The AMX kernel declines (-1)
        # a K it does not take; the choice rests on the dtype and K alone, so a layer takes the same path (and
        # gives the same bits) for any row count.
        call = (packed.data_ptr(), rows.data_ptr(), out.data_ptr(), rows.shape[0], out_features, k,
                torch.get_num_threads())
        if not (self.amx and packed.dtype == torch.bfloat16 and self._amx(*call) == 0):
            self._fns[packed.dtype](*call)
        return out.reshape(*x.shape[:-1], out_features)

    @staticmethod
    def norms(x: torch.Tensor, dtype: torch.dtype | None) -> bool:
        """Whether `rms_norm` takes x (on the CPU, float32 or bfloat16) into `dtype` (the same, or None)."""
        return x.device.type == "cpu" and x.dtype in MODEL_DTYPES and (dtype or torch.float32) in MODEL_DTYPES

    def rms_norm(self, x: torch.Tensor, weight: torch.Tensor, eps: float, dtype: torch.dtype | None) -> torch.Tensor:
        """Dia's RMSNorm (see `model.RMSNorm`) in one call; the result in `dtype` (None: float32)."""
        d = x.shape[-1]
        rows = x.reshape(-1, d).contiguous()
        out = torch.empty(rows.shape, dtype=dtype or torch.float32)
        self._norm(rows.data_ptr(), weight.contiguous().data_ptr(), out.data_ptr(), rows.shape[0], d, eps,
                   rows.dtype == torch.bfloat16, out.dtype == torch.bfloat16)
        return out.view(*x.shape[:-1], d)

    def rope_store(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor,
                   cache_k: torch.Tensor, cache_v: torch.Tensor, positions: torch.Tensor) -> None:
        """One step's RoPE and self-attention cache write in one call (see `dia_rope_store`): q [R, 1, H*D]
        is rotated in place; k, v [R, 1, Hkv*D] are rotated (k) and stored at cache[r, :, positions[r]].
        cos, sin: RotaryEmbedding.tables for [R, 1]. Both caches share one contiguous layout [R', Hkv, L, D]."""
        rows, dim = q.shape[0], cache_k.shape[-1]
        for t in (q, k, v, cache_k, cache_v):
            if not t.is_contiguous() or t.dtype not in MODEL_DTYPES:
                raise ValueError("rope_store takes contiguous float32/bfloat16 tensors")
        cos, sin = cos.reshape(rows, -1).contiguous(), sin.reshape(rows, -1).contiguous()
        pos = positions.to(torch.int64).contiguous()
        self._rope(q.data_ptr(), k.data_ptr(), v.data_ptr(), cos.data_ptr(), sin.data_ptr(), cache_k.data_ptr(),
                   cache_v.data_ptr(), pos.data_ptr(), rows, q.shape[-1] // dim, cache_k.shape[1], dim,
                   cache_k.stride(0), cache_k.stride(1), q.dtype == torch.bfloat16, cache_k.dtype == torch.bfloat16)

    def attends(self, k: torch.Tensor, v: torch.Tensor) -> bool:
        """Whether `attend` takes these keys/values [2, Hkv, n, D]: float32 (or bfloat16 where this CPU has
        the bf16 kernels), each key's D values contiguous and keys D apart, values laid out like the keys, D at
        most 128."""
        d = k.shape[-1]
        return (self.supports(torch.float32) and k.dtype == v.dtype and self.supports(k.dtype) and d <= 128
                and k.shape == v.shape and k.stride() == v.stride() and k.stride(-1) == 1 and k.stride(-2) == d)

    def attend(self, q: torch.Tensor, slot_kv: list[tuple[torch.Tensor, torch.Tensor] | None]) -> torch.Tensor:
        """One query per row, slot by slot over each slot's own keys, all slots in one call (see
        `dia_attend`). q [2S, H, 1, D]; slot_kv[s]: k, v [2, Hkv, n, D] (`attends` must hold) or None for an
        empty slot, whose output is zeros. Returns [2S, H, 1, D] in q's dtype."""
        rows, heads, _, dim = q.shape
        desc, kv_heads, kv_bf16 = [], 1, False
        for kv in slot_kv:
            if kv is None:
                desc += [0, 0, 0, 0, 0]
                continue
            k, v = kv
            kv_heads, kv_bf16 = k.shape[1], k.dtype == torch.bfloat16
            desc += [k.data_ptr(), v.data_ptr(), k.shape[2], k.stride(0), k.stride(1)]
        slots = torch.tensor(desc, dtype=torch.int64)
        qf = q.reshape(rows, heads, dim).float().contiguous()
        out = torch.empty_like(qf)
        self._attend(len(slot_kv), qf.data_ptr(), out.data_ptr(), heads, kv_heads, dim, slots.data_ptr(), kv_bf16,
                     torch.get_num_threads())
        return out.unsqueeze(2).to(q.dtype)


def pack(weight: torch.Tensor) -> torch.Tensor:
    """[N, K] -> panels of PANEL outputs (N zero-padded up to a multiple): float32 [P, K, 32], bfloat16
    [P, K/2, 32, 2] (k pairs side by side). Same bytes as the weight but for the padding."""
    n, k = weight.shape
    padded = F.pad(weight, (0, 0, 0, -n % PANEL))
    panels = padded.reshape(-1, PANEL, k)
    if weight.dtype == torch.bfloat16:
        return panels.reshape(panels.shape[0], PANEL, k // 2, 2).permute(0, 2, 1, 3).contiguous()
    return panels.permute(0, 2, 1).contiguous()


def packable(weight: torch.Tensor) -> bool:
    """Whether `pack` and the kernel take this weight (bf16 needs an even K: it multiplies k in pairs)."""
    return weight.dtype == torch.float32 or (weight.dtype == torch.bfloat16 and weight.shape[1] % 2 == 0)


@functools.cache
def load() -> NativeKernels | None:
    """The kernel library for this CPU, built on first use; None when it cannot be had (see the module doc)."""
    if os.environ.get("DIA_NATIVE_KERNELS", "1") == "0":
        return None
    try:
        kernels = NativeKernels(ctypes.CDLL(str(build(cache_dir()))))
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        log.info("native CPU kernels unavailable, using oneDNN: %s", exc)
        return None
    if not kernels.supports(torch.float32):  # built without AVX-512 (e.g. an AVX2-only CPU): nothing it can run
        log.info("native CPU kernels need AVX-512; using oneDNN")
        return None
    return kernels


def cache_dir() -> Path:
    return appdirs.cache_dir() / "kernels"


def build(directory: Path, compiler: str | None = None) -> Path:
    """Compile cpu_kernels.c for this machine into `directory` (once per source, compiler and CPU)."""
    cc = compiler or os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise RuntimeError("no C compiler found (set CC)")
    try:
        version = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30).stdout
    except OSError as exc:
        raise RuntimeError(f"cannot run the C compiler '{cc}': {exc}") from None
    key = hashlib.sha256("\0".join([SOURCE.read_text(), cc, version, " ".join(FLAGS), platform.machine(),
                                    _cpu_flags()]).encode()).hexdigest()[:16]
    target = directory / f"cpu_kernels-{key}.so"
    if target.exists():
        return target
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        built = Path(tmp) / target.name
        result = subprocess.run([cc, *FLAGS, str(SOURCE), "-o", str(built)], capture_output=True, text=True,
                                timeout=300)
        if result.returncode != 0:
            raise RuntimeError(f"compiling {SOURCE.name} failed: {result.stderr.strip()[-500:]}")
        os.replace(built, target)  # atomic: another process never loads half a library
    return target


def _cpu_flags() -> str:
    """The CPU's feature flags (Linux), so that a cache moved to another CPU is not reused."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return line
    except OSError:
        pass
    return platform.processor()
