"""Speakers' reference clips: accepted formats, refusals that name the file, transcripts, the combined prompt."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from projects.project import Project
from projects.store import ProjectError
from projects.voices import (VoiceClipError, VoicePromptCache, check_clip, prompt_transcript, tagged_transcript,
                             voices_fingerprint)


def tone(path, rate=22050, seconds=0.3, channels=1, freq=220.0, **kwargs):
    t = np.arange(int(rate * seconds)) / rate
    wave = 0.3 * np.sin(2 * np.pi * freq * t)
    sf.write(path, np.stack([wave] * channels, axis=1) if channels > 1 else wave, rate, **kwargs)
    return path


@pytest.mark.parametrize("name,rate,channels", [("stereo.wav", 22050, 2), ("hi.flac", 48000, 1),
                                                ("odd.ogg", 11025, 2), ("low.aiff", 8000, 1)])
def test_odd_rates_stereo_and_common_formats_are_accepted_and_copied(tmp_path, name, rate, channels):
    clip = tone(tmp_path / name, rate=rate, channels=channels, seconds=0.5)
    project = Project.create(tmp_path / "p")
    speaker = project.set_speaker("S1", clip=clip, transcript="  Hello   there. ")
    assert speaker.clip.startswith("voices/S1-") and speaker.clip.endswith(clip.suffix)
    assert (project.folder / speaker.clip).read_bytes() == clip.read_bytes()
    assert speaker.clip_seconds == pytest.approx(0.5, abs=0.01)
    assert speaker.transcript == "Hello there."
    project.save()
    clip.unlink()  # the project keeps its own copy
    reopened = Project.open(project.folder)
    assert reopened.doc.speakers["S1"] == speaker
    check_clip(reopened.folder / speaker.clip)


@pytest.mark.parametrize("content,reason", [(b"this is not audio", "cannot read voice clip"),
                                            (None, "does not exist")])
def test_unreadable_clips_are_refused_naming_the_file(tmp_path, content, reason):
    path = tmp_path / "voice of bob.wav"
    if content is not None:
        path.write_bytes(content)
    project = Project.create(tmp_path / "p")
    with pytest.raises(VoiceClipError, match=reason) as caught:
        project.set_speaker("S2", clip=path, transcript="Hi.")
    assert "voice of bob.wav" in str(caught.value)
    assert project.doc.speakers["S2"].clip is None and not (project.folder / "voices").exists()


def test_silent_and_empty_clips_are_refused(tmp_path):
    sf.write(tmp_path / "silent.wav", np.zeros(22050), 22050)
    sf.write(tmp_path / "empty.wav", np.zeros(0), 22050)
    with pytest.raises(VoiceClipError, match="silent.wav is silent"):
        check_clip(tmp_path / "silent.wav")
    with pytest.raises(VoiceClipError, match="empty.wav holds no audio"):
        check_clip(tmp_path / "empty.wav")


def test_a_clip_needs_its_transcript(tmp_path):
    clip = tone(tmp_path / "a.wav")
    project = Project.create(tmp_path / "p")
    with pytest.raises(ProjectError, match="needs its transcript"):
        project.set_speaker("S1", clip=clip, transcript="   ")
    assert project.doc.speakers["S1"].clip is None and not (project.folder / "voices").exists()
    with pytest.raises(ProjectError, match="unknown speaker"):
        project.set_speaker("S3", name="Eve")
    project.set_speaker("S1", clip=clip, transcript="Hello.")
    with pytest.raises(ProjectError, match="^speaker S1: a speaker with a reference clip needs the clip's transcript$"):
        project.set_speaker("S1", transcript="")
    assert project.doc.speakers["S1"].transcript == "Hello."


def test_removing_a_clip_keeps_the_name(tmp_path):
    project = Project.create(tmp_path / "p")
    project.set_speaker("S1", name="Alice", clip=tone(tmp_path / "a.wav"), transcript="Hi.")
    speaker = project.set_speaker("S1", clip=None)
    assert speaker.name == "Alice" and speaker.clip is None and speaker.clip_sha256 is None


def test_transcripts_are_tagged_for_the_model():
    assert tagged_transcript("S2", " Hello\nthere ") == "[S2] Hello there"
    assert tagged_transcript("S2", "[S1] Already tagged.") == "[S1] Already tagged."
    assert tagged_transcript("S1", "  ") == ""


def test_voices_fingerprint_follows_clip_content_and_transcript_not_the_name(tmp_path):
    project = Project.create(tmp_path / "p")
    empty = voices_fingerprint(project.doc.speakers)
    project.set_speaker("S1", clip=tone(tmp_path / "a.wav"), transcript="One.")
    with_clip = voices_fingerprint(project.doc.speakers)
    project.set_speaker("S1", name="Renamed")
    assert voices_fingerprint(project.doc.speakers) == with_clip != empty
    project.set_speaker("S1", transcript="Two.")
    assert voices_fingerprint(project.doc.speakers) != with_clip
    project.set_speaker("S1", clip=tone(tmp_path / "b.wav", freq=330.0), transcript="One.")
    assert voices_fingerprint(project.doc.speakers) != with_clip
    assert prompt_transcript(project.doc.speakers) == "[S1] One."


def test_the_prompt_is_s1_then_s2_encoded_once(tmp_path, tiny_engine):
    project = Project.create(tmp_path / "p")
    cache = VoicePromptCache(tiny_engine)
    assert cache.prompt(project.folder, project.doc.speakers) is None
    project.set_speaker("S2", clip=tone(tmp_path / "b.wav", seconds=0.2), transcript="I am two.")
    only_s2 = cache.prompt(project.folder, project.doc.speakers)
    assert only_s2.transcript == "[S2] I am two."
    project.set_speaker("S1", clip=tone(tmp_path / "a.wav", seconds=0.3, freq=150.0), transcript="I am one.")
    both = cache.prompt(project.folder, project.doc.speakers)
    assert both.transcript == "[S1] I am one. [S2] I am two."
    s1 = tiny_engine.encode_voice(project.folder / project.doc.speakers["S1"].clip, "[S1] I am one.")
    assert np.array_equal(both.codes, np.concatenate([s1.codes, only_s2.codes]))
    assert cache.prompt(project.folder, project.doc.speakers) is both  # cached


def test_an_unusable_copied_clip_is_reported_with_its_speaker(tmp_path, tiny_engine):
    project = Project.create(tmp_path / "p")
    project.set_speaker("S1", clip=tone(tmp_path / "a.wav"), transcript="Hi.")
    (project.folder / project.doc.speakers["S1"].clip).write_bytes(b"corrupted")
    with pytest.raises(VoiceClipError, match="voice clip of S1"):
        VoicePromptCache(tiny_engine).prompt(project.folder, project.doc.speakers)
