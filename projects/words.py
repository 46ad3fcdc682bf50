"""Word timings of a take (Dia2 gives each word's start): joining the parts of a split line, assigning each word
its speaker from the script, and placing the words on the timeline."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .script import Turn

Word = tuple[str, float]  # (word as the model read it, start in seconds)

_BREAK_RE = re.compile(r"<break\s+time=\"[^\"]*\"\s*/?>")
_KEY_RE = re.compile(r"[^\w']+")


def join_parts(parts: Sequence[Sequence[Word] | None], part_seconds: Sequence[float],
               crossfade_seconds: float) -> tuple[Word, ...] | None:
    """The words of parts joined as `audio.crossfade_join` joins their audio: each part starts where the one
    before it ends, less the crossfade. None when any part has no timings (then the take has none)."""
    if not parts or any(words is None for words in parts):
        return None
    out: list[Word] = []
    offset = 0.0
    for index, (words, seconds) in enumerate(zip(parts, part_seconds)):
        if index:
            offset -= min(crossfade_seconds, seconds, part_seconds[index - 1])
        out.extend((word, round(offset + start, 4)) for word, start in words)
        offset += seconds
    return tuple(out)


def _key(word: str) -> str:
    return _KEY_RE.sub("", word.replace("\u2019", "'")).lower()


def script_words(turns: Sequence[Turn]) -> list[tuple[str, str]]:
    """(speaker, word) for every word of the line as the model reads it (breaks dropped, ':' a space)."""
    out = []
    for turn in turns:
        text = _BREAK_RE.sub(" ", turn.text).replace("\u2019", "'").replace(":", " ")
        out.extend((turn.speaker, word) for word in text.split())
    return out


def speakers_of(words: Sequence[Word], turns: Sequence[Turn]) -> list[str]:
    """The speaker of each timed word, found by walking the script's words in order (a word the model dropped or
    added keeps the speaker of the word before it)."""
    expected = script_words(turns)
    speakers, position = [], 0
    current = turns[0].speaker if turns else "S1"
    for word, _start in words:
        key = _key(word)
        for ahead in range(position, min(len(expected), position + 8)):
            if _key(expected[ahead][1]) == key:
                current, position = expected[ahead][0], ahead + 1
                break
        speakers.append(current)
    return speakers


def on_timeline(words: Sequence[Word], clip_start: float, clip_end: float, trimmed: float = 0.0) -> list[Word]:
    """Words moved from take time to timeline time: the clip starts at `clip_start` after `trimmed` seconds of the
    take were cut off its start. Words outside the placed clip are dropped."""
    placed = []
    for word, start in words:
        at = clip_start + start - trimmed
        if at >= clip_end:
            continue
        placed.append((word, round(max(clip_start, at), 4)))
    return placed
