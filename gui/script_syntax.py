"""Where the tags of one script line are, for highlighting, tooltips and completion.

The rules are those of `projects.script` and `projects.tags` (which say *what* a line means); this module only
adds the character positions the editor needs. `[S1]`/`[S2]` (also written `[s1]` or `[ S1 ]`) are speaker
turns; `[S3]` and up are read as plain text. Any parenthesised phrase is a sound cue; Dia knows a fixed list."""

from __future__ import annotations

import re
from dataclasses import dataclass

SPEAKER_TAGS = ("[S1]", "[S2]")
_SPEAKER = re.compile(r"\[\s*[sS]\s*(\d+)\s*\]")
_NONVERBAL = re.compile(r"\(([^()\n]{1,40})\)")


@dataclass(frozen=True)
class TagSpan:
    start: int
    end: int  # exclusive
    text: str
    kind: str  # "speaker" or "nonverbal"
    known: bool
    speaker: str | None = None  # "S1" / "S2" for a known speaker tag

    def problem(self, known_tags: tuple[str, ...]) -> str:
        """Why this tag is flagged (empty for a known tag)."""
        if self.known:
            return ""
        if self.kind == "speaker":
            return f"Unknown speaker tag {self.text}: Dia knows only [S1] and [S2]; this is read as text."
        preview = ", ".join(known_tags[:14]) + (", ..." if len(known_tags) > 14 else "")
        return (f"Unknown non-verbal tag {self.text}: Dia may read it aloud or ignore it.\n"
                f"Known tags: {preview}")


def find_tags(line: str, known_tags: frozenset[str]) -> list[TagSpan]:
    """All speaker and non-verbal tags of `line` in order; `known_tags` holds lower-case names like "laughs"."""
    spans = []
    for m in _SPEAKER.finditer(line):
        number = m.group(1)
        known = number in ("1", "2")
        spans.append(TagSpan(m.start(), m.end(), m.group(), "speaker", known, f"S{number}" if known else None))
    for m in _NONVERBAL.finditer(line):
        known = m.group(1).strip().lower() in known_tags
        spans.append(TagSpan(m.start(), m.end(), m.group(), "nonverbal", known))
    spans.sort(key=lambda s: s.start)
    return spans


def tag_at(line: str, column: int, known_tags: frozenset[str]) -> TagSpan | None:
    for span in find_tags(line, known_tags):
        if span.start <= column < span.end:
            return span
    return None
