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
# (windows [B, T, codebooks], skip, length) -> samples [B, length * samples_per_frame] of frames [skip, skip+length)
DecodeFn = Callable[[np.ndarray, int, int], np.ndarray]

DEFAULT_CHUNK_SECONDS = 0.25


def conv_reach(module: torch.nn.Module) -> tuple[float, float, int]:
    """(left, right, upsampling) of a chain of Conv1d / ConvTranspose1d layers (residual branches included,
    whose skip paths reach no further than the branch): how far, in samples of the module's input, one output
    sample looks back and ahead, and how many output samples each input sample becomes.

    Adds each layer's reach, converted to input samples; pointwise layers (activations, 1x1 convolutions)
    add nothing. The sum is an upper bound; `tests/test_streaming.py` checks it against a measured decode.
    """
    rate, left, right = 1, 0.0, 0.0  # rate: samples at the current layer's input per module input sample
    for layer in module.modules():
        if isinstance(layer, torch.nn.ConvTranspose1d):
            k, s, p = layer.kernel_size[0], layer.stride[0], layer.padding[0]
            left += (k - 1 - p) / s / rate
            right += p / s / rate
            rate *= s
        elif isinstance(layer, torch.nn.Conv1d):
            k, d, p = layer.kernel_size[0], layer.dilation[0], layer.padding[0]
            if layer.stride[0] != 1:
                raise ValueError("a strided Conv1d in a decoder: the receptive field walk does not handle it")
            left += p / rate
            right += ((k - 1) * d - p) / rate
    return left, right, rate


def receptive_field_frames(decoder: torch.nn.Module) -> tuple[int, int]:
    """(left, right) codec frames one output sample of a convolutional decoder depends on."""
    left, right, _ = conv_reach(decoder)
    return math.ceil(left), math.ceil(right)


class CroppedDecoder:
    """Decodes a window of frames layer by layer, keeping after each stage only the samples that the
    chunk's own samples still depend on.

    Decoding a chunk of C frames with the full receptive field (L before, R after) computes L + C + R frames
    at every layer; but the reach of a convolutional decoder comes mostly from its first, low-rate layers,
    while the work is spread over all of them. Cropping between stages runs the costly late stages on little
    more than the chunk (about 1.15x the chunk's own cost for the 44 kHz DAC instead of 2x). The samples are
    those of the full decode: each crop keeps every sample the remaining stages read.
    """

    def __init__(self, stages: list[torch.nn.Module]):
        self.stages = stages
        reach = [conv_reach(stage) for stage in stages]
        rates, rate = [], 1  # samples per frame at each stage's input
        for _, _, up in reach:
            rates.append(rate)
            rate *= up
        self.samples_per_frame = rate
        # Frames that the stages after stage i still look back / ahead.
        self._after = [(sum(l / r for (l, _, _), r in zip(reach[i + 1:], rates[i + 1:])),
                        sum(rr / r for (_, rr, _), r in zip(reach[i + 1:], rates[i + 1:])))
                       for i in range(len(stages))]
        self._ups = [up for _, _, up in reach]
        self._rates_out = [r * up for r, up in zip(rates, self._ups)]

    def __call__(self, x: torch.Tensor, skip: int, length: int) -> torch.Tensor:
        """`x` [B, channels, frames] (the window) -> samples [B, channels out, length * samples_per_frame] of
        frames [skip, skip + length) of the window."""
        offset = 0  # window-relative position of x[..., 0], in samples at the current rate
        for stage, (back, ahead), up, rate in zip(self.stages, self._after, self._ups, self._rates_out):
            x = stage(x)
            offset *= up
            lo = max(offset, math.floor((skip - back) * rate))
            hi = min(offset + x.shape[-1], math.ceil((skip + length + ahead) * rate))
            x, offset = x[..., lo - offset : hi - offset], lo
        hop = self.samples_per_frame
        return x[..., skip * hop - offset : (skip + length) * hop - offset]


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
        """Decode the ready chunks, windows of the same shape together, and send them in order."""
        ready, self._ready = self._ready, []
        audio: dict[int, np.ndarray] = {}
        alike: dict[tuple[int, int, int], list[int]] = {}
        for i, window in enumerate(ready):
            alike.setdefault((len(window.frames), window.skip, window.length), []).append(i)
        for (_, skip, length), group in alike.items():
            decoded = self.decode(np.stack([ready[i].frames for i in group]), skip, length)
            for row, i in enumerate(group):
                audio[i] = decoded[row]
        for i, window in enumerate(ready):
            self.on_chunk(window.index, np.ascontiguousarray(audio[i], dtype=np.float32),
                          window.start * self.samples_per_frame)

    def replay(self) -> None:
        """Every line starts over from its first frame (the engine retries after running out of memory):
        the frames a line already holds are skipped when they come again."""
        for line in self._lines.values():
            line.replayed = line.count

    def cancel(self, index: int) -> None:
        """Forget line `index`: nothing more of it is sent."""
        self._lines.pop(index, None)
        self._ready = [w for w in self._ready if w.index != index]
