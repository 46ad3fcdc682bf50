"""Request text to Dia's dialogue format, with the script rules of the editor.

Dia expects turns opened by `[S1]`/`[S2]`. Input without a tag is one turn of speaker 1; `[s1]`-style tags
are normalised, whitespace is collapsed, and line breaks join the turns into one generation (a line without
a tag continues the speaker before it, as in the editor's scripts).
"""

from __future__ import annotations

from projects.script import parse_script


def dialogue_text(text: str) -> str:
    """`text` as Dia dialogue (`[S1] ...`); the empty string when it holds nothing to speak."""
    turns: list[list[str]] = []  # [speaker, text] pairs; consecutive turns of one speaker are merged
    for line in parse_script(text).lines:
        for turn in line.turns:
            if turns and turns[-1][0] == turn.speaker:
                turns[-1][1] += " " + turn.text
            else:
                turns.append([turn.speaker, turn.text])
    return " ".join(f"[{speaker}] {words}" for speaker, words in turns)


def as_speaker(text: str, speaker: str) -> str:
    """A one-speaker dialogue text spoken by `speaker` ("S1"/"S2"); text with both speakers is left as it is.

    A voice clip's transcript is tagged for the speaker the clip plays: alone it leads the turn as S1, in a
    two-voice prompt the second clip is S2."""
    turns = [turn for line in parse_script(text).lines for turn in line.turns]
    if not turns or len({turn.speaker for turn in turns}) > 1:
        return dialogue_text(text)
    return f"[{speaker}] " + " ".join(turn.text for turn in turns)


def spoken_words(text: str) -> str:
    """The words of a dialogue text without its speaker tags."""
    return " ".join(turn.text for line in parse_script(text).lines for turn in line.turns)
