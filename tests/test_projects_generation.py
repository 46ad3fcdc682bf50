"""The generation service with the tiny model and tiny DAC: incremental generation, seeds, stopping and resuming,
over-long lines generated in parts."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from dia_engine import text_byte_length
from projects.generation import GenerationService
from projects.project import Project
from projects.takes import LineStatus

SCRIPT = "[S1] Hello there, welcome to the show.\n[S2] Thanks, glad to be here!\n[S1] Let us begin."


def new_project(folder, script=SCRIPT, seed=None, max_tokens=30) -> Project:
    project = Project.create(folder)
    project.set_script(script)
    project.doc.sampling.max_tokens = max_tokens
    project.doc.seed = seed
    project.save()
    return project


def test_generates_missing_lines_then_nothing(tmp_path, tiny_engine):
    project = new_project(tmp_path / "p", seed=1)
    service = GenerationService(project, tiny_engine)
    jobs = service.plan()
    assert [job.line_id for job in jobs] == ["L1", "L2", "L3"]
    assert jobs[0].parts == ("[S1] Hello there, welcome to the show.",)
    progress, takes = [], []
    report = service.run(jobs, on_progress=progress.append, on_take=lambda line_id, take: takes.append(line_id))
    assert not report.stopped and sorted(report.takes) == sorted(takes) == ["L1", "L2", "L3"]
    assert set(project.statuses().values()) == {LineStatus.DONE}
    assert progress[-1].lines_done == 3 and progress[-1].fraction == pytest.approx(1.0)
    assert all(b.fraction >= a.fraction - 1e-9 for a, b in zip(progress, progress[1:]))
    for line in project.lines:
        take = line.take(line.active_take)
        audio, rate = sf.read(str(project.folder / take.file), dtype="float32")
        assert rate == 44100 and take.model_id == tiny_engine.model_id
        assert take.fingerprint == project.fingerprint(line.id)
        assert take.duration == pytest.approx(len(audio) / rate)
    # saved as each take finished: a fresh open sees them all
    assert set(Project.open(project.folder).statuses().values()) == {LineStatus.DONE}
    assert service.plan() == []


def test_regeneration_keeps_old_takes_draws_new_seeds_and_pinned_lines_reproduce(tmp_path, tiny_engine):
    project = new_project(tmp_path / "p", script="[S1] One two three.")
    service = GenerationService(project, tiny_engine)
    service.run(service.plan())
    service.run(service.plan(force=True))  # unpinned: a new seed, and the first take stays
    first, second = project.line("L1").takes
    assert second.seed != first.seed and project.line("L1").active_take == second.id
    assert (project.folder / first.file).is_file()
    project.set_line_options("L1", pinned=True)
    service.run(service.plan(["L1"], force=True))  # pinned, inputs unchanged: the very same take again
    third = project.line("L1").takes[2]
    assert third.seed == second.seed
    assert np.array_equal(project.take_audio("L1", third.id), project.take_audio("L1", second.id))


def test_a_project_seed_makes_a_fresh_render_reproducible(tmp_path, tiny_engine):
    renders = []
    for name in ("a", "b"):
        project = new_project(tmp_path / name, script="[S1] Same words.\n[S2] Same seed.", seed=1234)
        service = GenerationService(project, tiny_engine)
        service.run(service.plan())
        renders.append(project)
    a, b = renders
    assert [line.take(line.active_take).seed for line in a.lines] == [line.take(line.active_take).seed
                                                                       for line in b.lines]
    for line in a.lines:
        assert np.array_equal(a.take_audio(line.id), b.take_audio(line.id))


def test_stopping_keeps_finished_takes_and_the_next_run_resumes(tmp_path, tiny_engine, monkeypatch):
    monkeypatch.setattr(tiny_engine, "batch_slots", 1)  # one line at a time, so the stop falls between lines
    project = new_project(tmp_path / "p", seed=5)
    service = GenerationService(project, tiny_engine)
    finished = []
    report = service.run(service.plan(), on_take=lambda line_id, take: finished.append(line_id),
                         should_stop=lambda: len(finished) >= 1)
    assert report.stopped and list(report.takes) == ["L1"]
    reopened = Project.open(project.folder)  # what was saved survives a crash right here
    remaining = [line_id for line_id, s in reopened.statuses().items() if s is LineStatus.MISSING]
    assert len(remaining) == 3 - len(report.takes)
    resumed = GenerationService(reopened, tiny_engine)
    jobs = resumed.plan()
    assert [job.line_id for job in jobs] == remaining
    resumed.run(jobs)
    assert set(reopened.statuses().values()) == {LineStatus.DONE}
    assert all(len(line.takes) == 1 for line in reopened.lines)  # nothing was generated twice


def test_an_over_long_line_is_generated_in_parts_and_joined(tmp_path, tiny_engine):
    sentence = "This sentence is here to make the line far too long for one generation. "
    project = new_project(tmp_path / "p", script="[S1] " + sentence * 14, seed=3)  # ~1 kB, ~65 s of speech
    service = GenerationService(project, tiny_engine)
    (job,) = service.plan()
    assert len(job.parts) >= 2
    assert all(p.startswith("[S1] ") and text_byte_length(p) <= tiny_engine.max_text_bytes for p in job.parts)
    report = service.run([job])
    take = report.takes["L1"]
    assert take.parts == len(job.parts) and project.status("L1") is LineStatus.DONE


def test_lines_with_voice_clips_get_the_combined_prompt(tmp_path, tiny_engine):
    clip = tmp_path / "a.wav"
    sf.write(clip, 0.3 * np.sin(np.arange(6615) * 0.05), 22050)  # 0.3 s
    project = new_project(tmp_path / "p", script="[S1] Hi.\n[S2] Hello.", seed=2, max_tokens=50)
    project.set_speaker("S1", clip=clip, transcript="A short clip.")
    service = GenerationService(project, tiny_engine)
    assert service.voice().transcript == "[S1] A short clip."
    report = service.run(service.plan())
    assert sorted(report.takes) == ["L1", "L2"]
    project.set_speaker("S1", transcript="A different transcript.")
    assert project.lines_to_generate() == ["L1", "L2"]
    assert service.voice().transcript == "[S1] A different transcript."


def test_an_engine_without_codec_is_refused(tmp_path, tiny_engine_codes_only):
    from projects.store import ProjectError

    with pytest.raises(ProjectError, match="without an audio codec"):
        GenerationService(new_project(tmp_path / "p"), tiny_engine_codes_only)
