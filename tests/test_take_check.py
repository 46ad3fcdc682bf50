"""The take check on hand-made transcripts and synthetic audio: no recogniser involved."""

from __future__ import annotations

import numpy as np
import pytest

from projects.take_check import (DEFAULT_WORDS_PER_SECOND, CheckThresholds, best_take, check_take, clipped_fraction,
                                 measure_silence, voice_rate)

RATE = 24_000


def speech(*segments: tuple[str, float], level: float = 0.25) -> np.ndarray:
    """("sound", s) is a voiced stretch (a 150 Hz tone with a 4 Hz syllable rhythm), ("gap", s) silence."""
    pieces = []
    for kind, seconds in segments:
        t = np.arange(int(round(seconds * RATE))) / RATE
        if kind == "sound":
            pieces.append(level * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t)) * np.sin(2 * np.pi * 150 * t))
        else:
            pieces.append(1e-5 * np.sin(2 * np.pi * 50 * t))  # not digital zero: a quiet room
    return np.concatenate(pieces).astype(np.float32)


CLEAN = speech(("gap", 0.2), ("sound", 2.0), ("gap", 0.3))
LINE = "I really like that big old house."  # 7 words in 2 s of speech: 3.5 words/s


def test_a_take_that_says_the_line_passes():
    check = check_take(LINE, "I really like that big old house", CLEAN, RATE, voice_words_per_second=3.5)
    assert check.passed and check.verdict == "ok"
    assert check.word_error_rate == 0.0 and not check.missing and not check.extra
    assert check.words_per_second == pytest.approx(3.5, rel=0.03)
    assert check.silence.leading == pytest.approx(0.2, abs=0.021)
    assert check.silence.trailing == pytest.approx(0.3, abs=0.021)
    assert check.silence.longest_pause == 0.0


def test_missing_words_are_named_in_the_verdict():
    check = check_take(LINE, "I like that old house", CLEAN, RATE, voice_words_per_second=2.5)
    assert check.missing == ("really", "big")
    assert check.word_error_rate == pytest.approx(2 / 7, abs=1e-3)
    assert not check.passed
    assert check.verdict.startswith("2 words missing: 'really', 'big'")


def test_extra_and_wrong_words():
    repeated = check_take(LINE, "I I I really really like that big old house house", CLEAN, RATE,
                          voice_words_per_second=4.0)
    assert repeated.extra == ("i", "i", "really", "house")
    assert "4 words extra: 'i', 'i', 'really' and 1 more" in repeated.verdict
    one_extra = check_take(LINE, "I really really like that big old house", CLEAN, RATE, voice_words_per_second=4)
    assert one_extra.extra == ("really",) and one_extra.passed  # up to 2 extra words, 25% errors by default
    two_extra = check_take(LINE, "I really really like that big old house house", CLEAN, RATE,
                           voice_words_per_second=4.5)
    assert two_extra.problems == ("word error rate 29%",)  # not too many extra words, but too many errors
    gibberish = check_take(LINE, "eye rarely bike hat pig bold mouse", CLEAN, RATE, voice_words_per_second=3.5)
    assert gibberish.word_error_rate == 1.0
    assert gibberish.verdict.startswith("7 words wrong: 'i→eye', 'really→rarely', 'like→bike' and 4 more")
    assert "word error rate 100%" in gibberish.verdict


def test_numbers_punctuation_and_nonverbal_tags_are_normalised():
    text = "(laughs) It's 25 dollars, Mr. Smith! [S2] Twenty past ten."
    check = check_take(text, "It is twenty-five dollars. Mister Smith, 20 past 10.", CLEAN, RATE)
    assert check.word_error_rate == 0.0, check
    assert check.expected == ("it", "is", "$25", "mister", "smith", "20", "past", "10")


def test_speaking_rate_against_the_voice():
    fast = check_take(LINE, "I really like that big old house", CLEAN, RATE, voice_words_per_second=2.0)
    assert fast.rate_ratio == pytest.approx(1.75, rel=0.03)
    assert "too fast: 3.5 words/s (voice 2.0)" in fast.verdict
    slow = check_take(LINE, "I really like that big old house", CLEAN, RATE, voice_words_per_second=6.0)
    assert "too slow: 3.5 words/s (voice 6.0)" in slow.verdict
    # Without a voice clip the rate is compared with a typical one; short lines have no rate.
    assert check_take(LINE, "I really like that big old house", CLEAN, RATE).voice_words_per_second == \
        DEFAULT_WORDS_PER_SECOND
    assert check_take("Yes.", "yes", CLEAN, RATE).words_per_second is None


