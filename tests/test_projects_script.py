"""Script parsing, non-verbal tags, lint, sentence splitting and stable line identity."""

from __future__ import annotations

import json
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dia_engine import text_byte_length
from projects.estimate import estimate_seconds
from projects.identity import match_lines
from projects.lint import lint_script
from projects.script import parse_script
from projects.split import split_for_model, split_sentences
from projects.tags import TAGS_FILE, find_tags, known_tags, unknown_tags

from model_infos import DIA2_2B, DIA_16B

DIA_TAGS = ["laughs", "clears throat", "sighs", "gasps", "coughs", "singing", "sings", "mumbles", "beep", "groans",
            "sniffs", "claps", "screams", "inhales", "exhales", "applause", "burps", "humming", "sneezes", "chuckle",
            "whistles"]


# ----- parsing ---------------------------------------------------------------------------------------
def test_each_non_empty_line_is_a_unit_and_untagged_lines_continue_the_speaker():
    script = parse_script("[S1] Hello there.\n\n   \n[S2] Hi!\nHow are you?\n[S1] Fine.\n")
    assert [line.model_text for line in script.lines] == [
        "[S1] Hello there.", "[S2] Hi!", "[S2] How are you?", "[S1] Fine."]
    assert [line.source_line for line in script.lines] == [1, 4, 5, 6]
    assert [line.tagged for line in script.lines] == [True, True, False, True]
    assert script.lines[2].text == "How are you?"  # as written: the tag is only added for the model


def test_a_line_may_hold_several_turns():
    (line,) = parse_script("[S1] Hi! [S2] Hello. [S1] Bye").lines
    assert [(t.speaker, t.text) for t in line.turns] == [("S1", "Hi!"), ("S2", "Hello."), ("S1", "Bye")]
    assert line.speaker == "S1" and line.speakers == ("S1", "S2")
    assert line.model_text == "[S1] Hi! [S2] Hello. [S1] Bye"
    assert line.spoken_text == "Hi! Hello. Bye"


def test_tag_only_line_sets_the_speaker_of_the_lines_below():
    script = parse_script("[S2]\nFirst words.\nMore words.")
    assert [line.model_text for line in script.lines] == ["[S2] First words.", "[S2] More words."]
    assert script.starts_with_speaker_tag


def test_speaker_tags_are_normalised_and_odd_ones_kept_as_text():
    (a, b) = parse_script("[s2]  spaced    out\n[ S1 ] hi [S3] there").lines
    assert a.model_text == "[S2] spaced out"
    assert b.model_text == "[S1] hi [S3] there"
    assert b.odd_speaker_tags == ("[S3]",)


def test_text_before_the_first_tag_belongs_to_the_previous_speaker():
    (_, line) = parse_script("[S2] one\nstill two [S1] now one").lines
    assert [(t.speaker, t.text) for t in line.turns] == [("S2", "still two"), ("S1", "now one")]
    assert not line.tagged


def test_repeated_tag_of_the_same_speaker_is_one_turn_and_control_characters_are_dropped():
    (line,) = parse_script("[S1] a\x00b [S1] c\x01\td").lines
    assert line.model_text == "[S1] a b c d"


def test_all_line_break_styles():
    assert len(parse_script("[S1] a\r\n[S2] b\r[S1] c\n").lines) == 3


# hypothesis: any text at all parses, and every line comes out well-formed for the model
script_text = st.lists(
    st.one_of(
        st.text(max_size=80),
        st.sampled_from(["[S1]", "[S2]", "[s1]", "[S3]", "(laughs)", "(", ")", "[", "]", "\r\n", "\n", " ", "…",
                         "\x00", "\x01", "\u2028", "é", "🙂", ". ", "! "]),
    ),
    max_size=40,
).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(script_text)
def test_parser_never_crashes_and_lines_are_well_formed(text):
    script = parse_script(text)
    line_count = len(re.split(r"\r\n|\r|\n", text))
    for line in script.lines:
        assert line.turns and all(t.speaker in ("S1", "S2") and t.text for t in line.turns)
        assert line.model_text.startswith(("[S1] ", "[S2] "))
        assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", line.model_text)
        assert 1 <= line.source_line <= line_count
        assert line.text == line.text.strip() and line.text
    # lint and splitting also accept whatever the parser produced
    lint_script(script, DIA_16B)
    for line in script.lines:
        for part in split_for_model(line.turns, DIA_16B, max_text=40, max_seconds=3.0):
            assert part.startswith(("[S1] ", "[S2] "))


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=400), st.integers(min_value=8, max_value=120))
def test_split_parts_respect_the_byte_limit_and_keep_every_word(words, max_bytes):
    script = parse_script("[S1] " + words.replace("\n", " ").replace("\r", " "))
    if not script.lines:
        return
    (line,) = script.lines
    parts = split_for_model(line.turns, DIA_16B, max_text=max_bytes, max_seconds=1000.0)
    assert all(text_byte_length(part) <= max_bytes for part in parts)
    rejoined = "".join(re.sub(r"\[S[12]\] ?", "", p).replace(" ", "") for p in parts)
    assert rejoined == line.spoken_text.replace(" ", "").replace("[S1]", "").replace("[S2]", "")


