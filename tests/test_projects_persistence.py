"""project.json: atomic saves, backups and recovery, moving a project folder, missing take files."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
import soundfile as sf

from projects import store
from projects.model import ProjectFile
from projects.project import Project
from projects.store import CorruptProjectError, ProjectError
from projects.takes import LineStatus, TakeMissingError

RATE = 44100


@pytest.fixture
def tone_clip(tmp_path):
    path = tmp_path / "tone.flac"
    t = np.arange(int(16000 * 0.5)) / 16000
    sf.write(path, 0.3 * np.sin(2 * np.pi * 200 * t), 16000)
    return path


def _add_take(project: Project, line_id: str, value: float = 0.1, seconds: float = 0.5):
    audio = np.full(int(RATE * seconds), value, dtype=np.float32)
    return project.add_take(line_id, audio, RATE, seed=5, sampling=project.doc.sampling, model_id="test",
                            fingerprint=project.fingerprint(line_id))


def test_create_save_and_reopen_round_trips(tmp_path):
    project = Project.create(tmp_path / "show", name="My Show")
    project.set_script("[S1] Hello.\n[S2] Hi there.")
    project.set_speaker("S2", name="Bob")
    project.set_line_options("L2", gap_ms=-120.0, gain_db=-3.0, trim_silence=False)
    project.save()
    again = Project.open(tmp_path / "show")
    assert again.doc == project.doc
    assert [line.id for line in again.lines] == ["L1", "L2"]
    assert again.doc.speakers["S2"].name == "Bob" and again.line("L2").gap_ms == -120.0
    data = json.loads((tmp_path / "show" / "project.json").read_text())
    assert data["schema_version"] == 1 and data["name"] == "My Show"


def test_create_refuses_an_existing_project(tmp_path):
    Project.create(tmp_path)
    with pytest.raises(ProjectError, match="already holds a project"):
        Project.create(tmp_path)


def test_open_a_folder_without_project(tmp_path):
    with pytest.raises(ProjectError, match="not a Dia Studio project"):
        Project.open(tmp_path)


def test_save_is_atomic_a_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    project = Project.create(tmp_path)
    project.set_script("[S1] Version one.")
    project.save()
    before = (tmp_path / "project.json").read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    project.set_script("[S1] Version two.")
    with pytest.raises(ProjectError, match="disk is full"):
        project.save()
    monkeypatch.undo()
    assert (tmp_path / "project.json").read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # no temp file left behind


def test_saves_keep_a_few_previous_versions(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "BACKUP_EVERY_S", 0.0)
    project = Project.create(tmp_path)
    for i in range(store.KEEP_BACKUPS + 3):
        project.set_script(f"[S1] Version {i}.")
        project.save()
    backups = store.backups(tmp_path)
    assert len(backups) == store.KEEP_BACKUPS
    newest = ProjectFile.model_validate_json(backups[0].read_bytes())
    assert newest.script == f"[S1] Version {store.KEEP_BACKUPS + 1}."  # the version before the current one
    count = len(store.backups(tmp_path))
    project.save()  # nothing changed: no write, no new backup
    assert len(store.backups(tmp_path)) == count


def test_rapid_saves_keep_spaced_backups(tmp_path):
    project = Project.create(tmp_path)
    for i in range(4):  # e.g. a render saving after every take
        project.set_script(f"[S1] Take {i}.")
        project.save()
    assert len(store.backups(tmp_path)) == 1  # only the state before the burst; older backups are not pushed out


def test_corrupt_project_gives_a_clear_error_and_offers_the_newest_good_backup(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "BACKUP_EVERY_S", 0.0)
    project = Project.create(tmp_path)
    project.set_script("[S1] Good version.")
    project.save()
    project.set_script("[S1] Latest version.")
    project.save()
    (tmp_path / "project.json").write_text('{"schema_version": 1, "lines": [')  # torn write
    with pytest.raises(CorruptProjectError) as caught:
        Project.open(tmp_path)
    error = caught.value
    assert "project.json is corrupt" in str(error) and "backup" in str(error)
    assert error.backup == store.backups(tmp_path)[0]
    restored = Project.restore_backup(tmp_path, error.backup)
    assert restored.doc.script == "[S1] Good version."
    assert Project.open(tmp_path).doc.script == "[S1] Good version."
    assert (tmp_path / "project.json.corrupt").read_text().startswith('{"schema_version": 1')  # nothing is lost


def test_schema_errors_name_the_field_and_skip_bad_backups(tmp_path):
    Project.create(tmp_path)
    (tmp_path / "backups").mkdir(exist_ok=True)
    (tmp_path / "backups" / "project-99999999-000000-000000000.json").write_text("not json")
    (tmp_path / "project.json").write_text(json.dumps({"schema_version": 1, "default_gap_ms": "wide"}))
    with pytest.raises(CorruptProjectError, match="default_gap_ms") as caught:
        Project.open(tmp_path)
    assert caught.value.backup is None  # the only backup is unreadable, so none is offered
    assert "no usable backup" in str(caught.value)


def test_a_newer_schema_is_refused_with_a_reason(tmp_path):
    (tmp_path / "project.json").write_text(json.dumps({"schema_version": 7}))
    with pytest.raises(CorruptProjectError, match="newer Dia Studio"):
        Project.open(tmp_path)


def test_absolute_or_escaping_paths_are_rejected(tmp_path):
    for bad in ("/etc/passwd", "../outside.wav", "C:\\voices\\a.wav"):
        doc = {"speakers": {"S1": {"name": "A", "clip": bad, "transcript": "hi"}}}
        (tmp_path / "project.json").write_text(json.dumps(doc))
        with pytest.raises(CorruptProjectError, match="relative path"):
            Project.open(tmp_path)


def test_a_moved_project_still_finds_its_clips_and_takes(tmp_path, tone_clip):
    project = Project.create(tmp_path / "a" / "show")
    project.set_script("[S1] Hello.")
    project.set_speaker("S1", clip=tone_clip, transcript="A tone.")
    _add_take(project, "L1", 0.25)
    project.save()
    shutil.move(str(tmp_path / "a" / "show"), str(tmp_path / "b"))
    moved = Project.open(tmp_path / "b")
    assert moved.status("L1") is LineStatus.DONE
    assert np.allclose(moved.take_audio("L1"), 0.25)
    assert (tmp_path / "b" / moved.doc.speakers["S1"].clip).is_file()
    assert "/a/" not in (tmp_path / "b" / "project.json").read_text()


def test_a_missing_take_file_marks_the_take_missing_instead_of_crashing(tmp_path):
    project = Project.create(tmp_path)
    project.set_script("[S1] Hello.\n[S2] Hi.")
    take = _add_take(project, "L1")
    _add_take(project, "L2")
    (tmp_path / take.file).unlink()
    reopened = Project.open(tmp_path)
    assert reopened.statuses() == {"L1": LineStatus.DAMAGED, "L2": LineStatus.DONE}
    assert "missing" in reopened.take_problem("L1") and take.file in reopened.take_problem("L1")
    assert reopened.lines_to_generate() == ["L1"]
    with pytest.raises(TakeMissingError, match="L1-1"):
        reopened.take_audio("L1")
    timeline = reopened.timeline(allow_missing=True)
    assert [p.spec.line_id for p in timeline.placements] == ["L2"]
    assert len(timeline.warnings) == 1 and "L1-1" in timeline.warnings[0] and take.file in timeline.warnings[0]
