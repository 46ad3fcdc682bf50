"""Per-line sampling overrides: only that line goes stale, generation uses them, they persist and clear."""

from __future__ import annotations

import json

from dia_engine import FRAMES_PER_SECOND
from projects.generation import GenerationService
from projects.model import Sampling
from projects.project import Project
from projects.sampling import resolved_values
from projects.takes import LineStatus

SCRIPT = "[S1] Hello there, welcome to the show.\n[S2] Thanks, glad to be here!\n[S1] Let us begin."
PROJECT_TOKENS, LINE_TOKENS = 60, 20


def new_project(folder) -> Project:
    project = Project.create(folder)
    project.set_script(SCRIPT)
    project.doc.sampling.max_tokens = PROJECT_TOKENS
    project.doc.seed = 7
    project.save()
    return project


def test_an_override_makes_only_that_line_stale_and_clearing_restores_it(tmp_path, tiny_engine):
    project = new_project(tmp_path / "p")
    service = GenerationService(project, tiny_engine)
    service.run(service.plan())
    before = {line.id: project.fingerprint(line.id) for line in project.lines}
    assert set(project.statuses().values()) == {LineStatus.DONE}

    # The same values as the project's: nothing to regenerate.
    project.set_line_sampling("L2", project.sampling())
    assert project.fingerprint("L2") == before["L2"] and project.status("L2") is LineStatus.DONE

    override = Sampling(**{**project.sampling().model_dump(), "temperature": 0.7})
    project.set_line_sampling("L2", override)
    assert project.line_sampling("L2") == override and project.line_sampling("L1") == project.sampling()
    assert project.fingerprint("L2") != before["L2"]
    assert project.statuses() == {"L1": LineStatus.DONE, "L2": LineStatus.STALE, "L3": LineStatus.DONE}
    assert project.lines_to_generate() == ["L2"]

    # The project's sampling no longer reaches the overridden line: the others go stale, L2 keeps its state.
    project.doc.sampling = Sampling(**{**project.sampling().model_dump(), "cfg_scale": 2.0})
    assert project.statuses() == {"L1": LineStatus.STALE, "L2": LineStatus.STALE, "L3": LineStatus.STALE}
    l2_override = project.fingerprint("L2")
    project.doc.sampling = Sampling(**{**project.sampling().model_dump(), "cfg_scale": None})  # the default again
    assert project.fingerprint("L2") == l2_override

    project.set_line_sampling("L2", None)
    assert project.line("L2").sampling is None and project.line_sampling("L2") == project.sampling()
    assert {line.id: project.fingerprint(line.id) for line in project.lines} == before
    assert set(project.statuses().values()) == {LineStatus.DONE}


def test_generation_uses_the_line_override_and_records_it(tmp_path, tiny_engine):
    project = new_project(tmp_path / "p")
    override = Sampling(**{**project.sampling().model_dump(), "max_tokens": LINE_TOKENS})
    project.set_line_sampling("L1", override)
    service = GenerationService(project, tiny_engine)
    jobs = service.plan()
    assert [job.sampling for job in jobs] == [override, project.sampling(), project.sampling()]
    report = service.run(jobs)
    assert set(project.statuses().values()) == {LineStatus.DONE}
    l1, l3 = report.takes["L1"], report.takes["L3"]  # same speaker, similar length of text
    # Each take records every value it was made with: the family's defaults filled in where the project had none.
    info = tiny_engine.info
    assert l1.sampling == Sampling(**resolved_values(info, override.model_dump())) and l1.sampling.cfg_scale == 3.0
    assert l1.fingerprint == project.fingerprint("L1")
    assert l3.sampling == Sampling(**resolved_values(info, project.sampling().model_dump()))
    assert l3.fingerprint == project.fingerprint("L3")
    # The engine saw the override: 20 decoder steps cannot make more than 20 frames of audio.
    assert 0 < l1.duration <= LINE_TOKENS / FRAMES_PER_SECOND + 1e-6
    assert l3.duration > l1.duration
    assert service.plan() == []

    # Changing the override afterwards makes just that line stale; regenerating it makes a take with the new values.
    project.set_line_sampling("L1", Sampling(**{**override.model_dump(), "max_tokens": LINE_TOKENS + 10}))
    jobs = service.plan()
    assert [job.line_id for job in jobs] == ["L1"] and jobs[0].sampling.max_tokens == LINE_TOKENS + 10
    take = service.run(jobs).takes["L1"]
    assert take.sampling.max_tokens == LINE_TOKENS + 10 and project.status("L1") is LineStatus.DONE


def test_an_override_is_saved_and_old_project_files_load_without_one(tmp_path):
    project = new_project(tmp_path / "p")
    override = Sampling(cfg_scale=2.5, temperature=0.9, top_p=0.9, cfg_filter_top_k=30, max_tokens=40)
    project.set_line_sampling("L3", override)
    fingerprint = project.fingerprint("L3")
    project.save()
    reopened = Project.open(project.folder)
    assert reopened.line("L3").sampling == override and reopened.line("L1").sampling is None
    assert reopened.fingerprint("L3") == fingerprint

    # A project.json written before lines had overrides (no "sampling" key on lines) still opens.
    data = json.loads((project.folder / "project.json").read_text())
    for line in data["lines"]:
        line.pop("sampling", None)
    (project.folder / "project.json").write_text(json.dumps(data))
    old = Project.open(project.folder)
    assert all(line.sampling is None for line in old.lines)
    assert old.line_sampling("L3") == old.sampling()
