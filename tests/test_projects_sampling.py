"""Sampling per family: the fields each family has, its defaults, values kept per family, clear refusals."""

import pytest

from dia_engine.describe import describe
from projects.model import Sampling
from projects.project import Project
from projects.sampling import (canonical, defaults, form_fields, resolved_values, summary, to_params,
                               tooltip)

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


def test_takes_record_every_value_and_defaults_are_stored_as_unset():
    assert resolved_values(DIA, {"temperature": 0.7}) == {"cfg_scale": 3.0, "temperature": 0.7, "top_p": 0.95,
                                                           "cfg_filter_top_k": 45, "max_tokens": None}
    stored = canonical(DIA2, {"cfg_scale": 2.0, "temperature": 0.5, "max_tokens": 0, "top_p": None})
    assert stored["cfg_scale"] is None and stored["temperature"] == 0.5 and stored["max_tokens"] is None
    assert Sampling(**stored).text_temperature is None


def test_summaries_fill_in_the_familys_defaults():
    assert summary({"temperature": 0.5}, DIA2) == "cfg 2 · T 0.5 · top-k 50 · text T 0.6 · text top-k 50 · filter k 50"
    assert summary({"temperature": 0.5, "max_tokens": 90}) == "T 0.5 · max 90"
    assert summary({}) == "the model's defaults"
    assert tooltip({}, DIA).splitlines() == ["CFG scale 3", "Temperature 1.2", "Top-p 0.95", "CFG filter top-k 45",
                                             "Max tokens automatic"]


def test_switching_family_and_back_restores_the_values(tmp_path):
    project = Project.create(tmp_path / "p")
    project.set_script("[S1] One.\n[S2] Two.\n[S1] Three.")
    project.doc.sampling = Sampling(cfg_scale=2.5, max_tokens=900)  # a project written before Dia2: no family
    project.set_line_sampling("L2", Sampling(temperature=1.0))
    project.set_line_sampling("L3", Sampling())  # an override that is all defaults is still an override
    assert project.use_sampling_of("dia2")
    assert project.sampling() == Sampling() and project.doc.sampling_family == "dia2"  # Dia2's defaults
    assert [line.sampling for line in project.lines] == [None, None, None]
    project.doc.sampling = Sampling(text_temperature=0.3)
    project.set_line_sampling("L1", Sampling(text_top_k=5))
    project.save()
    project = Project.open(tmp_path / "p")  # what is kept aside is saved
    assert project.use_sampling_of("dia")
    assert project.sampling() == Sampling(cfg_scale=2.5, max_tokens=900)
    assert [line.sampling for line in project.lines] == [None, Sampling(temperature=1.0), Sampling()]
    assert not project.use_sampling_of("dia")
    project.use_sampling_of("dia2")
    assert project.sampling() == Sampling(text_temperature=0.3)
    assert [line.sampling for line in project.lines] == [Sampling(text_top_k=5), None, None]
