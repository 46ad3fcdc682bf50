"""Issue 11 at the document level: no take is ever lost, slow work never runs under the project lock, damaged
takes degrade gracefully, the fingerprint covers model and precision, a full disk is a clear error."""

from __future__ import annotations

import errno
import threading
import time
import tracemalloc

import numpy as np
import pytest
import soundfile as sf

import projects.project as project_module
from projects.export import ExportOptions, export_timeline
from projects.loudness import integrated_loudness, normalise
from projects.project import Project
from projects.store import ProjectError
from projects.takes import LineStatus
from projects.timeline import ClipSpec, arrange

RATE = 44100


def tone(seconds: float = 0.5, value: float = 0.1, rate: int = RATE) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (value * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def add(project: Project, line_id: str, value: float = 0.1, seed: int = 5, seconds: float = 0.5):
    return project.add_take(line_id, tone(seconds, value), RATE, seed=seed, sampling=project.doc.sampling,
                            model_id="test", fingerprint=project.fingerprint(line_id))


def take_files(project: Project) -> set[str]:
    return {f"takes/{p.name}" for p in (project.folder / "takes").glob("*.wav")}


def records(project: Project) -> list[str]:
    return [t.file for line in project.doc.lines + project.doc.removed_lines for t in line.takes]


# ----- item 1: take records are never merged or forgotten ---------------------------------------------------
def test_two_removed_lines_with_the_same_text_keep_their_own_takes(tmp_path):
    project = Project.create(tmp_path)
    project.set_script("[S1] Hi.\n[S2] Yeah.\n[S1] So.\n[S2] Yeah.\n[S1] Bye.")
    first, second = add(project, "L2", 0.1), add(project, "L4", 0.2)
    project.set_script("[S1] Hi.\n[S1] So.\n[S1] Bye.")  # both "[S2] Yeah." lines cut
    assert sorted(records(project)) == sorted([first.file, second.file])
    project.set_script("[S1] Hi.\n[S2] Yeah.\n[S1] So.\n[S1] Bye.")  # one pasted back
    assert len(records(project)) == 2 and set(records(project)) == take_files(project)
    project.set_script("[S1] Hi.\n[S2] Yeah.\n[S1] So.\n[S2] Yeah.\n[S1] Bye.")  # and the other
    assert {line.id for line in project.lines if line.takes} == {"L2", "L4"}
    reopened = Project.open(tmp_path)
    assert set(records(reopened)) == take_files(reopened)


def test_no_cap_on_removed_lines(tmp_path):
    project = Project.create(tmp_path)
    project.set_script("\n".join(f"[S1] Line {i}." for i in range(250)))
    for line in project.lines:
        project.add_take(line.id, tone(0.05), RATE, seed=1, sampling=project.doc.sampling, model_id="t",
                         fingerprint="x")
    project.set_script("")
    assert len(project.doc.removed_lines) == 250 and set(records(project)) == take_files(project)


def test_a_take_finishing_for_a_line_cut_meanwhile_is_kept_with_it(tmp_path):
    project = Project.create(tmp_path)
    project.set_script("[S1] Hello.\n[S2] Gone soon.")
    fingerprint = project.fingerprint("L2")  # planned...
    project.set_script("[S1] Hello.")  # ...then L2 (no takes yet) cut while it generates
    take = project.add_take("L2", tone(), RATE, seed=1, sampling=project.doc.sampling, model_id="t",
                            fingerprint=fingerprint, line_text="[S2] Gone soon.")
    assert take is not None and take.file in records(project)
    project.set_script("[S1] Hello.\n[S2] Gone soon.")
    assert project.line("L2").active_take == take.id


def test_keep_only_active_deletes_records_and_files_together(tmp_path):
    project = Project.create(tmp_path)
    project.set_script("[S1] A.\n[S2] B.")
    for _ in range(3):
        add(project, "L1")
    add(project, "L2")
    project.set_script("[S1] A.")
    assert project.keep_only_active() == 3  # two of L1 and the cut L2's take
    assert set(records(project)) == take_files(project) == {"takes/L1-3.wav"}
    assert not (tmp_path / "takes" / "L1-1.json").exists()


def test_a_take_whose_project_save_was_cut_short_is_adopted(tmp_path):
    project = Project.create(tmp_path)
    project.set_script("[S1] A.\n[S2] B.")
    add(project, "L1")
    saved = (tmp_path / "project.json").read_bytes()
    add(project, "L1")  # written, then "the process dies" before the save below reaches the disk
    add(project, "L2")
    (tmp_path / "project.json").write_bytes(saved)
    reopened = Project.open(tmp_path)
    assert [t.id for t in reopened.line("L1").takes] == ["L1-1", "L1-2"]
    assert reopened.line("L2").active_take == "L2-1"
    assert set(records(reopened)) == take_files(reopened)


# ----- item 2: slow work outside the lock --------------------------------------------------------------------
def _lock_wait_while(project: Project, work) -> float:
    """Longest wait for `project.lock` while `work` runs on another thread."""
    thread = threading.Thread(target=work)
    thread.start()
    longest = 0.0
    while thread.is_alive():
        start = time.perf_counter()
        with project.lock:
            pass
        longest = max(longest, time.perf_counter() - start)
        time.sleep(0.005)
    thread.join()
    return longest


def test_reading_and_writing_takes_happens_outside_the_project_lock(tmp_path, monkeypatch):
    project = Project.create(tmp_path)
    project.set_script("[S1] A.\n[S2] B.")
    add(project, "L1")
    slow_read, slow_write = project_module.load_take_audio, project_module.write_take_files

    def read(*args):
        time.sleep(0.4)
        return slow_read(*args)

    def write(*args):
        time.sleep(0.4)
        return slow_write(*args)

    monkeypatch.setattr(project_module, "load_take_audio", read)
    monkeypatch.setattr(project_module, "write_take_files", write)
    assert _lock_wait_while(project, lambda: project.timeline(allow_missing=True).mix()) < 0.1
    assert _lock_wait_while(project, lambda: add(project, "L2")) < 0.1
    assert project.line("L2").takes


def test_concurrent_saves_never_leave_an_older_state_on_disk(tmp_path):
    project = Project.create(tmp_path)
    threads = []
    for i in range(20):
        project.set_script(f"[S1] Version {i}.")
        threads.append(threading.Thread(target=project.save))
        threads[-1].start()
    for thread in threads:
        thread.join()
    project.save()
    assert Project.open(tmp_path).doc.script == "[S1] Version 19."


# ----- item 5: the pinned seed is the user's --------------------------------------------------------------
def test_choosing_an_old_take_keeps_the_pinned_seed(tmp_path):
    project = Project.create(tmp_path)
    project.set_script("[S1] A.")
    first = add(project, "L1", seed=11)
    add(project, "L1", seed=22)
    project.set_line_options("L1", pinned=True)
    assert project.line("L1").seed == 22  # pinning keeps the take heard
    project.set_active_take("L1", first.id)
    assert project.line("L1").seed == 22 and project.line("L1").take(first.id).seed == 11
    assert project.status("L1") is LineStatus.STALE  # the take heard is not the pinned seed's


# ----- item 6: a damaged take ----------------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "delete"])
def test_a_damaged_take_is_shown_and_left_out_of_mix_and_export_with_a_warning(tmp_path, damage):
    project = Project.create(tmp_path)
    project.set_script("[S1] A.\n[S2] B.\n[S1] C.")
    takes = [add(project, line_id, seconds=1.0) for line_id in ("L1", "L2", "L3")]
    path = tmp_path / takes[1].file
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"RIFF" + bytes(range(256)) * 10)
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        path.unlink()
    reopened = Project.open(tmp_path)
    assert reopened.statuses()["L2"] is LineStatus.DAMAGED
    assert takes[1].file in reopened.take_problem("L2")
    timeline = reopened.timeline()
    assert [p.spec.line_id for p in timeline.placements] == ["L1", "L3"] and len(timeline.mix()) > 0
    result = reopened.export(tmp_path / "out" / "ep.wav")
    assert any(takes[1].file in w for w in result.warnings) and (tmp_path / "out" / "ep.wav").is_file()
    with pytest.raises(ProjectError, match="complete render"):
        reopened.export(tmp_path / "out" / "full.wav", complete=True)
    assert not (tmp_path / "out" / "full.wav").exists()
    assert take_files(reopened) | {takes[1].file} >= set(records(reopened))  # nothing deleted
    assert path.exists() == (damage != "delete")


