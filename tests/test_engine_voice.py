"""Voice prompts through the tiny DAC: file formats, resampling, caching, errors, and prompted generation."""

import numpy as np
import pytest
import soundfile as sf

from dia_engine import AudioInputError, GenerationRequest, SamplingParams, VoicePrompt, combine_voices


def _tone(seconds, rate, channels=1, freq=220.0):
    t = np.arange(int(seconds * rate)) / rate
    mono = 0.3 * np.sin(2 * np.pi * freq * t) * (1 + 0.2 * np.sin(2 * np.pi * 3 * t))
    return np.stack([mono] * channels, axis=1).astype(np.float32) if channels > 1 else mono.astype(np.float32)


def test_stereo_flac_at_odd_rate_is_mixed_resampled_and_encoded(tiny_engine, tmp_path):
    path = tmp_path / "voice.flac"
    sf.write(path, _tone(2.0, 22050, channels=2), 22050)
    voice = tiny_engine.encode_voice(path, "  [S1] Hello, this is my voice.  ")
    assert voice.transcript == "[S1] Hello, this is my voice."
    frames = int(np.ceil(2.0 * 44100 / 512))
    assert voice.codes.shape == (frames, 9)
    assert voice.codes.min() >= 0 and voice.codes.max() < 1024


def test_same_audio_hits_the_cache_and_array_input_matches_file(tiny_engine, tmp_path):
    audio = _tone(1.0, 44100)
    path = tmp_path / "v.wav"
    sf.write(path, audio, 44100, subtype="FLOAT")
    a = tiny_engine.encode_voice(path, "[S1] one")
    cached = len(tiny_engine._voice_cache)
    b = tiny_engine.encode_voice(audio, "[S1] two", sample_rate=44100)
    assert len(tiny_engine._voice_cache) == cached
    assert np.array_equal(a.codes, b.codes) and b.transcript == "[S1] two"


def test_long_clips_are_trimmed(tiny_engine, caplog):
    voice = tiny_engine.encode_voice(_tone(22.0, 16000), "[S1] long", sample_rate=16000)
    assert voice.num_frames == int(np.ceil(20.0 * 44100 / 512))
    assert "Dia works best with 5-10 s prompts" in caplog.text


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b"this is not audio"), "cannot read voice clip"),
    (lambda p: sf.write(p, np.zeros(44100, dtype=np.float32), 44100), "silent"),
    (lambda p: sf.write(p, np.zeros((0, 1), dtype=np.float32), 44100), "empty"),
])
def test_bad_clips_raise_clear_errors(tiny_engine, tmp_path, make, message):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(AudioInputError, match=message):
        tiny_engine.encode_voice(path, "[S1] words")


def test_missing_file_and_missing_transcript(tiny_engine, tmp_path):
    with pytest.raises(AudioInputError, match="not found"):
        tiny_engine.encode_voice(tmp_path / "absent.wav", "[S1] words")
    with pytest.raises(ValueError, match="transcript"):
        tiny_engine.encode_voice(_tone(1, 44100), "  ", sample_rate=44100)
    with pytest.raises(AudioInputError, match="NaN"):
        tiny_engine.encode_voice(np.full(4410, np.nan, dtype=np.float32), "[S1] x", sample_rate=44100)


def test_combine_voices_puts_s1_first():
    s1 = VoicePrompt("[S1] First speaker.", np.full((5, 9), 1))
    s2 = VoicePrompt("[S2] Second speaker.", np.full((3, 9), 2))
    both = combine_voices(s1, s2)
    assert both.transcript == "[S1] First speaker. [S2] Second speaker."
    assert both.codes.shape == (8, 9) and (both.codes[:5] == 1).all() and (both.codes[5:] == 2).all()
    only = combine_voices(s1, VoicePrompt("", None))
    assert only.transcript == s1.transcript and np.array_equal(only.codes, s1.codes)


def test_prompted_generation_decodes_to_audio_of_the_right_length(tiny_engine):
    voice = tiny_engine.encode_voice(_tone(1.0, 44100), "[S1] Reference words.", sample_rate=44100)
    req = GenerationRequest("[S1] New words.", seed=3, voice=voice, sampling=SamplingParams(max_tokens=voice.num_frames + 60))
    (res,) = tiny_engine.generate([req])
    assert res.audio.dtype == np.float32 and len(res.audio) == len(res.codes) * 512
    assert np.all(np.isfinite(res.audio))
    assert np.allclose(tiny_engine.decode(res.codes), res.audio)
