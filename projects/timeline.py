"""The timeline: active takes in script order, each after its gap, with gain, optional silence trim and edge fades.

A negative gap overlaps a line with the one before it; the overlap is an equal-power crossfade. Every clip
gets short raised-cosine fades at its edges so joins never click. The mix and the per-speaker stems are
sums of the same placed clips, so stems line up with the mix sample for sample.

Memory stays flat with the episode's length: a clip's audio may be given as a loader (a take file read when
needed), placements keep only where each clip goes and how it is shaped, and the mix is rendered in float32,
whole (`mix`) or a stretch at a time (`render`), each clip processed from its take when a stretch needs it.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .audio import EDGE_FADE_MS, db_to_gain, equal_power_curves, ms_to_samples, silence_bounds
from .store import ProjectError

AudioSource = np.ndarray | Callable[[], np.ndarray]
CLIP_CACHE_BYTES = 64 << 20  # processed clips kept while rendering stretch by stretch


@dataclass(frozen=True)
class ClipSpec:
    """One line's active take and how to place it."""

    line_id: str
    audio: AudioSource  # samples, or a function returning them (read when needed, not kept)
    gap_ms: float = 300.0  # silence before the clip (ignored for the first); negative overlaps the previous one
    gain_db: float = 0.0
    trim_silence: bool = False
    stem: str = "S1"  # which stem the clip belongs to: "S1", "S2", or "S1+S2" for a line with both voices
    info: dict = field(default_factory=dict)  # carried through for subtitles and the manifest
    key: object = None  # identifies the audio (e.g. a take id) so a processed clip can be cached across edits

    def load(self) -> np.ndarray:
        return np.asarray(self.audio() if callable(self.audio) else self.audio, dtype=np.float32)


@dataclass
class Placement:
    spec: ClipSpec
    start: int  # first sample in the mix
    length: int  # samples after trimming
    trim: tuple[int, int]  # the span of the take that is kept
    fade: int  # edge fade at each end (samples)
    head: int = 0  # samples crossfaded in from the clip before (equal-power fade-in)
    tail: int = 0  # samples crossfaded out into the clip after

    @property
    def end(self) -> int:
        return self.start + self.length

    @property
    def shape(self) -> tuple:
        """Everything the processed samples depend on (a cache key together with the audio's key)."""
        return (self.spec.key, self.trim, self.spec.gain_db, self.fade, self.head, self.tail)

    @property
    def audio(self) -> np.ndarray:
        """The processed clip (trimmed, gain, fades, crossfades), float32."""
        return process(self.spec.load(), self)


def process(source: np.ndarray, p: Placement) -> np.ndarray:
    audio = np.asarray(source[p.trim[0] : p.trim[1]], dtype=np.float64) * db_to_gain(p.spec.gain_db)
    n = len(audio)
    fade = min(p.fade, n)
    if fade:
        ramp = _ramp(fade)
        audio[:fade] *= ramp
        audio[n - fade :] *= ramp[::-1]
    if p.head:
        audio[: p.head] *= equal_power_curves(p.head)[1]
    if p.tail:
        audio[n - p.tail :] *= equal_power_curves(p.tail)[0]
    return audio.astype(np.float32)


def _ramp(length: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(np.pi * (np.arange(length) + 0.5) / length)


@dataclass
class Timeline:
    sample_rate: int
    placements: list[Placement]
    warnings: list[str] = field(default_factory=list)  # takes left out (damaged, unreadable), named with their file
    # Processed clips by shape; an editor passes one cache to each new timeline, so an edit re-reads and
    # re-processes only the clips it changed.
    cache: OrderedDict = field(default_factory=OrderedDict, repr=False)
    cache_bytes: int | None = None  # None: CLIP_CACHE_BYTES

    @property
    def length(self) -> int:
        return max((p.end for p in self.placements), default=0)

    @property
    def duration(self) -> float:
        return self.length / self.sample_rate

    def stem_names(self) -> list[str]:
        return sorted({p.spec.stem for p in self.placements})

    def mix(self, stem: str | None = None) -> np.ndarray:
        """The sum of all placed clips (float32), or of one stem's clips with the mix's length and timing."""
        return self.render(0, self.length, stem)

    def render(self, start: int, end: int, stem: str | None = None) -> np.ndarray:
        """Samples [start, end) of the mix (or of one stem), float32."""
        out = np.zeros(max(0, end - start), dtype=np.float32)
        for p in self.placements:
            if (stem is None or p.spec.stem == stem) and p.start < end and p.end > start:
                lo, hi = max(start, p.start), min(end, p.end)
                out[lo - start : hi - start] += self.clip(p)[lo - p.start : hi - p.start]
        return out

    def clip(self, p: Placement) -> np.ndarray:
        """A placement's processed samples, kept a while (renders stretch by stretch reuse them)."""
        key = p.shape if p.spec.key is not None else (id(p), p.shape)
        audio = self.cache.get(key)
        if audio is None:
            audio = p.audio
            self.cache[key] = audio
            limit = self.cache_bytes or CLIP_CACHE_BYTES
            while sum(a.nbytes for a in self.cache.values()) > limit and len(self.cache) > 1:
                self.cache.popitem(last=False)
        else:
            self.cache.move_to_end(key)
        return audio

    def chunks(self, size: int, stem: str | None = None):
        """(start, samples) stretches of `size` covering the mix in order."""
        for start in range(0, self.length, size):
            yield start, self.render(start, min(self.length, start + size), stem)


class IncompleteProjectError(ProjectError):
    """Some lines have no usable take yet."""


def trim_span(spec: ClipSpec, sample_rate: int, audio: np.ndarray | None = None) -> tuple[int, int]:
    audio = spec.load() if audio is None else audio
    return silence_bounds(audio, sample_rate) if spec.trim_silence else (0, len(audio))


def arrange(clips: list[ClipSpec], sample_rate: int,
            spans: Callable[[ClipSpec], tuple[int, int]] | None = None) -> Timeline:
    """Place clips one after another. The first starts at 0; each next one starts `gap_ms` after the previous
    ends, or overlaps it by -`gap_ms` (at most the shorter clip's length) with an equal-power crossfade.

    `spans(spec)` gives the kept span of a clip's audio (default: read it and trim its silence if asked); a
    caller that knows them (the editor caches them per take) saves reading every take again."""
    spans = spans or (lambda spec: trim_span(spec, sample_rate))
    fade = ms_to_samples(EDGE_FADE_MS, sample_rate)
    placements: list[Placement] = []
    previous: Placement | None = None
    for spec in clips:
        trim = spans(spec)
        length = max(0, trim[1] - trim[0])
        if previous is None:
            start, overlap = 0, 0
        else:
            gap = ms_to_samples(spec.gap_ms, sample_rate)
            overlap = 0 if gap >= 0 else min(-gap, previous.length, length)
            start = previous.end + gap if gap >= 0 else previous.end - overlap
            previous.tail = overlap
        placement = Placement(spec, start, length, trim, fade, head=overlap)
        placements.append(placement)
        previous = placement
    return Timeline(sample_rate, placements)