# ----- item 7: model and precision in the fingerprint ------------------------------------------------------
def test_switching_model_or_dtype_turns_lines_stale_and_keeps_takes(tmp_path):
    project = Project.create(tmp_path)
    project.set_script("[S1] A.")
    project.set_model("nari-labs/Dia-1.6B-0626", "bfloat16")
    add(project, "L1")
    assert project.status("L1") is LineStatus.DONE
    project.set_model("nari-labs/Dia-1.6B-0626", "float32")
    assert project.status("L1") is LineStatus.STALE
    project.set_model("some/other-model", "bfloat16")
    assert project.status("L1") is LineStatus.STALE
    project.set_model("nari-labs/Dia-1.6B-0626", "bfloat16")
    assert project.status("L1") is LineStatus.DONE and len(project.line("L1").takes) == 1


def test_takes_record_model_dtype_device_and_kernels(tmp_path, tiny_engine):
    from projects.generation import GenerationService

    project = Project.create(tmp_path)
    project.set_script("[S1] One.")
    project.doc.sampling.max_tokens = 40
    service = GenerationService(project, tiny_engine)
    service.run(service.plan())
    take = project.line("L1").takes[0]
    assert take.model_id == tiny_engine.info.model_id and take.dtype == tiny_engine.dtype == "float32"
    assert take.device == "cpu" and take.kernels == sorted(tiny_engine.cpu_kernels)
    assert take.sample_rate == tiny_engine.info.sample_rate
    assert project.doc.model.dtype == "float32" and project.status("L1") is LineStatus.DONE


