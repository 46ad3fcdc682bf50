"""Splitting a line that is over the model's limits into parts generated separately.

Parts break at sentence boundaries; a sentence that alone is too long breaks at clause marks, then
between words, and as a last resort inside a word. Every part starts with its speaker tag so the model
knows who speaks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from dia_engine import ModelInfo

from .estimate import estimate_seconds
from .script import Turn

_SENTENCE_END_RE = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*\s+")
_CLAUSE_END_RE = re.compile(r"[,;:\u2013\u2014]+\s+")

Unit = tuple[str, str]  # (speaker, piece of text)


def _split_after(pattern: re.Pattern[str], text: str) -> list[str]:
    pieces, start = [], 0
    for match in pattern.finditer(text):
        pieces.append(text[start : match.end()].strip())
        start = match.end()
    pieces.append(text[start:].strip())
    return [piece for piece in pieces if piece]


def split_sentences(text: str) -> list[str]:
    """Sentences of `text`, each keeping its closing punctuation."""
    return _split_after(_SENTENCE_END_RE, text)


def render_units(units: Sequence[Unit]) -> str:
    """Model text for consecutive pieces: a speaker tag wherever the speaker changes, and at the start."""
    out: list[str] = []
    previous = None
    for speaker, piece in units:
        if speaker != previous:
            out.append(f"[{speaker}]")
            previous = speaker
        out.append(piece)
    return " ".join(out)


def split_for_model(turns: Sequence[Turn], info: ModelInfo, *, max_text: int, max_seconds: float) -> list[str]:
    """Model texts for `turns`, each at most `max_text` long as the model counts text (`info.measure_text`: bytes
    for Dia 1.6B, tokens for Dia2) and about `max_seconds` long at the family's speaking rate.

    A line that fits comes back as one part, identical to the line's model text."""
    if max_text < 8:
        raise ValueError(f"there is no room for the line's text: only {max_text} {info.text_unit} are left for it")

    def fits(units: Sequence[Unit]) -> bool:
        spoken = " ".join(piece for _, piece in units)
        return info.measure_text(render_units(units)) <= max_text and estimate_seconds(spoken, info) <= max_seconds

    def smaller(unit: Unit) -> list[Unit]:
        """Break a piece that does not fit alone into the next finer pieces."""
        speaker, piece = unit
        for finer in (_split_after(_CLAUSE_END_RE, piece), piece.split()):
            if len(finer) > 1:
                return [(speaker, p) for p in finer]
        # One word too long for a part: cut off the longest prefix that fits (binary search).
        low, high = 1, len(piece) - 1
        while low < high:
            middle = (low + high + 1) // 2
            if fits([(speaker, piece[:middle])]):
                low = middle
            else:
                high = middle - 1
        return [(speaker, piece[:low]), (speaker, piece[low:])] if len(piece) > 1 else [unit]

    pending: list[Unit] = [(t.speaker, s) for t in turns for s in split_sentences(t.text)]
    parts: list[list[Unit]] = []
    current: list[Unit] = []
    while pending:
        unit = pending.pop(0)
        if fits(current + [unit]):
            current.append(unit)
            continue
        if current:
            parts.append(current)
            current = []
        if fits([unit]):
            current = [unit]
        else:
            finer = smaller(unit)
            if len(finer) == 1:  # a single character over the limit: keep it rather than loop forever
                current = [unit]
            else:
                pending[:0] = finer
    if current:
        parts.append(current)
    return [render_units(part) for part in parts]
