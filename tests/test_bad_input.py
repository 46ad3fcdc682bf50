"""Bad input, one kind per test (the rows of docs/reliability.md that other test files do not cover): a clear
error or a graceful result, and nothing lost."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import soundfile as sf

from projects.project import Project
from projects.store import CorruptProjectError, ProjectError
from projects.takes import LineStatus

RATE = 44100


def add(project: Project, line_id: str, audio=None, rate: int = RATE):
    audio = np.full(RATE // 4, 0.1, dtype=np.float32) if audio is None else audio
    return project.add_take(line_id, audio, rate, seed=1, sampling=project.doc.sampling, model_id="t",
                            fingerprint=project.fingerprint(line_id))


def saved_project(tmp_path) -> Project:
    project = Project.create(tmp_path / "p")
    project.set_script("[S1] One.\n[S2] Two.")
    add(project, "L1")
    project.save()
    time.sleep(0.01)
    return project


@pytest.mark.parametrize("content", [b"", b'{"schema_version": 1, "name": "p", "script": "[S1] On',
                                     b"\xff\xfe\x00garbage\x80", b"[]", b'{"lines": "not a list"}'],
                         ids=["empty", "truncated", "not-utf8", "wrong-shape", "wrong-type"])
def test_a_bad_project_json_is_a_clear_error_offering_the_backup_and_is_kept(tmp_path, monkeypatch, content):
    monkeypatch.setattr("projects.store.BACKUP_EVERY_S", 0.0)
    project = saved_project(tmp_path)
    project.set_script("[S1] One.\n[S2] Two.\n[S1] Three.")
    project.save()  # the first version is now a backup
    (project.folder / "project.json").write_bytes(content)
    with pytest.raises(CorruptProjectError, match="corrupt") as error:
        Project.open(project.folder)
    assert error.value.backup is not None
    restored = Project.restore_backup(project.folder, error.value.backup)
    assert restored.line("L1").takes and (project.folder / "project.json.corrupt").read_bytes() == content


def test_unknown_fields_are_ignored_and_the_project_opens(tmp_path):
    project = saved_project(tmp_path)
    path = project.folder / "project.json"
    path.write_text(path.read_text().replace('"name"', '"from_the_future": {"x": 1},\n  "name"', 1))
    assert Project.open(project.folder).line("L1").takes


@pytest.mark.parametrize("text", ["[S1] Emoji 🎙️👍 and RTL مرحبا and CJK 你好.",
                                  "[S1] Zero\u200bwidth\u200d joiners\ufeff and combining e\u0301.",
                                  "[S1] NUL\x00 and bell\x07 characters.", "[S1] " + "\udcff".encode(
                                      "utf-8", "surrogatepass").decode("utf-8", "replace")],
                         ids=["emoji-rtl-cjk", "zero-width", "control-chars", "undecodable-bytes"])
def test_odd_unicode_scripts_parse_save_and_reopen(tmp_path, text):
    project = Project.create(tmp_path / "p")
    project.set_script(text)
    add(project, "L1")
    project.save()
    reopened = Project.open(project.folder)
    assert reopened.doc.script == project.doc.script and reopened.statuses() == {"L1": LineStatus.DONE}


def test_a_non_utf8_script_file_read_by_render_is_refused_or_replaced_not_crashing(tmp_path):
    raw = "[S1] Caf\xe9 cr\xe8me.".encode("latin-1")
    text = raw.decode("utf-8", errors="replace")  # how a script file with a wrong encoding reaches the project
    project = Project.create(tmp_path / "p")
    project.set_script(text)
    assert project.script.lines[0].speaker == "S1" and "\ufffd" in project.doc.script


def test_a_ten_thousand_line_script_stays_quick(tmp_path):
    project = Project.create(tmp_path / "p")
    text = "\n".join(f"[S{1 + i % 2}] This is line {i} of a very long script." for i in range(10_000))
    start = time.perf_counter()
    project.set_script(text)
    statuses = project.statuses()
    project.set_script(text.replace("line 5000 ", "line five thousand "))  # one edit in the middle
    project.save()
    elapsed = time.perf_counter() - start
    assert len(statuses) == 10_000 and project.lines[5000].id == "L5001"
    assert elapsed < 30, f"{elapsed:.1f} s"


def test_unknown_tags_are_kept_in_the_text_and_linted(tmp_path):
    project = Project.create(tmp_path / "p")
    project.set_script("[S1] Hello (dances) there.\n[S3] Who?")
    issues = [i.message for i in project.lint()]
    assert any("(dances)" in m for m in issues) and len(project.lines) >= 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder_is_a_clear_error_on_save(tmp_path):
    project = saved_project(tmp_path)
    project.set_script("[S1] Changed.")
    os.chmod(project.folder, 0o555)
    try:
        with pytest.raises(ProjectError, match="cannot be written"):
            project.save()
    finally:
        os.chmod(project.folder, 0o755)
    assert project.doc.script == "[S1] Changed."


def test_a_read_only_project_file_is_a_clear_error_on_save(tmp_path, monkeypatch):
    import errno

    project = saved_project(tmp_path)
    project.set_script("[S1] Changed.")

    def refuse(*_a, **_k):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr("projects.files.os.replace", refuse)
    with pytest.raises(ProjectError, match="cannot be written.*unchanged"):
        project.save()
    monkeypatch.undo()
    assert Project.open(project.folder).doc.script == "[S1] One.\n[S2] Two."


def test_a_take_at_another_rate_is_mixed_at_the_timeline_rate(tmp_path):
    project = Project.create(tmp_path / "p")
    project.set_script("[S1] One.\n[S2] Two.")
    add(project, "L1")
    add(project, "L2", np.full(24000 // 4, 0.1, dtype=np.float32), rate=24000)  # a 24 kHz model's take
    timeline = project.timeline()
    assert timeline.sample_rate == RATE
    assert abs(timeline.placements[1].length - RATE // 4) <= 2


def test_a_take_file_replaced_by_a_multichannel_or_other_rate_file_is_damaged_not_fatal(tmp_path):
    project = saved_project(tmp_path)
    take = project.line("L1").takes[0]
    sf.write(str(project.folder / take.file), np.zeros((RATE // 4, 2), dtype=np.float32) + 0.1, 22050)
    reopened = Project.open(project.folder)
    assert reopened.statuses()["L1"] is LineStatus.DAMAGED and "22050 Hz" in reopened.take_problem("L1")
    assert reopened.timeline(allow_missing=True).warnings


def test_silent_takes_are_trimmed_away_and_an_all_silent_episode_is_a_clear_error(tmp_path):
    project = Project.create(tmp_path / "p")
    project.set_script("[S1] Silence.")
    add(project, "L1", np.zeros(RATE, dtype=np.float32))
    with pytest.raises(ValueError, match="no audio to export"):
        project.export(tmp_path / "silent.wav")
    assert not (tmp_path / "silent.wav").exists()
    project.set_script("[S1] Silence.\n[S2] Words.")
    add(project, "L2", (0.1 * np.sin(np.arange(RATE) / 7)).astype(np.float32))
    result = project.export(tmp_path / "out.wav")
    assert result.duration > 0.9 and [p.spec.line_id for p in project.timeline().placements if p.length] == ["L2"]


def test_a_foreign_file_in_takes_is_left_alone(tmp_path):
    project = saved_project(tmp_path)
    stray = project.folder / "takes" / "my-notes.wav"
    sf.write(str(stray), np.zeros(100, dtype=np.float32), RATE)
    reopened = Project.open(project.folder)
    assert stray.exists() and all(t.file != "takes/my-notes.wav" for line in reopened.lines for t in line.takes)


def test_a_zero_byte_take_record_beside_a_take_is_ignored(tmp_path):
    project = saved_project(tmp_path)
    (project.folder / "takes" / "L2-7.wav").write_bytes(b"")
    (project.folder / "takes" / "L2-7.json").write_bytes(b"")
    reopened = Project.open(project.folder)
    assert [t.id for t in reopened.line("L1").takes] == ["L1-1"] and not reopened.line("L2").takes
