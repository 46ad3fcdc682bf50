"""Dialogue script -> word entries, as the reference parses it (each rule below changes the codes).

- "’" becomes "'" and ":" a space; the text is split at whitespace and at `<break time="Xs"/>`.
- A speaker tag is not an entry: the next word is encoded as "[S1] word" (tag id + space-prefixed word);
  every other word alone, without a leading space. A tag containing a space, like "(clears throat)", is
  split like any words and so never matches its added token.
- If the first word's tokens do not start with the [S1] id, [S1] is put in front ("[S2] Hi" -> [S1][S2] Hi).
- A word's padding is its token count; a break is a token-less entry of round(seconds x 12.5) pad steps
  (round half to even), and a break of 0 steps is dropped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .tokenizer import Dia2Tokenizer

# The reference's pattern, including its unescaped "." (any character may separate the decimals).
EVENT = re.compile(r"(?:<break\s+time=\"([0-9]+(?:.[0-9]*)?)s\"\s*/?>)|(?:\s+)")
SPEAKER_TAGS = ("[S1]", "[S2]")


@dataclass(frozen=True)
class Entry:
    """One word (with its tokens) or one break (no tokens); `padding` pad steps follow its new-word step."""

    text: str
    tokens: tuple[int, ...]
    padding: int


def normalize(text: str) -> str:
    return text.strip().replace("’", "'").replace(":", " ")


def parse_script(text: str, tokenizer: Dia2Tokenizer, frame_rate: float) -> list[Entry]:
    entries: list[Entry] = []
    pending: str | None = None
    first = True
    remaining = normalize(text)
    while remaining:
        match = EVENT.search(remaining)
        segment, remaining = (remaining, "") if match is None else (remaining[:match.start()], remaining[match.end():])
        for word in segment.split():
            if word in SPEAKER_TAGS:
                pending = word
                continue
            tokens = tokenizer.encode(f"{pending} {word}" if pending else word)
            pending = None
            if first:
                if not tokens or tokens[0] != tokenizer.spk1:
                    tokens.insert(0, tokenizer.spk1)
                first = False
            entries.append(Entry(word, tuple(tokens), len(tokens)))
        if match is not None and match.group(1):
            steps = int(round(float(match.group(1)) * frame_rate))
            if steps > 0:
                entries.append(Entry("", (), steps))
    return entries


def count_tokens(text: str, tokenizer: Dia2Tokenizer) -> int:
    """The script's text tokens (speaker tags included): the unit of `ModelInfo.text_limit` for Dia2."""
    return sum(len(e.tokens) for e in parse_script(text, tokenizer, 12.5))


def words_to_entries(words, tokenizer: Dia2Tokenizer, speaker_tag: str, frame_rate: float
                     ) -> tuple[list[Entry], list[int]]:
    """A prefix clip's timed words [(word, start s, end s)] -> entries and their planned new-word steps.

    start frame = max(position + 1, round(start x rate)); step = start frame - 1; padding reaches the next
    word's start (or the last word's end), at least one step past the word's tokens."""
    entries: list[Entry] = []
    steps: list[int] = []
    position = 0
    for i, (word, start, _end) in enumerate(words):
        tokens = tokenizer.encode(f"{speaker_tag} {word}" if i == 0 else word)
        start_frame = max(position + 1, int(round(start * frame_rate)))
        end_frame = start_frame + len(tokens)
        steps.append(start_frame - 1)
        following = words[i + 1][1] if i + 1 < len(words) else words[-1][2]
        next_start = max(end_frame + 1, int(round(following * frame_rate)))
        entries.append(Entry(word, tuple(tokens), max(0, next_start - start_frame - 1)))
        position = end_frame
    return entries, steps
