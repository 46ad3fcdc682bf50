"""SRT and WebVTT subtitles: one cue per line of the script, timed from the timeline."""

from __future__ import annotations

from dataclasses import dataclass


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
