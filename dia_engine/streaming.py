"""Streaming a line's audio while it generates, for any codec family.

Once per decoder step, the generation loop hands `AudioChunker.push` the codec frames of each line that have
just become final (they will never change). The chunker cuts them into chunks of `chunk_frames` and decodes each chunk in a
window with `left_context` frames before it and `right_context` after it, keeping only the chunk's own
samples. When both contexts cover the codec decoder's receptive field, every sample equals the sample of
decoding the whole line at once (up to float rounding), so the chunks, concatenated, are the finished take.

A causal codec (Mimi) needs no right context but a long left one; a non-causal codec (DAC) needs both, so
a chunk goes out once `right_context` frames past its end are final, or when the line ends.

The windows of all lines whose chunks are ready in the same step are decoded in one batched codec call:
the lines of a batch move in step, so on a GPU a step's chunks cost about what one costs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

ChunkFn = Callable[[int, np.ndarray, int], None]  # (line index, float32 samples, first sample's offset)
DecodeFn = Callable[[np.ndarray], np.ndarray]  # frames [B, T, codebooks] -> samples [B, T * samples_per_frame]

DEFAULT_CHUNK_SECONDS = 0.25


def receptive_field_frames(decoder: torch.nn.Module) -> tuple[int, int]:
    """(left, right) frames of codec input one output sample of a convolutional decoder depends on.

    Walks the decoder's Conv1d / ConvTranspose1d layers in order (a chain, residual branches included, whose
    skip paths reach no further than the branch) and adds each layer's reach, converted to frames at the
    sample rate where that layer runs. Pointwise layers (activations, 1x1 convolutions) add nothing. The sum
    is an upper bound; `tests/test_streaming.py` checks it against a measured decode.
    """
    rate, left, right = 1, 0.0, 0.0  # rate: samples per frame at the current layer's input
    for module in decoder.modules():
        if isinstance(module, torch.nn.ConvTranspose1d):
            k, s, p = module.kernel_size[0], module.stride[0], module.padding[0]
            left += (k - 1 - p) / s / rate
            right += p / s / rate
            rate *= s
        elif isinstance(module, torch.nn.Conv1d):
            k, d, p = module.kernel_size[0], module.dilation[0], module.padding[0]
            if module.stride[0] != 1:
                raise ValueError("a strided Conv1d in a decoder: the receptive field walk does not handle it")
            left += p / rate
            right += ((k - 1) * d - p) / rate
    return math.ceil(left), math.ceil(right)


@dataclass
class _Line:
    frames: np.ndarray  # [capacity, codebooks]; rows [0, count) hold the line's final frames
    count: int = 0
    emitted: int = 0  # frames whose audio has gone out
    chunks: int = 0
    replayed: int = 0  # frames still to skip after `replay` (they are held already)

    def append(self, new: np.ndarray) -> None:
        if self.count + len(new) > len(self.frames):
            grown = np.empty((max(2 * len(self.frames), self.count + len(new)), new.shape[1]), new.dtype)
            grown[: self.count] = self.frames[: self.count]
            self.frames = grown
        self.frames[self.count : self.count + len(new)] = new
        self.count += len(new)


@dataclass
class _Window:
    index: int
    frames: np.ndarray  # the window [lo, hi) of the line's frames
    skip: int  # frames of left context in the window
    length: int  # frames of the chunk
    start: int  # the chunk's first frame in the line


@dataclass
class AudioChunker:
    """Turns each line's newly final frames into audio chunks `on_chunk(index, samples, start_sample)`.

    One chunker serves a whole batch: lines are told apart by `index`. Chunks of a line arrive in order and
    tile its audio without gap or overlap; the first starts at sample 0.
    """

    decode: DecodeFn
    samples_per_frame: int
    left_context: int
    right_context: int
    chunk_frames: int
    on_chunk: ChunkFn
    _lines: dict[int, _Line] = field(default_factory=dict)
    _ready: list[_Window] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.chunk_frames < 1:
            raise ValueError(f"a chunk must hold at least one frame, got {self.chunk_frames}")
        if self.left_context < 0 or self.right_context < 0:
            raise ValueError("context frames cannot be negative")

    @classmethod
    def for_seconds(cls, decode: DecodeFn, *, sample_rate: int, samples_per_frame: int, left_context: int,
                    right_context: int, on_chunk: ChunkFn, chunk_seconds: float = DEFAULT_CHUNK_SECONDS
                    ) -> "AudioChunker":
        """A chunker whose chunks hold at most `chunk_seconds` of audio (at least one frame)."""
        if not chunk_seconds > 0:
            raise ValueError(f"chunk_seconds must be > 0, got {chunk_seconds}")
        frames = max(1, int(chunk_seconds * sample_rate / samples_per_frame))
        return cls(decode, samples_per_frame, left_context, right_context, frames, on_chunk)

    def push(self, final: dict[int, tuple[np.ndarray, bool]]) -> None:
        """One decoder step: {line index: (its newly final frames, whether the line is finished)}; sends every
        chunk now ready."""
        for index, (frames, finished) in final.items():
            self.feed(index, frames, finished)
        self.flush()

    def feed(self, index: int, frames: np.ndarray, finished: bool = False) -> None:
        """Add line `index`'s newly final frames [n, codebooks] (n may be 0); its chunks now ready go out at
        the next `flush`. `finished`: the line has no more frames; the rest of its audio goes out."""
        line = self._lines.get(index)
        if line is None:
            if len(frames) == 0 and not finished:
                return
            line = self._lines[index] = _Line(np.empty((max(64, len(frames)), frames.shape[1]), frames.dtype))
        if line.replayed:
            skip = min(line.replayed, len(frames))
            frames, line.replayed = frames[skip:], line.replayed - skip
        if len(frames):
            line.append(frames)
        # A chunk may go out once the frames its last samples depend on are final (all of them at the end).
        ready = line.count if finished else line.count - self.right_context
        while ready - line.emitted >= self.chunk_frames or (finished and ready > line.emitted):
            start, end = line.emitted, min(line.emitted + self.chunk_frames, ready)
            lo, hi = max(0, start - self.left_context), min(line.count, end + self.right_context)
            self._ready.append(_Window(index, line.frames[lo:hi].copy(), start - lo, end - start, start))
            line.emitted = end
            line.chunks += 1
        if finished:
            del self._lines[index]

    def flush(self) -> None:
        """Decode the ready chunks, windows of the same length together, and send them in order."""
        ready, self._ready = self._ready, []
        audio: dict[int, np.ndarray] = {}
        by_length: dict[int, list[int]] = {}
        for i, window in enumerate(ready):
            by_length.setdefault(len(window.frames), []).append(i)
        for group in by_length.values():
            decoded = self.decode(np.stack([ready[i].frames for i in group]))
            for row, i in enumerate(group):
                audio[i] = decoded[row]
        hop = self.samples_per_frame
        for i, window in enumerate(ready):
            samples = audio[i][window.skip * hop : (window.skip + window.length) * hop]
            self.on_chunk(window.index, np.ascontiguousarray(samples, dtype=np.float32), window.start * hop)

    def replay(self) -> None:
        """Every line starts over from its first frame (the engine retries after running out of memory):
        the frames a line already holds are skipped when they come again."""
        for line in self._lines.values():
            line.replayed = line.count

    def cancel(self, index: int) -> None:
        """Forget line `index`: nothing more of it is sent."""
        self._lines.pop(index, None)
        self._ready = [w for w in self._ready if w.index != index]
