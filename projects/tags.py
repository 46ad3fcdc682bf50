"""Non-verbal tags such as (laughs): the known list and finding tags in a line of text."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from importlib.resources import files

# Package data of the top-level `resources` package: found the same way from a source tree, a wheel or a zip.
TAGS_FILE = files("resources") / "nonverbal_tags.json"

# A parenthesised phrase of at most a few words; Dia reads any of them as a sound cue, so every one is a tag.
_TAG_RE = re.compile(r"\(([^()\n]{1,40})\)")


@lru_cache(maxsize=1)
def known_tags() -> tuple[str, ...]:
    """Dia's non-verbal tags without parentheses, e.g. ("laughs", "clears throat", ...), in the file's order."""
    data = json.loads(TAGS_FILE.read_text(encoding="utf-8"))
    return tuple(str(tag) for tag in data["tags"])


def find_tags(text: str) -> list[str]:
    """The tags written in `text`, in order, without parentheses and with surrounding spaces removed."""
    return [match.group(1).strip() for match in _TAG_RE.finditer(text)]


def unknown_tags(text: str) -> list[str]:
    """Tags in `text` that are not in Dia's list (compared case-insensitively), each once, in order."""
    known = {tag.lower() for tag in known_tags()}
    seen: list[str] = []
    for tag in find_tags(text):
        if tag.lower() not in known and tag not in seen:
            seen.append(tag)
    return seen


def strip_tags(text: str) -> str:
    """`text` without its parenthesised tags (used to estimate how long the spoken words take)."""
    return _TAG_RE.sub(" ", text)
