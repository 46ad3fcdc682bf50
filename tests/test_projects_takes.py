"""Takes and line state (missing / stale / done), seeds, and what survives edits of the script."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from projects.model import Line
from projects.project import Project
from projects.seeds import SEED_LIMIT, derived_seed, seed_for_next_take
from projects.takes import LineStatus

RATE = 44100


@pytest.fixture
def tone_clip(tmp_path):
    path = tmp_path / "tone.wav"
    t = np.arange(int(22050 * 0.4)) / 22050
    sf.write(path, 0.3 * np.sin(2 * np.pi * 180 * t), 22050)
    return path


@pytest.fixture
def project(tmp_path):
    project = Project.create(tmp_path / "p")
    project.set_script("[S1] Hello there.\n[S2] Hi, how are you?\n[S1] Fine, thanks.")
    return project


def take(project: Project, line_id: str, seed: int = 1, value: float = 0.1):
    audio = np.full(RATE // 4, value, dtype=np.float32)
    return project.add_take(line_id, audio, RATE, seed=seed, sampling=project.doc.sampling, model_id="test",
                            fingerprint=project.fingerprint(line_id))


def test_state_moves_from_missing_to_done_to_stale(project):
    assert set(project.statuses().values()) == {LineStatus.MISSING}
    for line in project.lines:
        take(project, line.id)
    assert set(project.statuses().values()) == {LineStatus.DONE}
    project.set_script("[S1] Hello there.\n[S2] Hi, how ARE you?\n[S1] Fine, thanks.")
    assert project.statuses() == {"L1": LineStatus.DONE, "L2": LineStatus.STALE, "L3": LineStatus.DONE}
    assert project.lines_to_generate() == ["L2"]


def test_sampling_and_voices_are_part_of_the_fingerprint_but_names_and_timing_are_not(project, tone_clip):
    for line in project.lines:
        take(project, line.id)
    project.set_speaker("S1", name="Alice")
    project.set_line_options("L1", gap_ms=50.0, gain_db=2.0, trim_silence=False)
    assert project.lines_to_generate() == []
    project.doc.sampling.temperature = 1.0
    assert project.lines_to_generate() == ["L1", "L2", "L3"]
    project.doc.sampling.temperature = None  # back to the family's default (the editor stores a default as None)
    assert project.lines_to_generate() == []
    project.set_speaker("S2", clip=tone_clip, transcript="A short tone.")
    assert project.lines_to_generate() == ["L1", "L2", "L3"]  # every line's prompt holds both voices


def test_a_speaker_tag_change_makes_the_untagged_line_below_stale(tmp_path):
    project = Project.create(tmp_path)
    project.set_script("[S1] The first line.\nIt goes on here.")
    take(project, "L1")
    take(project, "L2")
    project.set_script("[S2] The first line.\nIt goes on here.")
    # the untagged line's own text is unchanged, but it now belongs to S2: its model text changed
    assert [line.id for line in project.lines] == ["L1", "L2"]
    assert project.script_line("L2").model_text == "[S2] It goes on here."
    assert project.statuses() == {"L1": LineStatus.STALE, "L2": LineStatus.STALE}


def test_editing_a_line_keeps_its_takes_and_a_new_take_becomes_active(project):
    first = take(project, "L2", seed=11)
    project.set_script("[S1] Hello there.\n[S2] Hi! How have you been?\n[S1] Fine, thanks.")
    assert project.line("L2").takes == [first]
    second = take(project, "L2", seed=22, value=0.2)
    line = project.line("L2")
    assert [t.id for t in line.takes] == ["L2-1", "L2-2"] and line.active_take == "L2-2" and line.seed is None
    assert line.takes[-1].seed == 22  # the take has its seed; the line's (pinned) seed is the user's alone
    assert (project.folder / first.file).is_file() and (project.folder / second.file).is_file()
    project.set_active_take("L2", "L2-1")
    assert project.status("L2") is LineStatus.STALE  # the old take was made from the old text
    assert np.allclose(project.take_audio("L2"), 0.1) and np.allclose(project.take_audio("L2", "L2-2"), 0.2)


def test_inserting_a_line_does_not_renumber_the_others(project):
    for line in project.lines:
        take(project, line.id)
    project.set_script("[S1] A new opening.\n[S1] Hello there.\n[S2] Hi, how are you?\n[S1] Fine, thanks.")
    assert [line.id for line in project.lines] == ["L4", "L1", "L2", "L3"]
    assert project.statuses() == {"L4": LineStatus.MISSING, "L1": LineStatus.DONE, "L2": LineStatus.DONE,
                                  "L3": LineStatus.DONE}


def test_a_line_cut_and_pasted_back_gets_its_takes_back(project):
    take(project, "L2")
    project.set_script("[S1] Hello there.\n[S1] Fine, thanks.")
    assert [line.id for line in project.lines] == ["L1", "L3"]
    project.set_script("[S1] Hello there.\n[S1] Fine, thanks.\n[S2] Hi, how are you?")
    assert [line.id for line in project.lines] == ["L1", "L3", "L2"]
    assert project.status("L2") is LineStatus.DONE


def test_keep_only_active_is_the_one_way_to_delete_takes(project):
    old = take(project, "L1", seed=1)
    new = take(project, "L1", seed=2)
    cut = take(project, "L3")
    project.set_script("[S1] Hello there.\n[S2] Hi, how are you?")  # L3 cut: its take is kept for now
    assert (project.folder / cut.file).is_file()
    removed = project.keep_only_active()
    assert removed == 2
    assert [t.id for t in project.line("L1").takes] == [new.id]
    assert not (project.folder / old.file).exists() and not (project.folder / cut.file).exists()
    assert (project.folder / new.file).is_file()
    assert all(not line.takes for line in Project.open(project.folder).doc.removed_lines)  # records stay, for undo


def test_take_records_what_it_was_made_from(project):
    t = take(project, "L1", seed=1234)
    assert t.seed == 1234 and t.model_id == "test" and t.duration == pytest.approx(0.25)
    assert t.fingerprint == project.fingerprint("L1") and t.sampling == project.doc.sampling
    assert t.file == "takes/L1-1.wav" and t.created.tzinfo is not None


def test_a_line_deleted_while_generating_keeps_its_take_with_its_record(project):
    fingerprint = project.fingerprint("L2")
    project.set_script("[S1] Hello there.")
    audio = np.zeros(100, dtype=np.float32)
    take = project.add_take("L2", audio, RATE, seed=1, sampling=project.doc.sampling, model_id="test",
                            fingerprint=fingerprint)
    assert take is not None and (project.folder / take.file).exists()  # no take is ever lost
    assert [line.id for line in project.doc.removed_lines if line.takes] == ["L2"]
    assert project.add_take("L99", audio, RATE, seed=1, sampling=project.doc.sampling, model_id="test",
                            fingerprint=fingerprint) is None  # a line the project never had


# ----- seeds -----------------------------------------------------------------------------------------
def test_pinned_line_reuses_its_seed_and_unpinned_draws_a_new_one():
    line = Line(id="L1", text="x", seed=42, pinned=True)
    assert seed_for_next_take(None, line) == 42 and seed_for_next_take(7, line) == 42
    line.pinned = False
    seeds = {seed_for_next_take(None, line) for _ in range(5)}
    assert len(seeds) == 5 and all(0 <= s < SEED_LIMIT for s in seeds)


def test_project_seed_derives_reproducible_distinct_seeds():
    line = Line(id="L3", text="x", next_take=1)
    assert seed_for_next_take(9, line) == seed_for_next_take(9, Line(id="L3", text="y")) == derived_seed(9, "L3", 1)
    line.next_take = 2  # the next regeneration of the same line draws a different, still reproducible seed
    assert seed_for_next_take(9, line) != derived_seed(9, "L3", 1)
    assert derived_seed(9, "L3", 1) != derived_seed(9, "L4", 1) != derived_seed(10, "L4", 1)


def test_a_pinned_seed_different_from_the_active_take_is_stale(project):
    take(project, "L1", seed=5)
    project.set_line_options("L1", pinned=True)
    assert project.status("L1") is LineStatus.DONE
    project.set_line_options("L1", seed=6)
    assert project.status("L1") is LineStatus.STALE