def test_silences_at_the_ends_and_inside():
    audio = speech(("gap", 1.6), ("sound", 1.0), ("gap", 2.2), ("sound", 1.0), ("gap", 3.0))
    check = check_take(LINE, "I really like that big old house", audio, RATE, voice_words_per_second=3.5)
    assert check.silence.leading == pytest.approx(1.6, abs=0.021)
    assert check.silence.longest_pause == pytest.approx(2.2, abs=0.041)
    assert check.silence.trailing == pytest.approx(3.0, abs=0.021)
    assert check.silence.speech_seconds == pytest.approx(2.0, abs=0.041)  # pauses do not slow the rate
    assert check.verdict == "1.6 s silence at the start; 2.2 s pause; 3.0 s silence at the end"
    silent = check_take(LINE, "", np.zeros(RATE, np.float32), RATE)
    assert "silent" in silent.problems and "7 words missing" in silent.verdict


def test_clipping_counts_flat_tops_only():
    t = np.arange(RATE) / RATE
    loud_sine = np.sin(2 * np.pi * 150 * t).astype(np.float32)  # touches 1.0 at single samples only
    assert clipped_fraction(loud_sine * 0.999) == 0.0
    clipped = np.clip(loud_sine * 1.5, -1, 1)
    assert clipped_fraction(clipped) > 0.3
    check = check_take(LINE, "I really like that big old house", clipped, RATE)
    assert any(p.startswith("clipped (") for p in check.problems)


def test_thresholds_are_settings():
    lenient = CheckThresholds(max_missing_words=2, max_word_error_rate=0.3)
    assert check_take(LINE, "I like that old house", CLEAN, RATE, voice_words_per_second=2.5,
                      thresholds=lenient).passed
    assert CheckThresholds.from_dict({"max_pause": "2.5", "unknown": 1}) == CheckThresholds(max_pause=2.5)
    assert CheckThresholds.from_dict(CheckThresholds().to_dict()) == CheckThresholds()


def test_the_voice_rate_comes_from_the_clip():
    clip = speech(("gap", 0.5), ("sound", 4.0), ("gap", 1.0))
    assert voice_rate("Hello there, this is my voice for the show today.", clip, RATE) == pytest.approx(2.5, rel=0.02)
    assert voice_rate("Hi.", clip, RATE) is None  # too few words to tell


def test_the_best_take_has_the_fewest_problems_then_the_fewest_errors():
    good = check_take(LINE, "I really like that big old house", CLEAN, RATE, voice_words_per_second=3.5)
    one_wrong = check_take(LINE, "I really like that pig old house", CLEAN, RATE, voice_words_per_second=3.5)
    missing = check_take(LINE, "I like that house", CLEAN, RATE, voice_words_per_second=3.5)
    assert best_take([("a", missing), ("b", one_wrong), ("c", good)]) == "c"
    assert best_take([("a", missing), ("b", one_wrong)]) == "b"
    assert best_take([("a", good), ("b", good)]) == "a"
    assert best_take([]) is None


def test_silence_profile_of_pure_silence_and_of_nothing():
    assert measure_silence(np.zeros(RATE, np.float32), RATE).speech_seconds == 0.0
    assert measure_silence(np.zeros(0, np.float32), RATE).leading == 0.0


# ---- real speech (espeak-ng, where installed: `apt-get install espeak-ng`) -------------------------------------

SENTENCE = "I really like that big old house. It has a garden, and a view of the sea."


def espeak(tmp_path, words_per_minute: int):
    import shutil
    import subprocess

    import soundfile as sf

    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    path = tmp_path / f"speech-{words_per_minute}.wav"
    subprocess.run(["espeak-ng", "-s", str(words_per_minute), "-w", str(path), SENTENCE], check=True)
    audio, rate = sf.read(path, dtype="float32")
    return audio, rate


def test_real_speech_passes_and_its_faults_are_found(tmp_path):
    audio, rate = espeak(tmp_path, 160)
    voice = voice_rate(SENTENCE, audio, rate)
    assert 2.5 < voice < 5.0  # espeak-ng speaks briskly
    assert check_take(SENTENCE, SENTENCE, audio, rate, voice_words_per_second=voice).verdict == "ok"
    # The same voice at double speed is too fast; a 2 s gap in the middle is a pause; a word dropped is named.
    fast, fast_rate = espeak(tmp_path, 320)
    assert check_take(SENTENCE, SENTENCE, fast, fast_rate, voice_words_per_second=voice).verdict.startswith(
        "too fast")
    middle = len(audio) // 2
    gap = np.concatenate([audio[:middle], np.zeros(2 * rate, np.float32), audio[middle:]])
    assert "2.0 s pause" in check_take(SENTENCE, SENTENCE, gap, rate, voice_words_per_second=voice).verdict
    heard = SENTENCE.replace("big ", "")
    assert check_take(SENTENCE, heard, audio, rate, voice_words_per_second=voice).verdict == \
        "1 word missing: 'big'"
