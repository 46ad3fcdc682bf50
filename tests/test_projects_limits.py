"""Model-aware limits and estimates: Dia 1.6B in bytes and about 35 s, Dia2 in tokens and up to 2 minutes."""

import pytest

from projects.estimate import estimate_frames, estimate_seconds
from projects.limits import prompt_frames, seconds_budget, text_budget
from projects.lint import lint_script, long_seconds, parts_needed
from projects.script import parse_script
from projects.split import split_for_model

from model_infos import DIA2_2B, DIA_16B, TINY_DIA2

SENTENCE = "This sentence is about the length of a normal spoken one. "


def test_budgets_come_from_the_models_description():
    assert text_budget(DIA_16B) == 1024 and text_budget(DIA2_2B) == 1500
    assert text_budget(DIA_16B, "[S1] Hi.") == 1024 - len("\x01 Hi. ".encode())
    assert text_budget(DIA2_2B, "[S1] Hi.") == 1500 - DIA2_2B.measure_text("[S1] Hi. ")
    assert seconds_budget(DIA_16B) == pytest.approx(3072 / (44100 / 512) * 0.8)  # about 28.5 s of the 35.7
    assert seconds_budget(DIA2_2B) == pytest.approx(120 * 0.8)  # 2 minutes, a fifth kept in reserve
    assert seconds_budget(DIA2_2B, prompt_frames(DIA2_2B, 10.0)) == pytest.approx(110 * 0.8)
    assert prompt_frames(DIA_16B, 2.0) == round(2 * 44100 / 512)


def test_one_speaking_rate_per_family_drives_the_estimates():
    text = "word " * 30
    assert estimate_seconds(text, DIA_16B) == pytest.approx(len(text.strip()) / DIA_16B.speech_chars_per_second)
    assert estimate_seconds(text, DIA2_2B) == pytest.approx(len(text.strip()) / DIA2_2B.speech_chars_per_second)
    assert estimate_frames(text, DIA2_2B) == round(estimate_seconds(text, DIA2_2B) * 12.5)
    assert estimate_frames(text, DIA_16B) == round(estimate_seconds(text, DIA_16B) * 44100 / 512)


def test_a_line_dia_splits_fits_dia2_whole_up_to_about_two_minutes():
    (line,) = parse_script("[S1] " + SENTENCE * 12).lines  # about 46 s of speech, 700 bytes
    assert len(parts_needed(line, DIA_16B)) >= 2
    assert parts_needed(line, DIA2_2B) == [line.model_text]
    (longer,) = parse_script("[S1] " + SENTENCE * 40).lines  # about 170 s: more than one Dia2 generation
    parts = parts_needed(longer, DIA2_2B)
    assert len(parts) == 2 and all(estimate_seconds(p[5:], DIA2_2B) <= seconds_budget(DIA2_2B) for p in parts)


def test_dia2_parts_are_limited_in_tokens():
    (line,) = parse_script("[S1] " + "Hello there, how are you? " * 8).lines
    parts = split_for_model(line.turns, TINY_DIA2, max_text=30, max_seconds=1000)
    assert len(parts) > 1 and all(TINY_DIA2.measure_text(p) <= 30 for p in parts)
    with pytest.raises(ValueError, match="only 5 tokens are left"):
        split_for_model(line.turns, TINY_DIA2, max_text=5, max_seconds=1000)


def test_lint_speaks_of_the_loaded_family_and_its_limits():
    script = parse_script("[S1] " + SENTENCE * 8)  # about 31 s
    assert long_seconds(DIA_16B) == 20 and long_seconds(DIA2_2B) == 66
    assert [i.code for i in lint_script(script, DIA_16B)] == ["long", "split"]
    assert [i.code for i in lint_script(script, DIA2_2B)] == []
    issues = lint_script(parse_script("[S1] Hi"), DIA2_2B, prompt_transcript="[S1] A. [S2] B.",
                         prompt_frames=prompt_frames(DIA2_2B, 118.0))
    assert issues[0].code == "voice-length" and "model's 120 s of audio" in issues[0].message
    issues = lint_script(parse_script("[S1] Hi"), TINY_DIA2, prompt_transcript="[S1] " + "word " * 130)
    assert issues[0].code == "voice-transcripts" and "128 tokens" in issues[0].message
    assert "Dia2 may rush" in lint_script(parse_script("[S1] Hi."), DIA2_2B)[0].message


def test_without_a_model_description_only_the_model_free_checks_run():
    issues = lint_script(parse_script("[S2] Hi (dances)\n[S1] " + SENTENCE * 30), None)
    assert sorted(i.code for i in issues) == ["first-speaker", "unknown-tag"]
