"""Sampling per family: the fields each family has, its defaults, values kept per family, clear refusals."""

import json

import pytest

from dia_engine.describe import describe
from projects.fingerprint import line_fingerprint
from projects.model import Sampling
from projects.sampling import defaults, form_fields, resolved_values, switch_family, to_params

from conftest import DATA, TINY_MODEL

DIA = describe(TINY_MODEL)
DIA2 = describe(DATA / "dia2-tiny")


def test_each_family_shows_its_own_fields_with_its_defaults():
    assert [f.name for f in form_fields(DIA)] == ["cfg_scale", "temperature", "top_p", "cfg_filter_top_k"]
    assert [f.label for f in form_fields(DIA2)] == ["CFG scale", "Audio temperature", "Audio top-k",
                                                     "Text temperature", "Text top-k", "CFG filter top-k"]
    assert defaults(DIA) == {"cfg_scale": 3.0, "temperature": 1.2, "top_p": 0.95, "cfg_filter_top_k": 45}
    assert defaults(DIA2) == {"cfg_scale": 2.0, "temperature": 0.8, "top_k": 50, "text_temperature": 0.6,
                              "text_top_k": 50, "cfg_filter_top_k": 50}


def test_unset_values_take_the_family_default_and_foreign_ones_are_refused():
    params = to_params(DIA2, {"temperature": 0.0, "max_tokens": 40})
    assert (params.temperature, params.text_temperature, params.top_k, params.max_tokens) == (0.0, 0.6, 50, 40)
    assert params.top_p is None
    with pytest.raises(ValueError, match="Dia2 has no sampling parameter top_p"):
        to_params(DIA2, {"top_p": 0.9})
    with pytest.raises(ValueError, match="Dia 1.6B has no sampling parameter text_temperature, text_top_k"):
        to_params(DIA, {"text_temperature": 0.5, "text_top_k": 5})
    with pytest.raises(ValueError, match="top_k must be an integer >= 1"):
        to_params(DIA2, {"top_k": 0})


def test_a_dia_project_keeps_the_fingerprints_it_had_before_families():
    legacy = Sampling()  # the values every project stored so far: Dia 1.6B's defaults, written out
    before = line_fingerprint("[S1] Hi.", "v", legacy)
    resolved = resolved_values(DIA, {})
    assert resolved == legacy.model_dump()
    assert json.dumps(resolved, sort_keys=True) == json.dumps(legacy.model_dump(), sort_keys=True)
    assert before == line_fingerprint("[S1] Hi.", "v", Sampling(**resolved))
    assert resolved_values(DIA, {"cfg_scale": 3.0}) == resolved  # a default typed in is the same take


def test_switching_family_and_back_restores_the_values():
    mine = {"cfg_scale": 2.5, "temperature": 1.0, "top_p": None, "cfg_filter_top_k": None, "max_tokens": 900}
    active, kept = switch_family(mine, {}, "dia", "dia2")
    assert all(value is None for value in active.values())  # Dia2 starts at its own defaults
    assert kept == {"dia": mine}
    active["text_temperature"] = 0.3
    back, kept = switch_family(active, kept, "dia2", "dia")
    assert {k: v for k, v in back.items() if v is not None} == {"cfg_scale": 2.5, "temperature": 1.0,
                                                                "max_tokens": 900}
    assert kept["dia2"]["text_temperature"] == 0.3
    again, _ = switch_family(back, kept, "dia", "dia2")
    assert again["text_temperature"] == 0.3 and again["cfg_scale"] is None
    same, kept_same = switch_family(back, kept, "dia", "dia")
    assert same == back and kept_same == kept
