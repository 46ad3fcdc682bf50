"""Exporting a timeline: the loudness-normalised mix as WAV or FLAC, optional stems, subtitles and a JSON manifest.

For `episode.wav` the other files are `episode.S1.wav` (one per stem), `episode.srt`, `episode.vtt` and
`episode.json`. Every file is written atomically, and the same takes always give byte-identical files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

import soundfile as sf

from .files import atomic_path, atomic_write_bytes
from .loudness import CEILING_DBTP, STRETCH, GainCurve, normalise
from .model import DEFAULT_LUFS
from .subtitles import Cue, line_cues, to_srt, to_vtt
from .timeline import Placement, Timeline
from .words import on_timeline

SUBTYPES = {"16": "PCM_16", "24": "PCM_24", "float": "FLOAT"}
LOUDNESS_TOLERANCE_LU = 0.5
HEAVY_LIMITING_DB = 8.0


@dataclass(frozen=True)
class ExportOptions:
    lufs: float = DEFAULT_LUFS
    format: Literal["wav", "flac"] = "wav"
    bit_depth: Literal["16", "24", "float"] = "24"
    stems: bool = False
    subtitles: bool = False
    manifest: bool = True
    ceiling_dbtp: float = CEILING_DBTP

    def __post_init__(self) -> None:
        if self.format not in ("wav", "flac"):
            raise ValueError(f"unknown export format {self.format!r}: use wav or flac")
        if self.bit_depth not in SUBTYPES:
            raise ValueError(f"unknown bit depth {self.bit_depth!r}: use 16, 24 or float")
        if self.format == "flac" and self.bit_depth == "float":
            raise ValueError("FLAC holds 16- or 24-bit audio, not float: choose --bit-depth 16 or 24, or WAV")
        if not (-70.0 <= self.lufs <= 0.0):
            raise ValueError(f"target loudness {self.lufs} LUFS is out of range (-70 to 0)")


@dataclass
class ExportResult:
    mix: Path
    files: list[Path]  # every file written, the mix first
    duration: float  # seconds
    loudness_lufs: float | None  # measured on the exported mix; None when too short or silent to measure
    true_peak_dbtp: float
    limited_db: float  # deepest gain reduction of the peak limiter
    warnings: list[str] = field(default_factory=list)


def sibling(out: Path, suffix: str) -> Path:
    """`episode.wav` + `.S1.wav` -> `episode.S1.wav`."""
    return out.with_name(out.stem + suffix)


def write_shaped(path: Path, chunks, curve: GainCurve, rate: int, *, format: str, subtype: str) -> None:
    """Write (start, samples) stretches times the gain curve, atomically, a stretch at a time."""
    with atomic_path(path) as temp, sf.SoundFile(str(temp), "w", rate, 1, subtype, format=format) as handle:
        for start, samples in chunks:
            handle.write(curve.apply(samples, start).astype(np.float32))


def _timed_words(p: Placement, rate: int) -> list | None:
    """The clip's words (Dia2 takes) on the timeline: after its start, less the silence trimmed off its head."""
    words = p.spec.info.get("words")
    if not words:
        return None
    return on_timeline(words, p.start / rate, p.end / rate, trimmed=p.trim[0] / rate)


def _cues(p: Placement, rate: int) -> list[Cue]:
    """Word-timed cues for a clip with word timings; else one cue spanning the clip."""
    start, end, info = p.start / rate, p.end / rate, p.spec.info
    words = _timed_words(p, rate)
    if words and info.get("turns"):
        return line_cues(info["turns"], info["names"], start, end, words)
    return [Cue(start, end, info.get("cue", ""))]


def export_timeline(timeline: Timeline, out: Path, options: ExportOptions) -> ExportResult:
    """Write the mix and the extras asked for in `options`. Each clip's `info` may hold "cue" (its subtitle
    text) and "manifest" (its fields in the manifest). Memory: the float32 mix plus a few stretches."""
    out = Path(out)
    rate = timeline.sample_rate
    mix = timeline.mix()
    warnings: list[str] = []
    if not len(mix):
        raise ValueError("there is no audio to export: the timeline is empty")
    norm = normalise(mix, rate, options.lufs, options.ceiling_dbtp)
    if norm.loudness_lufs is None:
        warnings.append("the mix is too short or too quiet to measure its loudness: it was not normalised")
    elif abs(norm.loudness_lufs - options.lufs) > LOUDNESS_TOLERANCE_LU:
        warnings.append(f"the mix reaches {norm.loudness_lufs:.1f} LUFS, not {options.lufs:.1f}: louder would need "
                        f"more than the true-peak ceiling of {options.ceiling_dbtp:.1f} dBTP allows")
    if norm.limited_db > HEAVY_LIMITING_DB:
        warnings.append(f"reaching {options.lufs:.1f} LUFS took up to {norm.limited_db:.0f} dB of peak limiting, "
                        "which can sound squashed: a lower target keeps more of the speech's dynamics")
    suffix = f".{options.format}"
    fmt = options.format.upper()
    subtype = SUBTYPES[options.bit_depth]
    files: list[Path] = []

    mix_chunks = ((start, mix[start : start + STRETCH]) for start in range(0, len(mix), STRETCH))
    write_shaped(out, mix_chunks, norm.gain, rate, format=fmt, subtype=subtype)
    files.append(out)
    stems: dict[str, str] = {}
    if options.stems:
        for name in timeline.stem_names():
            path = sibling(out, f".{name}{suffix}")
            # The mix's own gain curve: stems keep its loudness and timing and sum back to it.
            write_shaped(path, timeline.chunks(STRETCH, name), norm.gain, rate, format=fmt, subtype=subtype)
            files.append(path)
            stems[name] = path.name
    if options.subtitles:
        cues = [cue for p in timeline.placements for cue in _cues(p, rate)]
        for extension, render in ((".srt", to_srt), (".vtt", to_vtt)):
            path = sibling(out, extension)
            atomic_write_bytes(path, render(cues).encode("utf-8"))
            files.append(path)
    if options.manifest:
        path = sibling(out, ".json")
        lines = []
        for placement in timeline.placements:
            words = _timed_words(placement, rate)
            lines.append({**placement.spec.info.get("manifest", {}),
                          "start": round(placement.start / rate, 3), "end": round(placement.end / rate, 3),
                          **({"words": [{"word": w, "start": round(t, 3)} for w, t in words]} if words else {})})
        manifest = {
            "mix": out.name,
            "format": options.format,
            "bit_depth": options.bit_depth,
            "sample_rate": rate,
            "duration": round(len(mix) / rate, 3),
            "target_lufs": options.lufs,
            "loudness_lufs": None if norm.loudness_lufs is None else round(norm.loudness_lufs, 2),
            "true_peak_dbtp": round(norm.true_peak_dbtp, 2),
            "stems": stems,
            "lines": lines,
        }
        atomic_write_bytes(path, (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
        files.append(path)
    return ExportResult(out, files, len(mix) / rate, norm.loudness_lufs, norm.true_peak_dbtp, norm.limited_db,
                        warnings)