# ----- tags ------------------------------------------------------------------------------------------
def test_known_tags_are_dias_list_from_the_resource_file():
    assert list(known_tags()) == DIA_TAGS
    assert json.loads(TAGS_FILE.read_text())["tags"] == DIA_TAGS


def test_find_and_unknown_tags():
    text = "Well (laughs) I mean (Clears Throat) no (dances) (dances) ok"
    assert find_tags(text) == ["laughs", "Clears Throat", "dances", "dances"]
    assert unknown_tags(text) == ["dances"]


# ----- lint ------------------------------------------------------------------------------------------
def _codes(issues, line=None):
    return [i.code for i in issues if line is None or i.source_line == line]


def test_lint_empty_script_is_an_error():
    (issue,) = lint_script(parse_script("\n  \n[S1]\n"), DIA_16B)
    assert issue.severity == "error" and issue.code == "empty-script"


def test_lint_unknown_tag_is_a_warning_naming_it():
    issues = lint_script(parse_script("[S1] Hello there, this is a fairly long line of text (dances) for sure, yes."),
                         DIA_16B)
    (unknown,) = [i for i in issues if i.code == "unknown-tag"]
    assert unknown.severity == "warning" and "(dances)" in unknown.message and unknown.source_line == 1


def test_lint_first_line_should_be_s1():
    assert "first-speaker" in _codes(lint_script(parse_script("[S2] Hi"), DIA_16B))
    assert "first-speaker" in _codes(lint_script(parse_script("no tag at all"), DIA_16B))
    assert "first-speaker" not in _codes(lint_script(parse_script("[S1] Hi\n[S2] Hello"), DIA_16B))


def test_lint_duration_warnings():
    short, good, long = "[S1] Hi.", "[S1] " + "word " * 18, "[S1] " + "This is a sentence. " * 20
    assert estimate_seconds("Hi.", DIA_16B) < 5 < estimate_seconds("word " * 18, DIA_16B) < 20
    assert estimate_seconds("This is a sentence. " * 20, DIA_16B) > 20
    issues = lint_script(parse_script("\n".join([short, good, long])), DIA_16B)
    assert _codes(issues, 1) == ["short"]
    assert _codes(issues, 2) == []
    assert "long" in _codes(issues, 3)
    # with a voice prompt before it, short text has context and is fine
    assert "short" not in _codes(lint_script(parse_script(short), DIA_16B, prompt_transcript="[S1] A clip."))


def test_lint_over_the_model_limit_says_it_will_be_split():
    text = "[S1] " + " ".join(f"Sentence number {i} is here." for i in range(60))  # ~1.6 kB
    issues = lint_script(parse_script(text), DIA_16B)
    (split,) = [i for i in issues if i.code == "split"]
    assert split.severity == "info" and "parts" in split.message


def test_lint_voice_clips_that_fill_the_audio_length_are_an_error():
    issues = lint_script(parse_script("[S1] Hi"), DIA_16B, prompt_transcript="[S1] A. [S2] B.", prompt_frames=2900)
    assert issues[0].code == "voice-length" and issues[0].severity == "error" and "34 s" in issues[0].message


def test_lint_transcripts_that_fill_the_text_length_are_an_error():
    issues = lint_script(parse_script("[S1] Hi"), DIA_16B, prompt_transcript="[S1] " + "x" * 1100)
    assert issues[0].code == "voice-transcripts" and issues[0].severity == "error"


