"""The timeline: active takes in script order, each after its gap, with gain, optional silence trim and edge fades.

A negative gap overlaps a line with the one before it; the overlap is an equal-power crossfade. Every clip
gets short raised-cosine fades at its edges so joins never click. The mix and the per-speaker stems are
sums of the same placed clips, so stems line up with the mix sample for sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .audio import EDGE_FADE_MS, apply_fades, db_to_gain, equal_power_curves, ms_to_samples, silence_bounds
from .store import ProjectError


@dataclass(frozen=True)
class ClipSpec:
    """One line's active take and how to place it."""

    line_id: str
    audio: np.ndarray
    gap_ms: float = 300.0  # silence before the clip (ignored for the first); negative overlaps the previous one
    gain_db: float = 0.0
    trim_silence: bool = False
    stem: str = "S1"  # which stem the clip belongs to: "S1", "S2", or "S1+S2" for a line with both voices
    info: dict = field(default_factory=dict)  # carried through for subtitles and the manifest


@dataclass
class Placement:
    spec: ClipSpec
    start: int  # first sample in the mix
    audio: np.ndarray  # the processed clip (trimmed, gain, fades, crossfades), float64

    @property
    def end(self) -> int:
        return self.start + len(self.audio)


@dataclass
class Timeline:
    sample_rate: int
    placements: list[Placement]
    warnings: list[str] = field(default_factory=list)  # takes left out (damaged, unreadable), named with their file

    @property
    def length(self) -> int:
        return max((p.end for p in self.placements), default=0)

    @property
    def duration(self) -> float:
        return self.length / self.sample_rate

    def stem_names(self) -> list[str]:
        return sorted({p.spec.stem for p in self.placements})

    def mix(self, stem: str | None = None) -> np.ndarray:
        """The sum of all placed clips (float64), or of one stem's clips with the mix's length and timing."""
        out = np.zeros(self.length)
        for placement in self.placements:
            if stem is None or placement.spec.stem == stem:
                out[placement.start : placement.end] += placement.audio
        return out


class IncompleteProjectError(ProjectError):
    """Some lines have no usable take yet."""


def _prepare(spec: ClipSpec, sample_rate: int) -> np.ndarray:
    audio = np.asarray(spec.audio, dtype=np.float64)
    if spec.trim_silence:
        start, end = silence_bounds(audio, sample_rate)
        audio = audio[start:end]
    audio = audio * db_to_gain(spec.gain_db)
    fade = ms_to_samples(EDGE_FADE_MS, sample_rate)
    return apply_fades(audio, fade, fade)


def arrange(clips: list[ClipSpec], sample_rate: int) -> Timeline:
    """Place clips one after another. The first starts at 0; each next one starts `gap_ms` after the previous
    ends, or overlaps it by -`gap_ms` (at most the shorter clip's length) with an equal-power crossfade."""
    placements: list[Placement] = []
    previous: Placement | None = None
    for spec in clips:
        audio = _prepare(spec, sample_rate)
        if previous is None:
            start = 0
        else:
            gap = ms_to_samples(spec.gap_ms, sample_rate)
            if gap >= 0:
                start = previous.end + gap
            else:
                overlap = min(-gap, len(previous.audio), len(audio))
                start = previous.end - overlap
                if overlap:
                    fade_out, fade_in = equal_power_curves(overlap)
                    previous.audio[len(previous.audio) - overlap :] *= fade_out
                    audio[:overlap] *= fade_in
        placement = Placement(spec, start, audio)
        placements.append(placement)
        previous = placement
    return Timeline(sample_rate, placements)
