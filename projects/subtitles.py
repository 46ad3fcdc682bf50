"""SRT and WebVTT subtitles, timed from the timeline.

A line whose take carries word timings (Dia2) is cut into cues at sentence ends, at a change of speaker and before
a cue would pass about 42 characters, never inside a word; each cue starts with its first word and lasts until the
next one starts (the last until the clip ends). A line without timings is one cue spanning its clip.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .script import Turn
from .words import Word, speakers_of

MAX_CUE_CHARS = 42  # the usual width of a subtitle row
_SENTENCE_END_RE = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*$")


@dataclass(frozen=True)
class Cue:
    start: float  # seconds
    end: float
    text: str  # may span several rows (one per speaker turn)


def _timestamp(seconds: float, separator: str) -> str:
    millis = max(0, int(round(seconds * 1000)))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def _rows(text: str) -> str:
    # A blank row would end the cue early in both formats.
    return "\n".join(row for row in text.splitlines() if row.strip())


def to_srt(cues: list[Cue]) -> str:
    blocks = [
        f"{number}\n{_timestamp(cue.start, ',')} --> {_timestamp(cue.end, ',')}\n{_rows(cue.text)}\n"
        for number, cue in enumerate(cues, start=1)
    ]
    return "\n".join(blocks)


def to_vtt(cues: list[Cue]) -> str:
    blocks = [
        f"{_timestamp(cue.start, '.')} --> {_timestamp(cue.end, '.')}\n{_rows(cue.text).replace('-->', '->')}\n"
        for cue in cues
    ]
    return "WEBVTT\n\n" + "\n".join(blocks)


def line_cues(turns: Sequence[Turn], names: Mapping[str, str], start: float, end: float,
              words: Sequence[Word] | None = None) -> list[Cue]:
    """Cues for one placed line (`start`..`end` on the timeline). `words` are its timed words already on the
    timeline (`words.on_timeline`); without them, one cue of every turn spans the clip."""
    if not words:
        return [Cue(start, end, "\n".join(f"{names[t.speaker]}: {t.text}" for t in turns))]
    groups: list[tuple[str, list[Word]]] = []
    for (word, at), speaker in zip(words, speakers_of(words, turns)):
        if groups:
            current_speaker, current = groups[-1]
            text = " ".join(w for w, _ in current)
            if (speaker == current_speaker and not _SENTENCE_END_RE.search(current[-1][0])
                    and len(text) + 1 + len(word) <= MAX_CUE_CHARS):
                current.append((word, at))
                continue
        groups.append((speaker, [(word, at)]))
    cues = []
    for index, (speaker, group) in enumerate(groups):
        cue_start = min(max(group[0][1], start), end)
        cue_end = groups[index + 1][1][0][1] if index + 1 < len(groups) else end
        cue_end = min(max(cue_end, cue_start), end)
        text = " ".join(w for w, _ in group)
        if cue_end > cue_start:
            cues.append(Cue(cue_start, cue_end, f"{names[speaker]}: {text}"))
        elif cues:  # words on the same instant: they share the cue before
            previous = cues[-1]
            cues[-1] = Cue(previous.start, previous.end, f"{previous.text} {text}")
    return cues
