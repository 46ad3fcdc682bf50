"""The timeline: gaps, overlaps with crossfades, gain, silence trimming, edge fades, stems and part joins."""

from __future__ import annotations

import numpy as np
import pytest

from projects.audio import (EDGE_FADE_MS, apply_fades, crossfade_join, equal_power_curves, ms_to_samples,
                            silence_bounds)
from projects.timeline import ClipSpec, arrange

RATE = 44100
FADE = ms_to_samples(EDGE_FADE_MS, RATE)


def dc(seconds: float, value: float = 0.5) -> np.ndarray:
    return np.full(int(round(seconds * RATE)), value, dtype=np.float32)


def test_clips_follow_each_other_after_their_gap():
    timeline = arrange([ClipSpec("a", dc(1.0)), ClipSpec("b", dc(0.5), gap_ms=300), ClipSpec("c", dc(0.25), gap_ms=0)],
                       RATE)
    starts = [p.start for p in timeline.placements]
    assert starts == [0, RATE + ms_to_samples(300, RATE), RATE + ms_to_samples(300, RATE) + RATE // 2]
    assert timeline.length == starts[-1] + RATE // 4
    mix = timeline.mix()
    gap = mix[RATE + 10 : RATE + ms_to_samples(300, RATE) - 10]
    assert np.all(gap == 0)  # silence between the lines
    assert mix[RATE // 2] == pytest.approx(0.5)  # the middle of a clip is untouched


def test_the_first_clip_starts_at_zero_whatever_its_gap():
    timeline = arrange([ClipSpec("a", dc(0.1), gap_ms=900)], RATE)
    assert timeline.placements[0].start == 0


def test_every_clip_edge_is_faded_so_joins_never_click():
    mix = arrange([ClipSpec("a", dc(0.5)), ClipSpec("b", dc(0.5, -0.5), gap_ms=0)], RATE).mix()
    assert 5 <= EDGE_FADE_MS <= 10
    assert abs(mix[0]) < 0.01 and abs(mix[-1]) < 0.01
    join = RATE // 2
    assert abs(mix[join - 1]) < 0.01 and abs(mix[join]) < 0.01  # no step from +0.5 to -0.5
    assert np.max(np.abs(np.diff(mix))) < 0.5 * np.pi / FADE  # the steepest slope is the raised-cosine fade's
    assert mix[FADE + 1] == pytest.approx(0.5)


def test_negative_gap_overlaps_with_an_equal_power_crossfade():
    a, b = dc(1.0, 0.4), dc(1.0, 0.4)
    timeline = arrange([ClipSpec("a", a), ClipSpec("b", b, gap_ms=-200)], RATE)
    overlap = ms_to_samples(200, RATE)
    assert timeline.placements[1].start == RATE - overlap
    assert timeline.length == 2 * RATE - overlap
    fade_out, fade_in = equal_power_curves(overlap)
    assert np.allclose(fade_out**2 + fade_in**2, 1.0)
    region = timeline.mix()[RATE - overlap + FADE : RATE - FADE]
    expected = 0.4 * (fade_out + fade_in)[FADE:-FADE]
    assert np.allclose(region, expected)


def test_an_overlap_longer_than_a_clip_is_limited_to_it():
    timeline = arrange([ClipSpec("a", dc(0.2)), ClipSpec("b", dc(1.0), gap_ms=-5000)], RATE)
    assert timeline.placements[1].start == 0


def test_gain_is_applied_in_db():
    mix = arrange([ClipSpec("a", dc(0.5, 0.5), gain_db=-6.0206)], RATE).mix()
    assert mix[RATE // 4] == pytest.approx(0.25, rel=1e-4)


def test_trimming_removes_leading_and_trailing_silence_but_keeps_a_margin():
    audio = np.concatenate([np.zeros(RATE), dc(0.5), np.full(RATE, 1e-5, dtype=np.float32)])
    start, end = silence_bounds(audio, RATE)
    keep = ms_to_samples(30, RATE)
    assert (start, end) == (RATE - keep, RATE + RATE // 2 + keep)
    trimmed = arrange([ClipSpec("a", audio, trim_silence=True)], RATE)
    untrimmed = arrange([ClipSpec("a", audio, trim_silence=False)], RATE)
    assert trimmed.length == end - start and untrimmed.length == len(audio)
    assert silence_bounds(np.zeros(100), RATE) == (0, 0)


def test_stems_have_the_mix_timing_and_sum_to_the_mix():
    clips = [ClipSpec("a", dc(0.5, 0.3), stem="S1"), ClipSpec("b", dc(0.5, 0.2), gap_ms=-100, stem="S2"),
             ClipSpec("c", dc(0.3, 0.1), gap_ms=200, stem="S1+S2"), ClipSpec("d", dc(0.3, 0.4), stem="S1")]
    timeline = arrange(clips, RATE)
    assert timeline.stem_names() == ["S1", "S1+S2", "S2"]
    stems = [timeline.mix(name) for name in timeline.stem_names()]
    assert all(len(stem) == timeline.length for stem in stems)
    assert np.allclose(sum(stems), timeline.mix())
    s2 = timeline.mix("S2")
    assert np.all(s2[: timeline.placements[1].start] == 0)


def test_empty_clips_and_empty_timelines_are_harmless():
    timeline = arrange([ClipSpec("a", np.zeros(0, np.float32)), ClipSpec("b", dc(0.1), gap_ms=-50)], RATE)
    assert timeline.placements[1].start == 0 and timeline.length == len(dc(0.1))
    assert arrange([], RATE).length == 0 and len(arrange([], RATE).mix()) == 0


def test_parts_of_a_line_are_joined_with_a_short_crossfade():
    joined = crossfade_join([dc(0.5, 0.2), dc(0.5, 0.2)], ms_to_samples(30, RATE))
    assert len(joined) == RATE - ms_to_samples(30, RATE)
    assert crossfade_join([], 10).size == 0
    assert np.array_equal(crossfade_join([dc(0.1)], 10), dc(0.1))


def test_fades_are_raised_cosine_from_zero():
    faded = apply_fades(np.ones(1000), 100, 100)
    assert faded[0] < 0.001 and faded[99] > 0.999 and faded[500] == 1.0 and faded[-1] < 0.001
    assert np.all(np.diff(faded[:100]) > 0)
