"""Words heard against words written: normalisation, alignment, and word timings for a typed transcript.

Both sides are normalised as Whisper's own evaluation does (`transformers`' EnglishTextNormalizer: lower
case, punctuation and bracketed or parenthesised text such as "[S1]" and "(laughs)" removed, spelled-out
numbers as digits, "Mr." as "mister"), so "twenty-five" and "25" count as the same word.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

_SPEAKER_TAG_RE = re.compile(r"\[\s*[sS]\s*\d+\s*\]")

MATCH, SUBSTITUTE, DELETE, INSERT = "match", "substitute", "delete", "insert"


class WordTiming(NamedTuple):
    """A written word with the time it is spoken in its clip (seconds), as Dia2's voice prompt takes them."""

    word: str
    start: float
    end: float


class AlignedPair(NamedTuple):
    op: str  # match, substitute, delete (a reference word not heard) or insert (a word heard, not written)
    ref: int | None  # index in the reference words
    hyp: int | None  # index in the heard words


@lru_cache(maxsize=1)
def _normaliser():
    from transformers.models.whisper.english_normalizer import EnglishTextNormalizer

    return EnglishTextNormalizer({})


def normalise_words(text: str) -> list[str]:
    """`text` as comparable words: "[S1] Mr. Smith, it's 25 (laughs)!" -> ["mister", "smith", "it", "is", "25"]."""
    return _normaliser()(text).split()


def align_words(ref: Sequence[str], hyp: Sequence[str]) -> list[AlignedPair]:
    """A minimum-edit alignment of two word sequences (Levenshtein, unit costs; matches preferred on ties)."""
    n, m = len(ref), len(hyp)
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        cost[i][0] = i
    for j in range(m + 1):
        cost[0][j] = j
    for i in range(1, n + 1):
        row, above = cost[i], cost[i - 1]
        for j in range(1, m + 1):
            diagonal = above[j - 1] + (ref[i - 1] != hyp[j - 1])
            row[j] = min(diagonal, above[j] + 1, row[j - 1] + 1)
    pairs: list[AlignedPair] = []
    i, j = n, m
    while i or j:
        if i and j and cost[i][j] == cost[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]):
            pairs.append(AlignedPair(MATCH if ref[i - 1] == hyp[j - 1] else SUBSTITUTE, i - 1, j - 1))
            i, j = i - 1, j - 1
        elif i and cost[i][j] == cost[i - 1][j] + 1:
            pairs.append(AlignedPair(DELETE, i - 1, None))
            i -= 1
        else:
            pairs.append(AlignedPair(INSERT, None, j - 1))
            j -= 1
    pairs.reverse()
    return pairs


def transcript_words(transcript: str) -> list[str]:
    """The written words of a transcript as the model reads them: speaker tags dropped, punctuation kept."""
    return _SPEAKER_TAG_RE.sub(" ", transcript).split()


def time_transcript_words(transcript: str, heard: Sequence, duration: float | None = None
                          ) -> tuple[WordTiming, ...] | None:
    """Word timings for the typed `transcript`: its words, with times from the recognised words `heard`
    (anything with `.word`, `.start`, `.end`, e.g. a Transcription's words).

    The typed words win; each takes the times of the heard word it aligns with (a mis-heard word still gives
    its time). Written words not heard ("(laughs)", a dropped word) share the gap between their neighbours in
    proportion to their length. None when no written word matches any heard one (then the timings would be
    guesses: let the caller use its own approximation)."""
    written = transcript_words(transcript)
    if not written or not heard:
        return None
    ref, ref_owner = _flatten([normalise_words(word) for word in written])
    hyp, hyp_owner = _flatten([normalise_words(w.word) for w in heard])
    pairs = align_words(ref, hyp)
    if not any(p.op == MATCH for p in pairs):
        return None
    spans: list[tuple[float, float] | None] = [None] * len(written)
    for pair in pairs:
        if pair.ref is None or pair.hyp is None:
            continue
        owner, word = ref_owner[pair.ref], heard[hyp_owner[pair.hyp]]
        span = spans[owner]
        spans[owner] = (word.start, word.end) if span is None else (min(span[0], word.start), max(span[1], word.end))
    end_of_audio = duration if duration is not None else max(w.end for w in heard)
    return tuple(WordTiming(word, start, end)
                 for word, (start, end) in zip(written, _fill_gaps(written, spans, end_of_audio)))


def _flatten(groups: list[list[str]]) -> tuple[list[str], list[int]]:
    flat, owner = [], []
    for index, group in enumerate(groups):
        flat += group
        owner += [index] * len(group)
    return flat, owner


def _fill_gaps(written: list[str], spans: list[tuple[float, float] | None], end_of_audio: float
               ) -> list[tuple[float, float]]:
    """Times for the unmatched words between their timed neighbours; starts never go backwards."""
    out: list[tuple[float, float]] = []
    i = 0
    previous_end = 0.0
    while i < len(spans):
        if spans[i] is not None:
            start = max(spans[i][0], out[-1][0] if out else 0.0)
            out.append((round(start, 3), round(max(spans[i][1], start), 3)))
            previous_end = out[-1][1]
            i += 1
            continue
        run_end = i
        while run_end < len(spans) and spans[run_end] is None:
            run_end += 1
        gap_end = spans[run_end][0] if run_end < len(spans) else max(end_of_audio, previous_end)
        gap_end = max(gap_end, previous_end)
        lengths = [len(word) + 1 for word in written[i:run_end]]
        step = (gap_end - previous_end) / sum(lengths)
        position = previous_end
        for length in lengths:
            out.append((round(position, 3), round(position + length * step, 3)))
            position += length * step
        previous_end = position
        i = run_end
    return out
