"""Streamed responses: audio chunks from the engine thread to the client as they are generated.

The engine thread hands each chunk to `ChunkStream.push`, which queues it on the event loop; the response
body (`ChunkStream.body`) encodes the chunks as 16-bit PCM, behind a WAV header whose sizes say "unknown"
(0xFFFFFFFF, what streaming players expect) or as OpenAI's server-sent events. PCM at another rate than the
engine's (OpenAI's 24 kHz) goes through `StreamResampler`, which gives the same samples as resampling the
whole take at once.
"""

from __future__ import annotations

import asyncio
import base64
import json
import math
import struct
from collections.abc import AsyncIterator, Awaitable, Callable

import numpy as np
import torch
import torchaudio.functional

STREAM_FORMATS = ("pcm", "wav")
MEDIA_TYPES = {"pcm": "audio/pcm", "wav": "audio/wav", "sse": "text/event-stream"}
_DONE = object()


def wav_stream_header(sample_rate: int) -> bytes:
    """A 16-bit mono WAV header for a stream of unknown length (RIFF and data sizes 0xFFFFFFFF)."""
    fmt = struct.pack("<HHIIHH", 1, 1, sample_rate, sample_rate * 2, 2, 16)
    return (b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt
            + b"data" + struct.pack("<I", 0xFFFFFFFF))


def pcm16(samples: np.ndarray) -> bytes:
    """As `audio_formats.encode_audio` writes `pcm`: clipped to [-1, 1], scaled by 32767, rounded."""
    return np.round(np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


class StreamResampler:
    """torchaudio's resampling, chunk by chunk, equal to resampling the whole signal at once.

    torchaudio's polyphase resampler works in blocks of `orig/g` input samples that give `new/g` output
    samples each, every block reading at most `width` samples beyond its edges. A block is computed once
    the input reaches `width` past its end, from a window starting one block (>= width) before it.
    """

    def __init__(self, from_rate: int, to_rate: int) -> None:
        g = math.gcd(from_rate, to_rate)
        self.orig, self.new = from_rate // g, to_rate // g
        self.from_rate, self.to_rate = from_rate, to_rate
        # torchaudio's default sinc_interp_hann: lowpass_filter_width 6, rolloff 0.99
        self.width = math.ceil(6 * self.orig / (min(self.orig, self.new) * 0.99))
        self.margin = math.ceil(self.width / self.orig)  # blocks of left context
        self._input = np.zeros(0, np.float32)
        self._offset = 0  # input position of self._input[0] (a block boundary)
        self._done_blocks = 0

    def push(self, samples: np.ndarray, final: bool = False) -> np.ndarray:
        self._input = np.concatenate([self._input, np.asarray(samples, np.float32)])
        total = self._offset + len(self._input)
        if final:
            end_block = math.ceil(total / self.orig)
        else:
            end_block = max((total - self.width) // self.orig, self._done_blocks)
        if end_block <= self._done_blocks:
            return np.zeros(0, np.float32)
        first = max(self._done_blocks - self.margin, 0)  # window start, in blocks
        start = first * self.orig - self._offset
        stop = len(self._input) if final else min(len(self._input), end_block * self.orig + self.width - self._offset)
        out = torchaudio.functional.resample(torch.from_numpy(np.ascontiguousarray(self._input[start:stop])),
                                             self.from_rate, self.to_rate).numpy()
        skip = (self._done_blocks - first) * self.new
        if final:
            total_out = math.ceil(self.new * total / self.orig)
            piece = out[skip : skip + total_out - self._done_blocks * self.new]
        else:
            piece = out[skip : skip + (end_block - self._done_blocks) * self.new]
        self._done_blocks = end_block
        keep_from = max(end_block - self.margin, 0) * self.orig - self._offset  # drop input no longer needed
        if keep_from > 0:
            self._input, self._offset = self._input[keep_from:], self._offset + keep_from
        return piece.astype(np.float32, copy=False)


class ChunkStream:
    """The chunks of one streamed request, from the engine thread to the response body."""

    def __init__(self, sample_rate: int, out_rate: int, fmt: str, sse: bool = False) -> None:
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue = asyncio.Queue()
        self._resampler = StreamResampler(sample_rate, out_rate) if out_rate != sample_rate else None
        self.out_rate, self.fmt, self.sse = out_rate, fmt, sse
        self.samples_in = 0  # engine samples received, to skip a replay (the batch retried this line alone)
        self.samples_out = 0

    # --- engine thread -----------------------------------------------------------------------------------
    def push(self, samples: np.ndarray, start: int) -> None:
        """A chunk starting at sample `start` of the line (called on the engine thread)."""
        skip = self.samples_in - start
        if skip >= len(samples):
            return
        samples = samples[max(skip, 0):]
        self.samples_in += len(samples)
        self._loop.call_soon_threadsafe(self._queue.put_nowait, samples)

    def close(self, _future=None) -> None:
        """No more chunks (a done-callback of the job's future; any thread)."""
        self._loop.call_soon_threadsafe(self._queue.put_nowait, _DONE)

    # --- event loop -------------------------------------------------------------------------------------
    async def next_chunk(self, gone: Awaitable) -> np.ndarray | None | bool:
        """The next chunk; None once the stream is complete; False if `gone` (the client left) came first."""
        get = asyncio.ensure_future(self._queue.get())
        done, _ = await asyncio.wait({get, gone}, return_when=asyncio.FIRST_COMPLETED)
        if get not in done:
            get.cancel()
            return False
        item = get.result()
        return None if item is _DONE else item

    def encode(self, samples: np.ndarray | None) -> bytes:
        """Bytes for a chunk, or for the end of the stream (None)."""
        if self._resampler is not None:
            samples = self._resampler.push(np.zeros(0, np.float32) if samples is None else samples,
                                           final=samples is None)
        elif samples is None:
            samples = np.zeros(0, np.float32)
        data = pcm16(samples)
        self.samples_out += len(samples)
        if not self.sse:
            return data
        if not data:
            return b""
        return sse_event({"type": "speech.audio.delta", "audio": base64.b64encode(data).decode()})

    def header(self) -> bytes:
        if self.fmt != "wav":
            return b""
        head = wav_stream_header(self.out_rate)
        if self.sse:
            return sse_event({"type": "speech.audio.delta", "audio": base64.b64encode(head).decode()})
        return head


def sse_event(payload: dict) -> bytes:
    return f"data: {json.dumps(payload)}\n\n".encode()


async def stream_body(stream: ChunkStream, first: np.ndarray | None, gone: asyncio.Future,
                      on_exit: Callable[[bool], None], done_event: Callable[[], dict] | None = None
                      ) -> AsyncIterator[bytes]:
    """The response body: header, the first chunk (already received; None if the take is empty), then the
    chunks as they come, until the end (SSE: then the `done_event()` event).

    `on_exit(completed)` runs however the body ends; the client leaving (`gone`) or the server cancelling
    the response ends it early, and `on_exit` then withdraws the job, which frees its batch slot.
    """
    completed = False
    try:
        data, chunk = stream.header(), first
        while True:
            data += stream.encode(chunk)
            if chunk is None:
                if stream.sse and done_event is not None:
                    data += sse_event(done_event())
                if data:
                    yield data
                completed = True
                return
            if data:
                yield data
            data = b""
            chunk = await stream.next_chunk(gone)
            if chunk is False:
                return
    finally:
        gone.cancel()
        on_exit(completed)
