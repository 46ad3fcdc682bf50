"""The speech recogniser on a tiny random Whisper: loading (folder, offline hub cache), word times, unload,
the transcript cache, and word timings for a typed transcript."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from dia_engine import (AudioInputError, ModelLoadError, RecognisedWord, Recogniser, Transcription, WordTiming,
                        time_transcript_words)
from projects.transcripts import RecogniserUnavailable, TranscriptCache, Transcriber
from whisper_tiny import as_hub_cache, build_tiny_whisper

RATE = 24_000


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny tensors: thread hand-offs cost more than the work


@pytest.fixture(scope="module")
def recogniser(tiny_whisper):
    return Recogniser(tiny_whisper, device="cpu")


def _tone_bursts(seconds: float = 3.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    envelope = (np.sin(2 * np.pi * 1.5 * t) > 0).astype(np.float32)
    return (0.3 * envelope * np.sin(2 * np.pi * 180 * t)).astype(np.float32)


def test_loads_from_a_folder_on_first_use_and_gives_ordered_word_times(recogniser):
    audio = _tone_bursts()
    assert not recogniser.loaded
    heard = recogniser.transcribe(audio, RATE)
    assert recogniser.loaded
    assert heard.duration == pytest.approx(3.0, abs=1e-3)
    assert heard.model_id == recogniser.model_id
    assert heard.words, "the tiny model always says something"
    starts = [w.start for w in heard.words]
    assert starts == sorted(starts)
    assert all(0.0 <= w.start <= w.end <= heard.duration for w in heard.words)
    assert all(w.word == w.word.strip() and w.word for w in heard.words)
    # Greedy decoding: the same audio gives the same words and times, from a file as from samples.
    assert recogniser.transcribe(audio, RATE) == heard


def test_a_file_at_another_rate_is_read_and_resampled(recogniser, tmp_path):
    audio = _tone_bursts(2.0)
    path = tmp_path / "clip.flac"
    sf.write(path, np.stack([audio, audio], axis=1), RATE)  # stereo: mixed to mono
    from_file = recogniser.transcribe(path)
    assert from_file.duration == pytest.approx(2.0, abs=1e-3)
    assert from_file == recogniser.transcribe(audio, RATE)


def test_unload_frees_the_model_and_the_next_call_loads_it_again(tiny_whisper):
    recogniser = Recogniser(tiny_whisper, device="cpu")
    first = recogniser.transcribe(_tone_bursts(1.0), RATE)
    recogniser.unload()
    assert not recogniser.loaded
    assert recogniser.transcribe(_tone_bursts(1.0), RATE) == first
    recogniser.unload()
    recogniser.unload()  # twice is harmless


def test_hub_repo_loads_offline_from_the_cache(tiny_whisper, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    cache = as_hub_cache(tiny_whisper, tmp_path / "hub", "example/whisper-tiny")
    recogniser = Recogniser("example/whisper-tiny", device="cpu", cache_dir=str(cache))
    heard = recogniser.transcribe(_tone_bursts(1.0), RATE)
    assert heard.model_id == "example/whisper-tiny"
    assert heard.words == Recogniser(tiny_whisper, device="cpu").transcribe(_tone_bursts(1.0), RATE).words


def test_hub_repo_offline_and_not_cached_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    recogniser = Recogniser("example/not-downloaded", device="cpu", cache_dir=str(tmp_path))
    with pytest.raises(ModelLoadError, match="example/not-downloaded"):
        recogniser.load()
    assert not recogniser.loaded


def test_a_model_without_alignment_heads_is_refused(tmp_path):
    folder = build_tiny_whisper(tmp_path / "no-heads", alignment_heads=False)
    with pytest.raises(ModelLoadError, match="alignment_heads"):
        Recogniser(folder, device="cpu").load()


def test_bad_input_is_named(recogniser, tmp_path):
    with pytest.raises(ModelLoadError, match="not found"):
        Recogniser(tmp_path / "nowhere", device="cpu").load()
    with pytest.raises(AudioInputError, match="sample rate"):
        recogniser.transcribe(np.zeros(100, np.float32))
    with pytest.raises(AudioInputError, match="no audio"):
        recogniser.transcribe(np.zeros(0, np.float32), RATE)
    with pytest.raises(AudioInputError, match="cannot read"):
        recogniser.transcribe(tmp_path / "missing.wav")
    with pytest.raises(ModelLoadError, match="device"):
        Recogniser(device="tpu")


# ---- the transcript cache -----------------------------------------------------------------------------

def test_transcripts_are_cached_by_content_and_model(tiny_whisper, tmp_path):
    clip = tmp_path / "a.wav"
    sf.write(clip, _tone_bursts(1.5), RATE)
    transcriber = Transcriber(tiny_whisper, device="cpu", cache=TranscriptCache(tmp_path / "cache"))
    assert transcriber.cached_file(clip) is None
    heard = transcriber.transcribe_file(clip)
    assert transcriber.cached_file(clip) == heard
    copy = tmp_path / "renamed.wav"
    copy.write_bytes(clip.read_bytes())
    transcriber.unload()
    # A copy under another name is found in the cache: no model is loaded for it.
    assert transcriber.transcribe_file(copy) == heard and not transcriber.loaded
    # Another recogniser does not reuse this one's transcript.
    other = Transcriber("example/other", cache=TranscriptCache(tmp_path / "cache"))
    assert other.cached_file(clip) is None
    # In-memory audio is cached by its samples.
    assert transcriber.transcribe_audio(_tone_bursts(1.5), RATE) == heard


def test_a_damaged_cache_entry_is_transcribed_again(tiny_whisper, tmp_path):
    clip = tmp_path / "a.wav"
    sf.write(clip, _tone_bursts(1.0), RATE)
    cache = TranscriptCache(tmp_path / "cache")
    transcriber = Transcriber(tiny_whisper, device="cpu", cache=cache)
    heard = transcriber.transcribe_file(clip)
    entry = next((tmp_path / "cache").rglob("*.json"))
    entry.write_text("{not json")
    assert transcriber.transcribe_file(clip) == heard
    assert Transcription.from_dict(__import__("json").loads(entry.read_text())) == heard


def test_without_a_recogniser_the_reason_is_given_once(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    clip = tmp_path / "a.wav"
    sf.write(clip, _tone_bursts(1.0), RATE)
    transcriber = Transcriber("example/not-downloaded", device="cpu", cache=TranscriptCache(tmp_path / "c"),
                              hub_cache_dir=str(tmp_path / "hub"))
    assert not transcriber.available()
    assert "example/not-downloaded" in transcriber.unavailable_reason
    with pytest.raises(RecogniserUnavailable, match="cannot be loaded"):
        transcriber.transcribe_file(clip)


# ---- word timings for a typed transcript (Dia2 voice prompts) -------------------------------------------

HEARD = (RecognisedWord("Hello,", 0.10, 0.40), RecognisedWord("my", 0.50, 0.70), RecognisedWord("friend.", 0.80, 1.30))


def test_typed_words_take_the_times_of_the_words_heard():
    timings = time_transcript_words("[S1] Hello my friend.", HEARD)
    assert timings == (WordTiming("Hello", 0.1, 0.4), WordTiming("my", 0.5, 0.7), WordTiming("friend.", 0.8, 1.3))


def test_misheard_and_unheard_words_are_timed_from_their_neighbours():
    heard = HEARD + (RecognisedWord("twenty-five", 1.5, 2.0), RecognisedWord("bye", 2.1, 2.3))
    timings = time_transcript_words("Hello (laughs) my fiend 25 bye now", heard, duration=3.0)
    words = [t.word for t in timings]
    assert words == ["Hello", "(laughs)", "my", "fiend", "25", "bye", "now"]
    by_word = dict((t.word, (t.start, t.end)) for t in timings)
    assert by_word["Hello"] == (0.1, 0.4) and by_word["my"] == (0.5, 0.7)
    assert by_word["fiend"] == (0.8, 1.3)  # substituted for "friend.": its time is still right
    assert by_word["25"] == (1.5, 2.0)  # numbers compare normalised
    assert by_word["(laughs)"] == (0.4, 0.5)  # the gap between its neighbours
    assert by_word["now"] == (2.3, 3.0)  # after the last heard word, up to the end of the clip
    starts = [t.start for t in timings]
    assert starts == sorted(starts)


def test_nothing_in_common_gives_none():
    assert time_transcript_words("Completely different words", HEARD) is None
    assert time_transcript_words("Hello", ()) is None
    assert time_transcript_words("", HEARD) is None


def test_recognised_words_flow_into_timings(recogniser):
    """The plumbing end to end: whatever the tiny model hears, typed as the transcript, comes back timed."""
    heard = recogniser.transcribe(_tone_bursts(), RATE)
    typed = " ".join(w.word for w in heard.words)
    timings = time_transcript_words(typed, heard.words, heard.duration)
    if timings is None:  # gibberish with no comparable characters (the normaliser drops symbols)
        pytest.skip("the tiny model's words hold nothing the normaliser keeps")
    assert len(timings) == len(typed.split())
    assert all(0.0 <= t.start <= t.end <= heard.duration for t in timings)


def test_word_timings_of_a_clip_come_from_its_cached_transcript(tmp_path):
    clip = tmp_path / "host.wav"
    sf.write(clip, _tone_bursts(1.5), RATE)
    cache = TranscriptCache(tmp_path / "cache")
    from projects.voices import file_sha256

    cache.put(file_sha256(clip), Transcription("Hello, my friend.", HEARD, 1.5, "some/recogniser"))
    transcriber = Transcriber("some/recogniser", cache=cache)
    assert transcriber.word_timings(clip, "[S1] Hello my friend.") == (
        WordTiming("Hello", 0.1, 0.4), WordTiming("my", 0.5, 0.7), WordTiming("friend.", 0.8, 1.3))
    assert transcriber.word_timings(clip, "Something else entirely") is None
    assert not transcriber.loaded
    # For a Dia2 prompt: the same, or None (approximate timings) where the recogniser is not at hand.
    from projects.transcripts import clip_word_timings

    assert clip_word_timings(clip, "Hello my friend.", transcriber)[2] == WordTiming("friend.", 0.8, 1.3)
    offline = Transcriber("example/not-downloaded", cache=cache, hub_cache_dir=str(tmp_path / "hub"))
    assert clip_word_timings(clip, "Hello my friend.", offline) is None
    assert clip_word_timings(tmp_path / "missing.wav", "Hello", transcriber) is None


def test_is_downloaded_looks_without_fetching(tiny_whisper, tmp_path):
    assert Recogniser(tiny_whisper, device="cpu").is_downloaded()
    cache = as_hub_cache(tiny_whisper, tmp_path / "hub", "example/whisper-tiny")
    assert Recogniser("example/whisper-tiny", device="cpu", cache_dir=str(cache)).is_downloaded()
    assert not Recogniser("example/elsewhere", device="cpu", cache_dir=str(cache)).is_downloaded()
