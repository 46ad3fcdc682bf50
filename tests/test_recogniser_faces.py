"""The recogniser where creators meet it: automatic transcripts in `render`, `synth` and the server's voice
folder, the take check of a project's lines, and `render --retake-failing` (best take made active)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

import commands.render
import main
from dia_engine import Transcription
from projects.generation import GenerationService
from projects.project import Project
from projects.take_review import TakeReviewer, retake_failing
from projects.transcripts import TranscriptCache, Transcriber
from projects.voices import file_sha256
from server.voices import VoiceLibrary

LINE = "I really like that big old house."


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: thread hand-offs cost more than the work


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    """The transcript cache of these tests (never the user's)."""
    monkeypatch.setenv("DIA_STUDIO_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "transcripts"


def clip(path, seconds=0.15, rate=22050, pitch=200.0):
    t = np.arange(int(rate * seconds)) / rate
    sf.write(path, (0.3 * np.sin(2 * np.pi * pitch * t)).astype(np.float32), rate)
    return path


def heard_before(path, text, model_id) -> None:
    """Put a transcript in the cache as if the recogniser `model_id` had heard `path` (no model needed)."""
    TranscriptCache().put(file_sha256(path), Transcription(text, (), 1.0, model_id))


class ScriptedTranscriber(Transcriber):
    """Hears, take after take, the given texts: stands in for a real Whisper, which cannot be downloaded here."""

    def __init__(self, texts, cache_folder):
        super().__init__("scripted", cache=TranscriptCache(cache_folder))
        self.texts = list(texts)

    def transcribe_audio(self, audio, sample_rate, *, download=True):
        return Transcription(self.texts.pop(0), (), len(audio) / sample_rate, self.model_id)


# ---- render ----------------------------------------------------------------------------------------------

TINY = ["--device", "cpu", "--dtype", "float32", "--max-tokens", "40"]


@pytest.fixture
def render_inputs(tmp_path, tiny_model_dir, tiny_dac_path):
    script = tmp_path / "episode.txt"
    script.write_text("[S1] Welcome back.\n[S2] Thanks!\n")
    return {"script": script, "project": tmp_path / "show", "out": tmp_path / "episode.wav",
            "engine": ["--model", str(tiny_model_dir), "--codec", str(tiny_dac_path), *TINY],
            "s1": clip(tmp_path / "alice.wav")}


def render(inputs, *extra):
    return main.main(["render", str(inputs["script"]), "--project", str(inputs["project"]), "--out",
                      str(inputs["out"]), *inputs["engine"], *extra])


@pytest.fixture
def engine_loads(monkeypatch, tiny_engine):
    calls = []
    monkeypatch.setattr(commands.render, "load_engine", lambda args: calls.append(args) or tiny_engine)
    return calls


def test_render_transcript_auto_uses_the_recogniser_then_the_cache(render_inputs, tiny_whisper, cache_dir,
                                                                   engine_loads, capsys):
    args = ["--voice", f"S1={render_inputs['s1']}", "--transcript", "S1=auto", "--recogniser", str(tiny_whisper)]
    assert render(render_inputs, *args) == 0
    err = capsys.readouterr().err
    assert "transcribing S1's clip alice.wav" in err
    heard = Transcriber(tiny_whisper).cached_file(render_inputs["s1"])
    assert heard is not None and heard.text
    project = Project.open(render_inputs["project"])
    assert project.doc.speakers["S1"].transcript == " ".join(heard.text.split())
    # Again, with the clip now in the project: the cached transcript, no model loaded, nothing stale.
    assert render(render_inputs, "--transcript", "S1=AUTO", "--recogniser", str(tiny_whisper)) == 0
    err = capsys.readouterr().err
    assert "transcribing" not in err and "nothing to generate" in err


def test_render_transcript_auto_offline_fails_and_changes_nothing(render_inputs, cache_dir, engine_loads,
                                                                  tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    assert render(render_inputs, "--voice", f"S1={render_inputs['s1']}", "--transcript", "S1=auto",
                  "--recogniser", "example/not-downloaded") == 2
    err = capsys.readouterr().err
    assert "cannot transcribe S1's clip alice.wav automatically" in err and "example/not-downloaded" in err
    assert not render_inputs["project"].exists() and not engine_loads
    # --check needs the recogniser too, and says so before generating anything
    assert render(render_inputs, "--check", "--recogniser", "example/not-downloaded") == 2
    assert "--check and --retake-failing need the speech recogniser" in capsys.readouterr().err
    assert not render_inputs["project"].exists() and not engine_loads


def test_render_retake_failing_keeps_every_take(render_inputs, tiny_whisper, cache_dir, engine_loads, capsys):
    # The tiny Whisper hears gibberish: every take fails, so each line is generated 1 + 2 times.
    assert render(render_inputs, "--seed", "5", "--retake-failing", "2", "--recogniser", str(tiny_whisper)) == 0
    err = capsys.readouterr().err
    assert "2 failing: regenerating each up to 2 times" in err
    assert "checked 2 lines: 0 ok, 2 failing" in err
    project = Project.open(render_inputs["project"])
    assert [len(line.takes) for line in project.lines] == [3, 3]
    assert all((project.folder / take.file).is_file() for line in project.lines for take in line.takes)
    assert render_inputs["out"].is_file()
    # --check alone only reports, from the cached transcripts
    assert render(render_inputs, "--check", "--recogniser", str(tiny_whisper)) == 0
    err = capsys.readouterr().err
    assert "check: line 1 (S1) take L1-" in err and "checked 2 lines" in err
    assert [len(line.takes) for line in Project.open(render_inputs["project"]).lines] == [3, 3]


def test_render_refuses_bad_check_options(render_inputs, capsys):
    assert render(render_inputs, "--retake-failing", "-1") == 2
    assert "--retake-failing must be 0 or more" in capsys.readouterr().err
    assert render(render_inputs, "--check", "--check-threshold", "max_silence=2") == 2
    assert "NAME one of max_word_error_rate" in capsys.readouterr().err
    assert render(render_inputs, "--check", "--check-threshold", "max_pause=long") == 2
    assert "'long' is not a number" in capsys.readouterr().err
    assert not render_inputs["project"].exists()


def test_render_check_thresholds_are_options(render_inputs, cache_dir, engine_loads, capsys, tiny_whisper):
    render_inputs["script"].write_text("[S1] Welcome back to the show everyone.\n[S2] Thanks for having me here.\n")
    assert render(render_inputs, "--seed", "5") == 0
    project = Project.open(render_inputs["project"])
    for line in project.lines:  # what "the recogniser" heard in each take: the line without its first word
        take = line.take(line.active_take)
        from projects.takes import load_take_audio
        from projects.transcripts import audio_sha256

        words = project.script_line(line.id).spoken_text.split()[1:]
        TranscriptCache().put(audio_sha256(load_take_audio(project.folder, take), 44100),
                              Transcription(" ".join(words), (), take.duration, str(tiny_whisper)))
    capsys.readouterr()
    assert render(render_inputs, "--check", "--recogniser", str(tiny_whisper)) == 0
    err = capsys.readouterr().err
    assert "check: line 1 (S1) take L1-1: 1 word missing: 'welcome'\n" in err
    assert "check: line 2 (S2) take L2-1: 1 word missing: 'thanks'\n" in err
    assert "checked 2 lines: 0 ok, 2 failing" in err
    assert render(render_inputs, "--check", "--recogniser", str(tiny_whisper), "--check-threshold",
                  "max_missing_words=1", "--check-threshold", "max-word-error-rate=0.2") == 0
    assert "checked 2 lines: 2 ok, 0 failing" in capsys.readouterr().err


# ---- retakes: the best take wins ------------------------------------------------------------------------

def line_project(folder, script=f"[S1] {LINE}"):
    project = Project.create(folder)
    project.set_script(script)
    project.doc.sampling.max_tokens = 30
    project.doc.seed = 1
    project.save()
    return project


def test_retakes_stop_at_the_first_passing_take(tmp_path, tiny_engine):
    project = line_project(tmp_path / "p")
    service = GenerationService(project, tiny_engine)
    service.run(service.plan())
    heard = ["eye rarely bike hat", "I like that old house", LINE]  # fails, fails less, passes
    reviewer = TakeReviewer(project, ScriptedTranscriber(heard, tmp_path / "c"))
    seen = []
    checks = retake_failing(service, reviewer, ["L1"], 5, on_check=lambda *a: seen.append(a[1]))
    assert seen == ["L1-1", "L1-2", "L1-3"]  # two retakes, then it passed
    line = project.line("L1")
    assert [t.id for t in line.takes] == ["L1-1", "L1-2", "L1-3"] and line.active_take == "L1-3"
    assert checks["L1"].passed
    assert len({t.seed for t in line.takes}) == 3  # each retake drew a new seed
    assert Project.open(project.folder).line("L1").active_take == "L1-3"  # saved


def test_when_every_take_fails_the_least_bad_is_made_active(tmp_path, tiny_engine):
    project = line_project(tmp_path / "p")
    service = GenerationService(project, tiny_engine)
    service.run(service.plan())
    heard = ["eye rarely bike hat", "I like that old house", "nothing like it at all"]
    reviewer = TakeReviewer(project, ScriptedTranscriber(heard, tmp_path / "c"))
    checks = retake_failing(service, reviewer, ["L1"], 2)
    line = project.line("L1")
    assert len(line.takes) == 3 and line.active_take == "L1-2"  # 2 words missing beats gibberish
    assert checks["L1"].verdict.startswith("2 words missing: 'really', 'big'")


def test_pinned_lines_are_checked_but_not_retaken(tmp_path, tiny_engine):
    project = line_project(tmp_path / "p")
    service = GenerationService(project, tiny_engine)
    service.run(service.plan())
    project.set_line_options("L1", pinned=True)
    reviewer = TakeReviewer(project, ScriptedTranscriber(["gibberish"], tmp_path / "c"))
    checks = retake_failing(service, reviewer, ["L1"], 3)
    assert not checks["L1"].passed and len(project.line("L1").takes) == 1


def test_a_take_heard_once_is_checked_again_without_a_model(tmp_path, tiny_engine, tiny_whisper):
    project = line_project(tmp_path / "p")
    service = GenerationService(project, tiny_engine)
    service.run(service.plan())
    transcriber = Transcriber(tiny_whisper, device="cpu", cache=TranscriptCache(tmp_path / "c"))
    reviewer = TakeReviewer(project, transcriber)
    assert reviewer.cached_check("L1") is None
    check = reviewer.check("L1")
    transcriber.unload()
    again = TakeReviewer(project, Transcriber(tiny_whisper, cache=TranscriptCache(tmp_path / "c")))
    assert again.cached_check("L1") == check and not again.transcriber.loaded


def test_the_voice_rate_comes_from_the_speakers_clip(tmp_path, tiny_engine):
    project = line_project(tmp_path / "p")
    rate = 24000
    t = np.arange(4 * rate) / rate
    voice = np.concatenate([np.zeros(rate // 2), 0.3 * np.sin(2 * np.pi * 150 * t), np.zeros(rate // 2)])
    sf.write(tmp_path / "v.wav", voice.astype(np.float32), rate)
    service = GenerationService(project, tiny_engine)
    service.run(service.plan())
    # Set after the take (a 5 s prompt leaves the tiny model no room): the check reads the clip as it is now.
    project.set_speaker("S1", clip=tmp_path / "v.wav", transcript="Welcome back to my little show about cooking.")
    reviewer = TakeReviewer(project, ScriptedTranscriber([LINE], tmp_path / "c"))
    assert reviewer.check("L1").voice_words_per_second == pytest.approx(2.0, rel=0.02)


# ---- synth and the server's voice folder ------------------------------------------------------------------

def test_synth_voice_transcript_auto(tmp_path, tiny_model_dir, tiny_dac_path, cache_dir, capsys):
    voice = clip(tmp_path / "v.wav")
    heard_before(voice, "Hello there.", "some/recogniser")
    out = tmp_path / "x.wav"
    code = main.main(["synth", "[S1] Hi.", "--out", str(out), "--voice", str(voice), "--voice-transcript", "auto",
                      "--recogniser", "some/recogniser", "--model", str(tiny_model_dir), "--codec",
                      str(tiny_dac_path), *TINY])
    err = capsys.readouterr().err
    assert code == 0, err
    assert 'heard "Hello there."' in err and out.is_file()


def test_the_voice_folder_transcribes_clips_without_a_transcript(tmp_path, cache_dir, monkeypatch):
    folder = tmp_path / "voices"
    folder.mkdir()
    clip(folder / "narrator.wav")
    (folder / "narrator.txt").write_text("Once upon a time.")
    untranscribed = clip(folder / "guest.wav", pitch=300.0)
    # Without a recogniser the clip is left out, as before.
    library, warnings = VoiceLibrary.from_folder(folder)
    assert library.ids == ["narrator"] and "guest.wav: skipped, no transcript guest.txt beside it" in warnings
    # With one, it is heard (here: found in the cache, as after a first start).
    heard_before(untranscribed, "Good to be here.", "some/recogniser")
    library, warnings = VoiceLibrary.from_folder(folder, Transcriber("some/recogniser"))
    assert library.ids == ["guest", "narrator"] and not warnings
    guest = library.get("guest")
    assert guest.transcript == "[S1] Good to be here." and guest.describe()["auto_transcript"] is True
    assert library.get("narrator").describe()["auto_transcript"] is False
    # A recogniser that cannot be loaded says why the clip is skipped.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-hub"))
    library, warnings = VoiceLibrary.from_folder(folder, Transcriber("example/not-downloaded"))
    assert library.ids == ["narrator"]
    assert warnings[0].startswith("guest.wav: skipped, no transcript guest.txt beside it and it cannot be "
                                  "transcribed (the speech recogniser example/not-downloaded cannot be loaded")
