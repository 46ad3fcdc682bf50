"""Server building blocks without a model: audio formats, tempo change, request text, voice libraries, errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf

from server.audio_formats import (FORMATS, OPUS_SAMPLE_RATE, available_formats, encode_audio, fix_ogg_serial,
                                  ogg_crc)
from server.errors import validation_message
from server.speech_text import as_speaker, dialogue_text
from server.tempo import change_tempo
from server.voices import VoiceLibrary, VoiceLibraryError, voice_id_from_name

SR = 44100


def tone(freq: float, seconds: float, sr: int = SR, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def dominant_frequency(audio: np.ndarray, sr: int = SR) -> float:
    middle = audio[len(audio) // 4: 3 * len(audio) // 4]
    n = 1 << 20
    spectrum = np.abs(np.fft.rfft(middle * np.hanning(len(middle)), n))
    return float(np.argmax(spectrum) * sr / n)


# --- audio formats ------------------------------------------------------------------------------------

def test_every_format_is_available_with_this_libsndfile():
    assert sf.__libsndfile_version__ >= "1.1"  # MP3 support arrived in libsndfile 1.1.0
    assert available_formats() == {name: None for name in FORMATS}


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "opus"])
def test_formats_decode_to_the_same_tone(fmt):
    audio = tone(440, 1.0)
    encoded = encode_audio(audio, SR, fmt)
    decoded, rate = sf.read(io.BytesIO(encoded.data), dtype="float32")
    assert rate == encoded.sample_rate == (OPUS_SAMPLE_RATE if fmt == "opus" else SR)
    assert abs(len(decoded) / rate - 1.0) < 0.06  # lossy codecs may pad a few ms
    assert dominant_frequency(decoded, rate) == pytest.approx(440, abs=2)
    if fmt in ("wav", "flac"):  # lossless apart from 16-bit rounding
        assert np.max(np.abs(decoded - audio)) < 1e-4


@pytest.mark.parametrize("fmt", FORMATS)
def test_encoding_is_deterministic(fmt):
    audio = np.random.default_rng(1).uniform(-0.5, 0.5, SR // 2).astype(np.float32)
    assert encode_audio(audio, SR, fmt).data == encode_audio(audio, SR, fmt).data


def test_opus_keeps_a_rate_it_takes_and_raises_one_it_does_not():
    assert encode_audio(tone(440, 0.5, 24000), 24000, "opus").sample_rate == 24000  # Dia2's native rate
    assert encode_audio(tone(440, 0.5), SR, "opus").sample_rate == OPUS_SAMPLE_RATE  # 44.1 kHz is not an Opus rate


def test_pcm_is_headerless_s16le_at_the_requested_rate():
    audio = tone(300, 0.5)
    native = encode_audio(audio, SR, "pcm")
    assert native.sample_rate == SR and len(native.data) == 2 * len(audio)
    samples = np.frombuffer(native.data, dtype="<i2")
    assert np.max(np.abs(samples / 32767 - audio)) < 1e-4
    openai = encode_audio(audio, SR, "pcm", pcm_sample_rate=24000)
    assert openai.sample_rate == 24000 and len(openai.data) == 2 * 12000
    assert dominant_frequency(np.frombuffer(openai.data, "<i2") / 32767, 24000) == pytest.approx(300, abs=2)


def test_out_of_range_samples_are_clipped_not_wrapped():
    loud = np.array([2.0, -3.0, 0.5], dtype=np.float32)
    samples = np.frombuffer(encode_audio(loud, SR, "pcm").data, "<i2")
    assert list(samples) == [32767, -32767, 16384]


@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "opus"])
def test_empty_audio_still_gives_a_readable_file(fmt):
    decoded, _ = sf.read(io.BytesIO(encode_audio(np.zeros(0, np.float32), SR, fmt).data))
    assert len(decoded) <= SR // 50 and np.max(np.abs(decoded), initial=0) < 1e-3


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="aac"):
        encode_audio(tone(100, 0.1), SR, "aac")


def test_ogg_serial_fix_keeps_valid_checksums():
    buffer = io.BytesIO()
    sf.write(buffer, tone(440, 0.5, OPUS_SAMPLE_RATE), OPUS_SAMPLE_RATE, format="OGG", subtype="OPUS")
    fixed = fix_ogg_serial(buffer.getvalue())
    assert fixed[14:18] == (0x44494131).to_bytes(4, "little")
    # Every page's checksum must match (libogg drops pages that do not), so the stream still decodes fully.
    pos = 0
    while pos < len(fixed):
        segments = fixed[pos + 26]
        length = 27 + segments + sum(fixed[pos + 27:pos + 27 + segments])
        page = bytearray(fixed[pos:pos + length])
        stored = int.from_bytes(page[22:26], "little")
        page[22:26] = b"\0\0\0\0"
        assert ogg_crc(bytes(page)) == stored
        pos += length
    decoded, _ = sf.read(io.BytesIO(fixed))
    assert abs(len(decoded) - OPUS_SAMPLE_RATE // 2) < OPUS_SAMPLE_RATE * 0.03


def test_ogg_crc_known_value():
    assert ogg_crc(b"") == 0
    assert ogg_crc(b"123456789") == 0x765E7680 ^ 0xFFFFFFFF  # CRC-32/POSIX check value, without its final xor


# --- tempo -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("speed", [0.25, 0.5, 0.8, 1.25, 2.0, 4.0])
def test_tempo_changes_duration_but_not_pitch(speed):
    audio = tone(220, 2.0)
    out = change_tempo(audio, SR, speed)
    assert len(out) == round(len(audio) / speed)
    assert dominant_frequency(out) == pytest.approx(220, abs=1.5)  # a resample would give 220 * speed
    middle = out[len(out) // 4: 3 * len(out) // 4]
    assert np.sqrt(np.mean(middle ** 2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.05)  # no phase cancellation


def test_tempo_keeps_events_in_proportion():
    audio = np.zeros(2 * SR, np.float32)
    audio[SR:SR + 2000] = tone(1000, 2000 / SR)  # a short burst at 1.0 s
    out = change_tempo(audio, SR, 2.0)
    energy = np.convolve(out ** 2, np.ones(256), mode="same")
    assert np.argmax(energy) / SR == pytest.approx(0.5 + 1000 / SR / 2, abs=0.02)


def test_tempo_edge_cases():
    assert change_tempo(np.zeros(0, np.float32), SR, 2.0).size == 0
    audio = tone(200, 0.5)
    assert np.array_equal(change_tempo(audio, SR, 1.0), audio)
    assert len(change_tempo(audio[:100], SR, 0.5)) == 200  # shorter than one frame still works
    with pytest.raises(ValueError, match="speed"):
        change_tempo(audio, SR, 5.0)


# --- request text ------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("Hello there", "[S1] Hello there"),
    ("[S2] Hi!", "[S2] Hi!"),
    ("  [s1] a\n b [S2] c (laughs)", "[S1] a b [S2] c (laughs)"),
    ("a\n[S2] b\nc\n[S1] d", "[S1] a [S2] b c [S1] d"),
    ("x\x01y", "[S1] x y"),  # control bytes would reach the model as speaker tokens
    ("[S1]", ""),
    ("  \n ", ""),
])
def test_dialogue_text(text, expected):
    assert dialogue_text(text) == expected


def test_as_speaker_retags_one_speaker_only():
    assert as_speaker("[S2] I am Bob.", "S1") == "[S1] I am Bob."
    assert as_speaker("I am Bob.", "S2") == "[S2] I am Bob."
    assert as_speaker("[S1] a [S2] b", "S2") == "[S1] a [S2] b"


# --- voices ------------------------------------------------------------------------------------------

def write_voice(folder, stem, transcript, *, suffix=".wav", audio=None, sr=SR):
    sf.write(str(folder / f"{stem}{suffix}"), tone(180, 0.3, sr) if audio is None else audio, sr)
    if transcript is not None:
        (folder / f"{stem}.txt").write_text(transcript, encoding="utf-8")


def test_voices_folder(tmp_path):
    write_voice(tmp_path, "alice", "Hello, I am Alice.")
    write_voice(tmp_path, "bob", "[S2]  And I am\nBob.", suffix=".flac", sr=22050)
    write_voice(tmp_path, "no-transcript", None)
    write_voice(tmp_path, "empty", "  [S1] ")
    write_voice(tmp_path, "silent", "Nothing.", audio=np.zeros(SR // 4, np.float32))
    (tmp_path / "broken.wav").write_bytes(b"not audio")
    (tmp_path / "broken.txt").write_text("Hi")
    (tmp_path / "notes.md").write_text("ignored")
    library, warnings = VoiceLibrary.from_folder(tmp_path)
    assert library.ids == ["alice", "bob"]
    assert library.get("bob").transcript == "[S1] And I am Bob."  # alone, a clip's speaker leads as S1
    assert library.transcript("alice+bob") == "[S1] Hello, I am Alice. [S2] And I am Bob."
    joined = "\n".join(warnings)
    for name in ("no-transcript.wav", "empty.wav", "silent.wav", "broken.wav"):
        assert name in joined
    assert "notes.md" not in joined


def test_voices_folder_errors(tmp_path):
    with pytest.raises(VoiceLibraryError, match="not found"):
        VoiceLibrary.from_folder(tmp_path / "missing")
    write_voice(tmp_path, "lonely", None)
    with pytest.raises(VoiceLibraryError, match="(?s)no usable voices.*lonely.wav"):
        VoiceLibrary.from_folder(tmp_path)
    write_voice(tmp_path, "twin", "One.")
    write_voice(tmp_path, "twin", "Two.", suffix=".flac")
    with pytest.raises(VoiceLibraryError, match="two voices have the id 'twin'"):
        VoiceLibrary.from_folder(tmp_path)


def test_reserved_voice_ids(tmp_path):
    write_voice(tmp_path, "random", "Hi.")
    with pytest.raises(VoiceLibraryError, match="reserved"):
        VoiceLibrary.from_folder(tmp_path)


def test_unknown_voice_names_the_missing_part(tmp_path):
    from server.voices import UnknownVoice

    write_voice(tmp_path, "alice", "Hi.")
    library, _ = VoiceLibrary.from_folder(tmp_path)
    with pytest.raises(UnknownVoice) as info:
        library.transcript("alice+carol")
    assert info.value.voice_id == "carol"


def test_voices_from_project(tmp_path):
    from projects.project import Project

    clips = tmp_path / "clips"
    clips.mkdir()
    write_voice(clips, "a", None)
    write_voice(clips, "b", None, audio=tone(300, 0.4))
    project = Project.create(tmp_path / "show", "Show")
    project.set_speaker("S1", name="Dr. Ada Lovelace", clip=clips / "a.wav", transcript="Good evening.")
    project.set_speaker("S2", name="Ada  Lovelace!", clip=clips / "b.wav", transcript="[S2] Hello!")
    project.save()
    library, warnings = VoiceLibrary.from_project(tmp_path / "show")
    assert warnings == []
    assert library.ids == ["dr-ada-lovelace", "ada-lovelace"]
    assert library.get("ada-lovelace").name == "Ada  Lovelace!"
    assert library.get("ada-lovelace").transcript == "[S1] Hello!"
    assert library.get("dr-ada-lovelace").clip.parent == tmp_path / "show" / "voices"


def test_project_without_clips_or_folder(tmp_path):
    from projects.project import Project

    Project.create(tmp_path / "empty")
    with pytest.raises(VoiceLibraryError, match="no speaker with a usable reference clip"):
        VoiceLibrary.from_project(tmp_path / "empty")
    with pytest.raises(VoiceLibraryError, match="not a Dia Studio project"):
        VoiceLibrary.from_project(tmp_path)


@pytest.mark.parametrize("name, expected", [
    ("Dr. Ada Lovelace", "dr-ada-lovelace"), ("Zoë", "zoë"), ("  Speaker 1 ", "speaker-1"), ("!!!", ""),
])
def test_voice_id_from_name(name, expected):
    assert voice_id_from_name(name) == expected


# --- validation messages -------------------------------------------------------------------------------

def test_validation_message_names_fields():
    errors = [
        {"type": "greater_than_equal", "loc": ("body", "temperature"), "msg": "Input should be >= 0"},
        {"type": "extra_forbidden", "loc": ("body", "temprature"), "msg": "Extra inputs are not permitted"},
        {"type": "missing", "loc": ("body", "input"), "msg": "Field required"},
    ]
    message, field = validation_message(errors, ["input", "temperature"])
    assert field == "temperature"
    assert message == ("temperature: Input should be >= 0; temprature: unknown field (accepted: input, "
                       "temperature); input: required")
    message, field = validation_message([{"type": "json_invalid", "loc": ("body", 3), "msg": "JSON decode error",
                                          "ctx": {"error": "Expecting value"}}])
    assert field is None and message == "the request body is not valid JSON (Expecting value)"