# ----- splitting ---------------------------------------------------------------------------------------
def test_split_sentences_keeps_punctuation():
    assert split_sentences('Hello there. "Really?!" Yes… (laughs) Fine') == [
        "Hello there.", '"Really?!"', "Yes…", "(laughs) Fine"]


def test_a_line_that_fits_is_one_part_equal_to_its_model_text():
    (line,) = parse_script("[S1] Hi! [S2] Hello. How are you?").lines
    assert split_for_model(line.turns, DIA_16B, max_text=1024, max_seconds=30) == [line.model_text]


def test_long_line_splits_at_sentences_and_each_part_carries_its_speaker():
    (line,) = parse_script("[S1] One two three. Four five six. [S2] Seven eight. Nine ten eleven.").lines
    parts = split_for_model(line.turns, DIA_16B, max_text=22, max_seconds=30)
    assert parts == ["[S1] One two three.", "[S1] Four five six.", "[S2] Seven eight.", "[S2] Nine ten eleven."]
    assert split_for_model(line.turns, DIA_16B, max_text=40, max_seconds=30) == [
        "[S1] One two three. Four five six.", "[S2] Seven eight. Nine ten eleven."]


def test_split_by_duration_and_inside_words_as_a_last_resort():
    (line,) = parse_script("[S1] " + "Short sentence here. " * 10).lines
    parts = split_for_model(line.turns, DIA_16B, max_text=1024, max_seconds=3.0)
    assert len(parts) > 1 and all(estimate_seconds(p[5:], DIA_16B) <= 3.0 for p in parts)
    (word,) = parse_script("[S1] " + "x" * 50).lines
    parts = split_for_model(word.turns, DIA_16B, max_text=20, max_seconds=100)
    assert all(text_byte_length(p) <= 20 for p in parts) and "".join(p[5:] for p in parts) == "x" * 50


# ----- stable identity ---------------------------------------------------------------------------------
def test_editing_a_line_keeps_every_identity():
    old = ["[S1] a", "[S2] b", "[S1] c"]
    assert match_lines(old, ["[S1] a", "[S2] b, edited", "[S1] c"]) == [0, 1, 2]


def test_inserting_and_deleting_lines_does_not_renumber_the_others():
    old = ["[S1] a", "[S2] b", "[S1] c"]
    assert match_lines(old, ["[S1] new", "[S1] a", "[S2] b", "[S1] c"]) == [None, 0, 1, 2]
    assert match_lines(old, ["[S1] a", "[S1] c"]) == [0, 2]


def test_edit_next_to_an_insert_goes_to_the_most_similar_line():
    old = ["[S1] intro", "[S2] the quick brown fox jumps", "[S1] outro"]
    new = ["[S1] intro", "[S1] something else entirely", "[S2] the quick brown fox jumped", "[S1] outro"]
    assert match_lines(old, new) == [0, None, 1, 2]


def test_a_moved_line_keeps_its_identity():
    old = ["[S1] a", "[S2] b", "[S1] c", "[S2] d"]
    assert match_lines(old, ["[S2] b", "[S1] c", "[S2] d", "[S1] a"]) == [1, 2, 3, 0]


def test_duplicate_lines_are_each_matched_once():
    result = match_lines(["[S1] yes", "[S1] yes"], ["[S1] yes", "[S1] yes", "[S1] yes"])
    assert sorted(i for i in result if i is not None) == [0, 1] and result.count(None) == 1


line_lists = st.lists(st.sampled_from(["[S1] a", "[S2] b", "[S1] c c", "[S2] dd", "[S1] e", "x"]), max_size=12)


@settings(max_examples=300, deadline=None)
@given(line_lists, line_lists)
def test_matching_is_one_to_one_and_keeps_unchanged_lines(old, new):
    result = match_lines(old, new)
    assert len(result) == len(new)
    used = [i for i in result if i is not None]
    assert len(used) == len(set(used)) and all(0 <= i < len(old) for i in used)
    assert match_lines(old, old) == list(range(len(old)))
    # a line whose exact text was in the old script and is still free gets an old identity
    for j, i in enumerate(result):
        if i is None:
            assert all(old[k] != new[j] for k in range(len(old)) if k not in used)
