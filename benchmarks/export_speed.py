"""Export speed and memory on synthetic episodes: time and peak RSS of `Project.export` for 10 and 60 minutes.

    python benchmarks/export_speed.py            # 10 and 60 minutes
    python benchmarks/export_speed.py --minutes 10

Each episode is a project of synthetic takes (speech-like: noise shaped by a syllable envelope, a few loud
peaks so the limiter works) written with `Project.add_take`. The export runs in a fresh process so its peak
RSS is its own (it includes the interpreter, numpy, scipy and torch, which `projects` imports through
dia_engine). Target: a one-hour episode exports under 1.5 GB peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RATE = 44100
TAKE_SECONDS = 6.0


def synthetic_take(rng: np.random.Generator, seconds: float) -> np.ndarray:
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    syllables = np.clip(np.sin(2 * np.pi * rng.uniform(3, 5) * t + rng.uniform(0, 6)), 0, None) ** 2
    voice = np.sin(2 * np.pi * rng.uniform(110, 220) * t) * 0.6 + rng.standard_normal(n) * 0.05
    audio = 0.25 * syllables * voice
    for spot in rng.integers(0, n, 3):  # plosives: a few peaks per line for the limiter
        audio[spot : spot + 200] *= 1.8
    return audio.astype(np.float32)


def build(folder: Path, minutes: float) -> None:
    from projects.model import Sampling
    from projects.project import Project

    lines = int(minutes * 60 / (TAKE_SECONDS + 0.3))
    project = Project.create(folder)
    project.set_script("\n".join(f"[S{1 + i % 2}] Line number {i}." for i in range(lines)))
    rng = np.random.default_rng(0)
    for line in project.lines:
        project.add_take(line.id, synthetic_take(rng, TAKE_SECONDS), RATE, seed=1, sampling=Sampling(),
                         model_id="synthetic", fingerprint=project.fingerprint(line.id))


def export(folder: Path) -> dict:
    from projects.export import ExportOptions
    from projects.project import Project

    project = Project.open(folder)
    start = time.perf_counter()
    result = project.export(folder / "out" / "episode.wav", ExportOptions(bit_depth="24"))
    seconds = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    return {"duration_min": result.duration / 60, "export_s": seconds, "peak_rss_mb": peak_kb / 1024,
            "loudness_lufs": result.loudness_lufs, "true_peak_dbtp": result.true_peak_dbtp,
            "limited_db": result.limited_db}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, nargs="*", default=[10, 60])
    parser.add_argument("--export-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_only:
        print(json.dumps(export(args.export_only)))
        return
    for minutes in args.minutes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "episode"
            built = time.perf_counter()
            build(folder, minutes)
            built = time.perf_counter() - built
            out = subprocess.run([sys.executable, __file__, "--export-only", str(folder)], check=True,
                                 capture_output=True, text=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{r['duration_min']:.1f} min episode: export {r['export_s']:.1f} s, peak RSS "
                  f"{r['peak_rss_mb']:.0f} MB, {r['loudness_lufs']:.2f} LUFS, true peak {r['true_peak_dbtp']:.2f} dBTP, "
                  f"limiting up to {r['limited_db']:.1f} dB "
                  f"(takes written in {built:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
