"""Word-timed subtitles (Dia2 takes) and the fallback of one cue per line; joining and placing word timings."""

import json

import pytest

from projects.script import parse_script
from projects.subtitles import MAX_CUE_CHARS, line_cues, to_srt
from projects.words import join_parts, on_timeline, speakers_of

from conftest import DATA

CASES = json.loads((DATA / "dia2-words" / "timestamps.json").read_text())
NAMES = {"S1": "Ana", "S2": "Ben"}


def _case(name):
    case = CASES[name]
    (line,) = parse_script(case["script"]).lines
    return line, [tuple(w) for w in case["words"]], case["frames"] / 12.5


def test_cues_break_at_sentence_ends_and_speaker_changes():
    line, words, seconds = _case("two_speakers")
    cues = line_cues(line.turns, NAMES, 10.0, 10.0 + seconds, on_timeline(words, 10.0, 10.0 + seconds))
    assert [c.text for c in cues] == ["Ana: Hello there, how are you?", "Ben: I am fine, thanks for asking."]
    assert cues[0].start == pytest.approx(10.16) and cues[0].end == pytest.approx(11.76) == cues[1].start
    assert cues[1].end == pytest.approx(10.0 + seconds)


def test_a_long_sentence_is_cut_between_words_near_42_characters():
    line, words, seconds = _case("context_limit")
    cues = line_cues(line.turns, NAMES, 0.0, seconds, on_timeline(words, 0.0, seconds))
    texts = [c.text.removeprefix("Ana: ") for c in cues]
    assert len(cues) > 2 and all(len(t) <= MAX_CUE_CHARS for t in texts)
    heard = [w for w, start in words if start < seconds]  # the last word starts as the audio ends: not heard
    assert len(heard) == len(words) - 1
    assert " ".join(texts).split() == heard  # every word once, in order, none cut
    assert all(a.end == b.start for a, b in zip(cues, cues[1:])) and all(c.end > c.start for c in cues)


def test_speakers_follow_the_script_through_tags_and_breaks():
    for name, expected in (("starts_with_s2", ["S2"] * 5 + ["S1"] + ["S2"] * 2),
                           ("breaks", ["S1"] * 4 + ["S2"])):
        line, words, _ = _case(name)
        assert speakers_of(words, line.turns) == expected
    line, words, seconds = _case("nonverbal_tags")
    cues = line_cues(line.turns, NAMES, 0.0, seconds, words)
    assert [c.text for c in cues] == ["Ana: Oh really?", "Ana: (laughs) That is funny.", "Ana: (clears throat)",
                                      "Ben: (sighs) No, it is not.", "Ben: (coughs)"]


def test_without_word_timings_a_line_is_one_cue_over_its_clip():
    (line,) = parse_script("[S1] Hi there. [S2] Hello!").lines
    (cue,) = line_cues(line.turns, NAMES, 2.0, 4.5)
    assert (cue.start, cue.end, cue.text) == (2.0, 4.5, "Ana: Hi there.\nBen: Hello!")
    assert to_srt([cue]).startswith("1\n00:00:02,000 --> 00:00:04,500\nAna: Hi there.\nBen: Hello!")


def test_words_of_joined_parts_and_of_a_trimmed_clip_land_where_their_audio_does():
    joined = join_parts([[("One", 0.2), ("two.", 0.6)], [("Three", 0.1)]], [1.0, 0.8], crossfade_seconds=0.03)
    assert joined == (("One", 0.2), ("two.", 0.6), ("Three", 1.07))
    assert join_parts([[("One", 0.2)], None], [1.0, 1.0], 0.03) is None
    # The clip starts at 5 s on the timeline after 0.15 s of leading silence was trimmed; it ends at 5.9 s.
    assert on_timeline(joined, 5.0, 5.9, trimmed=0.15) == [("One", 5.05), ("two.", 5.45)]
    assert on_timeline([("Early", 0.1)], 5.0, 6.0, trimmed=0.15) == [("Early", 5.0)]
