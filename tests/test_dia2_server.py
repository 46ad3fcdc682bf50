"""`serve` with Dia2 (the tiny model and Mimi): the openai client gets 24 kHz speech with a two-voice prefix,
/v1/models lists the loaded model by its id with its facts, /generate takes Dia2's sampling fields."""

import pytest

pytest.importorskip("dia_engine.dia2", reason="the Dia2 engine (issue 12) is not on this branch yet")


import io
import shutil

import httpx
import openai
import soundfile as sf

from server.app import create_app
from server.runner import BackgroundServer
from server.voices import VoiceLibrary

from conftest import DATA, DIA2_TINY

TIMEOUT = 180


@pytest.fixture(scope="module")
def dia2_server(dia2_engine, tmp_path_factory):
    folder = tmp_path_factory.mktemp("voices")
    for name, transcript in (("ana", "Hello my friend."), ("ben", "Yes, of course.")):
        shutil.copy(DATA / f"dia2-voice-{'s1' if name == 'ana' else 's2'}.wav", folder / f"{name}.wav")
        (folder / f"{name}.txt").write_text(transcript, encoding="utf-8")
    library, _ = VoiceLibrary.from_folder(folder)
    running = BackgroundServer(create_app(dia2_engine, library), graceful_seconds=3).start()
    yield running
    running.stop()


def test_openai_client_gets_dia2_speech_at_its_native_rate(dia2_server):
    client = openai.OpenAI(base_url=dia2_server.url + "/v1", api_key="x", max_retries=0, timeout=TIMEOUT)
    ids = [model.id for model in client.models.list()]
    assert ids[0] == str(DIA2_TINY) and "tts-1" in ids
    raw = client.audio.speech.with_raw_response.create(
        model=str(DIA2_TINY), voice="ana+ben", input="[S1] Hi there. [S2] Hello!", response_format="wav",
        extra_body={"seed": 3, "text_temperature": 0.0, "temperature": 0.0})
    audio, rate = sf.read(io.BytesIO(raw.content), dtype="float32")
    assert rate == 24000 == int(raw.headers["X-Sample-Rate"]) and len(audio) > 0
    again = client.audio.speech.with_raw_response.create(
        model="tts-1", voice="ana+ben", input="[S1] Hi there. [S2] Hello!", response_format="wav",
        extra_body={"seed": 3, "text_temperature": 0.0, "temperature": 0.0})
    assert again.content == raw.content  # same seed, voices, text and parameters: the same bytes


def test_models_generate_fields_and_refusals(dia2_server):
    with httpx.Client(base_url=dia2_server.url, timeout=TIMEOUT) as http:
        facts = http.get("/v1/models").json()["data"][0]["dia"]
        assert (facts["family"], facts["sample_rate"], facts["frames_per_second"], facts["text_unit"]) == (
            "dia2", 24000, 12.5, "tokens")
        assert set(facts["sampling"]) == {"cfg_scale", "temperature", "top_k", "text_temperature", "text_top_k",
                                          "cfg_filter_top_k"}
        ok = http.post("/generate", json={"text": "[S1] Good morning.", "voice_id": "ana", "seed": 5, "top_k": 20,
                                          "text_top_k": 10, "text_temperature": 0.5, "response_format": "opus"})
        assert ok.status_code == 200, ok.text
        assert ok.headers["X-Sample-Rate"] == "24000"  # Opus takes 24 kHz: no resampling
        refused = http.post("/generate", json={"text": "Hi.", "top_p": 0.9})
        assert refused.status_code == 400
        error = refused.json()["error"]
        assert error["param"] == "top_p" and "Dia2" in error["message"] and "has no sampling parameter top_p" in \
            error["message"]
        long = http.post("/generate", json={"text": "word " * 200})
        assert long.status_code == 400 and "tokens" in long.json()["error"]["message"]