# ----- item 8: callbacks may call the engine ---------------------------------------------------------------
def test_engine_callbacks_may_decode_and_encode_without_deadlock(tiny_engine):
    from dia_engine import GenerationRequest, SamplingParams

    decoded = []

    def on_result(index, result):
        decoded.append(tiny_engine.decode(result.codes))
        tiny_engine.encode_voice(result.audio, "[S1] again.", sample_rate=result.sample_rate)

    outcome = {}
    thread = threading.Thread(target=lambda: outcome.setdefault("r", tiny_engine.generate(
        [GenerationRequest("[S1] Hi.", seed=1, sampling=SamplingParams(max_tokens=30))], on_result=on_result)))
    thread.daemon = True
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive(), "generate deadlocked on a callback that called the engine"
    assert len(decoded) == 1 and np.array_equal(decoded[0], outcome["r"][0].audio)


# ----- item 9: memory -------------------------------------------------------------------------------------
def _export_peak(tmp_path, seconds: int) -> tuple[int, int]:
    """(peak traced bytes of an export with stems, bytes of its float32 mix)."""
    def take():  # read when needed, like a take file
        r = np.random.default_rng(2)
        return (0.2 * r.standard_normal(RATE * 10) * np.sin(np.linspace(0, 60, RATE * 10)) ** 2).astype(np.float32)

    clips = [ClipSpec(f"L{i}", take, gap_ms=0, stem=f"S{1 + i % 2}", key="t") for i in range(seconds // 10)]
    timeline = arrange(clips, RATE)
    tracemalloc.start()
    export_timeline(timeline, tmp_path / f"ep{seconds}.wav", ExportOptions(stems=True))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert sf.info(str(tmp_path / f"ep{seconds}.wav")).frames == timeline.length
    return peak, timeline.length * 4


def test_export_memory_grows_by_about_one_float32_mix(tmp_path, monkeypatch):
    """Each extra minute costs about its float32 mix (the old export held float64 placements, mix, gain and
    limiter copies: 2.6 GB for 10 minutes). Fixed costs (stretch buffers, the clip cache) stay fixed."""
    monkeypatch.setattr("projects.timeline.CLIP_CACHE_BYTES", 4 << 20)  # its fixed cap would look like growth here
    short_peak, short_mix = _export_peak(tmp_path, 60)
    long_peak, long_mix = _export_peak(tmp_path, 240)
    growth = (long_peak - short_peak) / (long_mix - short_mix)
    assert growth < 1.5, f"{growth:.2f} bytes of memory per byte of mix"


def test_stretchwise_loudness_matches_whole_signal_loudness():
    rng = np.random.default_rng(3)
    audio = (0.1 * rng.standard_normal(RATE * 30)).astype(np.float32)
    audio[RATE * 10 : RATE * 12] *= 5
    whole = integrated_loudness(audio.astype(np.float64), RATE)
    pieces = integrated_loudness((audio[i : i + 10_000] for i in range(0, len(audio), 10_000)), RATE,
                                 length=len(audio))
    assert pieces == pytest.approx(whole, abs=1e-6)
    result = normalise(audio, RATE, -16.0)
    out = audio * np.asarray(result.gain)
    assert integrated_loudness(out, RATE) == pytest.approx(-16.0, abs=0.1)
    assert result.gain.regions and sum(len(g) for _, g in result.gain.regions) < len(audio) / 2


# ----- a full disk --------------------------------------------------------------------------------------
def _full_disk(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_while_writing_a_take_is_a_clear_error_and_loses_nothing(tmp_path, monkeypatch):
    project = Project.create(tmp_path)
    project.set_script("[S1] A.")
    first = add(project, "L1")
    before = (tmp_path / "project.json").read_bytes()
    monkeypatch.setattr("projects.audio.sf.write", _full_disk)
    with pytest.raises(ProjectError, match="disk is full") as error:
        add(project, "L1")
    assert "L1-2" in str(error.value)
    assert (tmp_path / "project.json").read_bytes() == before
    assert [t.id for t in project.line("L1").takes] == [first.id]
    assert set(records(Project.open(tmp_path))) == take_files(project) == {first.file}
    assert not list(tmp_path.rglob("*.tmp")) and not (tmp_path / "takes" / "L1-2.json").exists()


def test_a_full_disk_while_saving_is_a_clear_error_and_keeps_the_saved_version(tmp_path, monkeypatch):
    project = Project.create(tmp_path)
    project.set_script("[S1] Saved.")
    project.save()
    project.set_script("[S1] Not yet saved.")
    monkeypatch.setattr("pathlib.Path.write_bytes", _full_disk)
    with pytest.raises(ProjectError, match="disk is full.*unchanged"):
        project.save()
    monkeypatch.undo()
    assert Project.open(tmp_path).doc.script == "[S1] Saved."
    assert project.doc.script == "[S1] Not yet saved."  # still in memory: saved once there is room
    project.save()
    assert Project.open(tmp_path).doc.script == "[S1] Not yet saved."
