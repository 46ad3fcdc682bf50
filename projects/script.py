"""Parsing a plain-text script into speakable lines.

Each non-empty line is one generation unit. It starts with `[S1]` or `[S2]`; a line without a tag
continues the previous speaker. A line may hold several turns (`[S1] Hi! [S2] Hello.`). A line holding
only speaker tags generates nothing: it sets the speaker of the untagged lines below it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SPEAKERS = ("S1", "S2")

# [S1], [s2], [ S1 ] are speaker tags; [S3] or [S12] look like tags but Dia only knows two speakers.
_SPEAKER_TAG_RE = re.compile(r"\[\s*[sS]\s*(\d+)\s*\]")
_LINE_BREAK_RE = re.compile(r"\r\n|\r|\n")
# Control characters mean something else to the model (0 pads, 1 and 2 are the speaker tokens).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Turn:
    speaker: str  # "S1" or "S2"
    text: str  # what this speaker says, whitespace collapsed, without the tag


@dataclass(frozen=True)
class ScriptLine:
    """One generation unit of the script."""

    source_line: int  # 1-based line number in the script text (what an editor shows)
    text: str  # the line as written, without surrounding whitespace: its identity for matching edits
    turns: tuple[Turn, ...]
    tagged: bool  # False when the line continues the previous speaker without a tag of its own
    odd_speaker_tags: tuple[str, ...] = ()  # tags like [S3] that Dia reads as plain text

    @property
    def speaker(self) -> str:
        """The speaker of the line's first turn."""
        return self.turns[0].speaker

    @property
    def speakers(self) -> tuple[str, ...]:
        """Each speaker of the line once, in order of appearance."""
        return tuple(dict.fromkeys(turn.speaker for turn in self.turns))

    @property
    def model_text(self) -> str:
        """The text given to the model: every turn with its speaker tag, e.g. `[S1] Hi! [S2] Hello.`"""
        return " ".join(f"[{turn.speaker}] {turn.text}" for turn in self.turns)

    @property
    def spoken_text(self) -> str:
        """The words without speaker tags (for subtitles and duration estimates)."""
        return " ".join(turn.text for turn in self.turns)


@dataclass(frozen=True)
class Script:
    lines: tuple[ScriptLine, ...]
    starts_with_speaker_tag: bool  # whether the first speakable line (or a tag-only line before it) names a speaker

    def __len__(self) -> int:
        return len(self.lines)


def _clean(text: str) -> str:
    return " ".join(_CONTROL_RE.sub(" ", text).split())


def _add_turn(turns: list[Turn], speaker: str, text: str) -> None:
    # "[S1] Hi [S1] there" is one turn: the repeated tag carries no information.
    if turns and turns[-1].speaker == speaker:
        turns[-1] = Turn(speaker, f"{turns[-1].text} {text}")
    else:
        turns.append(Turn(speaker, text))


def parse_script(text: str) -> Script:
    """Split `text` into speakable lines. Never raises on any string: odd input becomes lint warnings."""
    speaker = "S1"  # Dia's convention: a script starts with S1
    named_first_speaker = False
    lines: list[ScriptLine] = []
    for number, raw in enumerate(_LINE_BREAK_RE.split(text), start=1):
        stripped = raw.strip()
        if not _clean(stripped):
            continue
        turns: list[Turn] = []
        odd: list[str] = []
        tagged = False
        position = 0
        pending = ""
        for match in _SPEAKER_TAG_RE.finditer(stripped):
            number_in_tag = match.group(1)
            if number_in_tag not in ("1", "2"):
                odd.append(match.group(0))
                continue
            pending += stripped[position : match.start()]
            position = match.end()
            if _clean(pending):
                _add_turn(turns, speaker, _clean(pending))
            elif not turns:
                tagged = True  # the line opens with a tag (possibly after other empty tags)
            pending = ""
            speaker = f"S{number_in_tag}"
            if not lines and not turns:
                named_first_speaker = True
        pending += stripped[position:]
        if _clean(pending):
            _add_turn(turns, speaker, _clean(pending))
        if turns:
            lines.append(ScriptLine(number, stripped, tuple(turns), tagged, tuple(odd)))
    return Script(tuple(lines), starts_with_speaker_tag=named_first_speaker)
