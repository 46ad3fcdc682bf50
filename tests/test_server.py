"""The speech server end to end: a real uvicorn server on a free loopback port, the tiny model and tiny DAC,
called with the official `openai` client and with plain HTTP (httpx and raw sockets)."""

from __future__ import annotations

import io
import json
import socket
import threading
import time
from urllib.parse import urlsplit

import httpx
import numpy as np
import openai
import pytest
import soundfile as sf

from dia_engine import GenerationRequest, SamplingParams, combine_voices
from server.app import create_app
from server.audio_formats import FORMATS, OPENAI_PCM_SAMPLE_RATE, OPUS_SAMPLE_RATE, encode_audio
from server.runner import BackgroundServer
from server.voices import VoiceLibrary

from conftest import TINY_MODEL

TOKENS = 80  # decoder steps per request: the voice clips take 26 of them, leaving ~0.6 s of audio
TIMEOUT = 180  # seconds; generous for a loaded 2-core CI box, never reached when things work
ALICE = "Hello, I am Alice."
BOB = "And I am Bob."


def voice_clip(freq: float, seconds: float = 0.3, sr: int = 44100) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    return (0.3 * np.sin(2 * np.pi * freq * t) + 0.05 * np.sin(2 * np.pi * 3.1 * freq * t)).astype(np.float32)


@pytest.fixture(scope="module")
def voices_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("voices")
    for stem, freq, transcript in [("alice", 210, ALICE), ("bob", 120, BOB), ("fragile", 160, "I break.")]:
        sf.write(str(folder / f"{stem}.wav"), voice_clip(freq), 44100)
        (folder / f"{stem}.txt").write_text(transcript, encoding="utf-8")
    return folder


def start_server(engine, voices_dir, graceful_seconds: int = 3, **options) -> BackgroundServer:
    library, _ = VoiceLibrary.from_folder(voices_dir)
    return BackgroundServer(create_app(engine, library, **options), graceful_seconds=graceful_seconds).start()


@pytest.fixture(scope="module")
def server(tiny_engine, voices_dir):
    running = start_server(tiny_engine, voices_dir)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=TIMEOUT) as client:
        yield client


@pytest.fixture(scope="module")
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="not-needed", max_retries=0, timeout=TIMEOUT)


def speech(client, fmt="wav", *, voice="alice", text="Nice to meet you.", **extra):
    """One /v1/audio/speech call through the openai client; returns (audio bytes, response headers)."""
    body = {"seed": 42, "max_tokens": TOKENS, **extra}
    raw = client.audio.speech.with_raw_response.create(model="tts-1", voice=voice, input=text,
                                                       response_format=fmt, extra_body=body)
    return raw.content, raw.headers


def stats(http) -> dict:
    return http.get("/health").json()["scheduler"]


# --- formats, seeds, parameters ------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_openai_client_every_format_decodes_and_reproduces(client, fmt):
    data, headers = speech(client, fmt)
    again, _ = speech(client, fmt)
    assert data == again  # same seed, voice, text and parameters: same bytes
    assert headers["x-seed"] == "42"
    seconds = float(headers["x-audio-seconds"])
    assert 0 < seconds <= (TOKENS - 26) * 512 / 44100
    if fmt == "pcm":  # OpenAI's pcm: headerless 16-bit little-endian mono at 24 kHz
        rate, samples = OPENAI_PCM_SAMPLE_RATE, np.frombuffer(data, "<i2") / 32767.0
        assert headers["content-type"] == "audio/pcm"
    else:
        samples, rate = sf.read(io.BytesIO(data), dtype="float32")
    assert int(headers["x-sample-rate"]) == rate == {"opus": OPUS_SAMPLE_RATE, "pcm": 24000}.get(fmt, 44100)
    assert samples.ndim == 1 and np.max(np.abs(samples)) > 0.001
    assert abs(len(samples) / rate - seconds) < 0.06  # lossy codecs pad a few milliseconds


def test_openai_default_format_is_mp3(client):
    audio = client.audio.speech.create(model="tts-1", voice="alice", input="Hi.",
                                       extra_body={"seed": 1, "max_tokens": TOKENS})
    assert sf.info(io.BytesIO(audio.content)).format == "MP3"


def test_server_output_is_the_engine_output_for_the_voice(http, client, tiny_engine, voices_dir):
    """The voice transcript goes in front of the text exactly as the engine documents, with the clip's codes."""
    response = http.post("/generate", json={"text": "Nice to meet you.", "voice_id": "alice", "seed": 42,
                                            "max_tokens": TOKENS})
    assert response.status_code == 200 and response.headers["content-type"] == "audio/wav"
    voice = tiny_engine.encode_voice(voices_dir / "alice.wav", f"[S1] {ALICE}")
    [direct] = tiny_engine.generate([GenerationRequest("[S1] Nice to meet you.", seed=42,
                                                       sampling=SamplingParams(max_tokens=TOKENS), voice=voice)])
    assert response.content == encode_audio(direct.audio, direct.sample_rate, "wav").data
    openai_wav, _ = speech(client, "wav")
    assert openai_wav == response.content  # both endpoints are the same generation


def test_pair_voice_is_the_combined_prompt(http, tiny_engine, voices_dir):
    text = "[S1] How are you? [S2] Fine."
    response = http.post("/generate", json={"text": text, "voice_id": "alice+bob", "seed": 5, "max_tokens": 120})
    assert response.status_code == 200, response.text
    prompt = combine_voices(tiny_engine.encode_voice(voices_dir / "alice.wav", f"[S1] {ALICE}"),
                            tiny_engine.encode_voice(voices_dir / "bob.wav", f"[S2] {BOB}"))
    [direct] = tiny_engine.generate([GenerationRequest(text, seed=5, sampling=SamplingParams(max_tokens=120),
                                                       voice=prompt)])
    assert response.content == encode_audio(direct.audio, direct.sample_rate, "wav").data


def test_random_seed_is_reported_and_reproduces(http):
    body = {"text": "Untagged input is one turn.", "max_tokens": 60}
    first = http.post("/generate", json=body)
    seed = int(first.headers["x-seed"])
    assert http.post("/generate", json={**body, "seed": seed}).content == first.content
    assert http.post("/generate", json={**body, "seed": seed + 1}).content != first.content


def test_sampling_parameters_reach_the_engine(http):
    greedy = {"text": "Greedy.", "temperature": 0, "max_tokens": 60}
    a = http.post("/generate", json={**greedy, "seed": 1})
    b = http.post("/generate", json={**greedy, "seed": 2})
    assert a.status_code == b.status_code == 200
    assert a.content == b.content  # temperature 0 is greedy: the seed no longer matters


def test_speed_changes_tempo(client):
    normal, h1 = speech(client, "wav", speed=1.0)
    fast, h2 = speech(client, "wav", speed=2.0)
    slow, h3 = speech(client, "wav", speed=0.5)
    n = len(sf.read(io.BytesIO(normal))[0])
    assert len(sf.read(io.BytesIO(fast))[0]) == round(n / 2)
    assert len(sf.read(io.BytesIO(slow))[0]) == n * 2
    assert float(h2["x-audio-seconds"]) == pytest.approx(float(h1["x-audio-seconds"]) / 2, abs=0.002)


def test_voice_object_form_and_random_voice(http, client):
    by_name, _ = speech(client, "wav")
    as_object = http.post("/v1/audio/speech", json={"model": "dia", "input": "Nice to meet you.",
                                                    "voice": {"id": "alice"}, "response_format": "wav",
                                                    "seed": 42, "max_tokens": TOKENS})
    assert as_object.status_code == 200 and as_object.content == by_name
    random_voice, _ = speech(client, "wav", voice="random")
    assert random_voice != by_name


# --- listings --------------------------------------------------------------------------------------------

def test_models_and_voices(client, http):
    models = client.models.list().data
    ids = [model.id for model in models]
    assert ids[0] == str(TINY_MODEL) and "dia" in ids and "tts-1" in ids and "gpt-4o-mini-tts" in ids
    facts = http.get("/v1/models").json()["data"][0]["dia"]  # the loaded model, as the engine describes it
    assert (facts["family"], facts["sample_rate"], facts["text_limit"], facts["text_unit"]) == (
        "dia", 44100, 1024, "bytes")
    assert facts["sampling"] == {"cfg_scale": 3.0, "temperature": 1.2, "top_p": 0.95, "cfg_filter_top_k": 45}
    assert client.models.retrieve("tts-1").id == "tts-1"
    body = http.get("/voices").json()
    voices = {voice["id"]: voice["transcript"] for voice in body["voices"]}
    assert voices == {"alice": f"[S1] {ALICE}", "bob": f"[S1] {BOB}", "fragile": "[S1] I break.", "random": None}
    assert "+" in body["pairs"]
    health = http.get("/health").json()
    assert health["status"] == "ok" and health["voices"] == 3 and all(health["formats"].values())


# --- bad requests -------------------------------------------------------------------------------------

SPEECH = {"model": "tts-1", "input": "Hi.", "voice": "alice"}
GENERATE = {"text": "Hi."}


@pytest.mark.parametrize("path, body, param, words", [
    ("/v1/audio/speech", {**SPEECH, "voice": "nova"}, "voice", "unknown voice 'nova'; this server has: alice"),
    ("/v1/audio/speech", {**SPEECH, "voice": "alice+carol"}, "voice", "unknown voice 'carol'"),
    ("/v1/audio/speech", {**SPEECH, "voice": "alice+bob+alice"}, "voice", "more than two voices"),
    ("/v1/audio/speech", {**SPEECH, "input": " [S1] "}, "input", "nothing to speak"),
    ("/v1/audio/speech", {**SPEECH, "input": "a" * 1100}, "input", "1024"),
    ("/v1/audio/speech", {**SPEECH, "input": "a" * 5000}, "input", "4096"),
    ("/v1/audio/speech", {**SPEECH, "response_format": "aac"}, "response_format", "choose one of"),
    ("/v1/audio/speech", {**SPEECH, "speed": 5}, "speed", "less than or equal to 4"),
    ("/v1/audio/speech", {**SPEECH, "model": "gpt-5"}, "model", "unknown model 'gpt-5'"),
    ("/v1/audio/speech", {**SPEECH, "instructions": "Whisper."}, "instructions", "not supported"),
    ("/v1/audio/speech", {**SPEECH, "stream_format": "websocket"}, "stream_format", "not supported"),
    ("/v1/audio/speech", {"model": "tts-1", "input": "Hi."}, "voice", "required"),
    ("/v1/audio/speech", {**SPEECH, "sed": 4}, "sed", "unknown field (accepted: "),
    ("/generate", {**GENERATE, "temperature": -1}, "temperature", "greater than or equal to 0"),
    ("/generate", {**GENERATE, "top_p": 0}, "top_p", "greater than 0"),
    ("/generate", {**GENERATE, "cfg_filter_top_k": 2.5}, "cfg_filter_top_k", "integer"),
    ("/generate", {**GENERATE, "text_temperature": 0.5}, "text_temperature",
     "Dia 1.6B (" + str(TINY_MODEL) + ") has no sampling parameter text_temperature"),
    ("/v1/audio/speech", {**SPEECH, "top_k": 5}, "top_k", "has no sampling parameter top_k"),
    ("/generate", {**GENERATE, "seed": -1}, "seed", "greater than or equal to 0"),
    ("/generate", {**GENERATE, "max_tokens": 0}, "max_tokens", "greater than or equal to 1"),
    ("/generate", {**GENERATE, "max_tokens": 5000}, "max_tokens", "exceeds the model's audio length"),
    ("/generate", {**GENERATE, "voice_id": "alice", "max_tokens": 20}, "max_tokens", "voice prompt"),
    ("/generate", {**GENERATE, "text": None}, "text", "valid string"),
    ("/generate", {}, "text", "text: required"),
])
def test_bad_requests_get_400_naming_the_field(http, path, body, param, words):
    response = http.post(path, json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
    assert words in error["message"]


def test_transcript_counts_towards_the_text_limit(http):
    room = 1024 - len("[S1] ")  # bytes of text that fit without a voice ([S1] is one byte plus a space)
    text = "a" * (room + 3)
    assert http.post("/generate", json={"text": text[:room - 2], "max_tokens": 30}).status_code == 200
    response = http.post("/generate", json={"text": text[:room - 2], "voice_id": "alice"})
    assert response.status_code == 400 and "including the voice transcript" in response.json()["error"]["message"]


@pytest.mark.parametrize("content, headers, words", [
    (b'{"text": ', {"content-type": "application/json"}, "not valid JSON"),
    (b"text=hi", {"content-type": "application/x-www-form-urlencoded"}, "must be a JSON object"),
    (b"[1, 2]", {"content-type": "application/json"}, "must be a JSON object"),
])
def test_malformed_bodies(http, content, headers, words):
    response = http.post("/generate", content=content, headers=headers)
    assert response.status_code == 400 and words in response.json()["error"]["message"]


def test_openai_client_raises_with_our_message(client):
    with pytest.raises(openai.BadRequestError) as info:
        client.audio.speech.create(model="tts-1", voice="nova", input="Hi.")
    assert info.value.status_code == 400 and info.value.body["param"] == "voice"
    assert "unknown voice 'nova'" in str(info.value)


def test_unknown_path_is_a_json_404(http):
    response = http.get("/v2/nothing")
    assert response.status_code == 404 and "no such endpoint" in response.json()["error"]["message"]


# --- failures ----------------------------------------------------------------------------------------

def test_unreadable_voice_clip_is_a_5xx_and_the_server_keeps_serving(http, voices_dir):
    (voices_dir / "fragile.wav").write_bytes(b"no longer audio")  # broken after the server checked it
    response = http.post("/generate", json={"text": "Hi.", "voice_id": "fragile", "max_tokens": TOKENS})
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["type"] == "server_error" and "voice 'fragile' could not be loaded" in error["message"]
    assert http.post("/generate", json={"text": "Hi.", "voice_id": "alice", "max_tokens": TOKENS}).status_code == 200


class EngineWithFault:
    """The real tiny engine, except that a batch holding a text with FAULT fails (fault injection)."""

    FAULT = "KABOOM"

    def __init__(self, engine) -> None:
        self._engine = engine

    def __getattr__(self, name):
        return getattr(self._engine, name)

    def generate(self, requests, **kwargs):
        if any(self.FAULT in request.text for request in requests):
            raise RuntimeError("injected fault")
        return self._engine.generate(requests, **kwargs)


def post_together(url: str, bodies: list[dict], path: str = "/generate") -> list[httpx.Response]:
    """POST all bodies at the same moment from separate threads (each with its own connection)."""
    barrier = threading.Barrier(len(bodies))
    responses: list[httpx.Response | None] = [None] * len(bodies)

    def post(i: int) -> None:
        with httpx.Client(base_url=url, timeout=TIMEOUT) as own:
            barrier.wait(timeout=30)
            responses[i] = own.post(path, json=bodies[i])

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert all(r is not None for r in responses), "a request did not complete"
    return responses


def test_failing_generation_is_a_5xx_and_does_not_fail_its_batch(tiny_engine, voices_dir):
    faulty = start_server(EngineWithFault(tiny_engine), voices_dir, batch_window=0.5)
    try:
        good, bad = post_together(faulty.url, [{"text": "Fine.", "seed": 3, "max_tokens": 60},
                                               {"text": "KABOOM", "seed": 3, "max_tokens": 60}])
        assert bad.status_code == 500
        assert bad.json()["error"]["message"] == "generation failed: RuntimeError: injected fault"
        assert good.status_code == 200 and good.headers["x-batch-size"] == "1"  # served again on its own
        again = httpx.post(faulty.url + "/generate", json={"text": "Still here.", "max_tokens": 60}, timeout=TIMEOUT)
        assert again.status_code == 200
        numbers = httpx.get(faulty.url + "/health").json()["scheduler"]
        assert numbers["recent_batch_sizes"][0] == 2 and numbers["failed"] == 1 and numbers["served"] == 2
    finally:
        faulty.stop()


# --- batching, health, cancellation ---------------------------------------------------------------------

def test_concurrent_requests_are_served_as_one_batch(tiny_engine, voices_dir, client):
    batching = start_server(tiny_engine, voices_dir, batch_window=1.0, max_batch_size=8)
    try:
        alone, _ = speech(client, "wav")  # seed 42 on the module's server, generated by itself
        own = openai.OpenAI(base_url=batching.url + "/v1", api_key="x", max_retries=0, timeout=TIMEOUT)
        barrier = threading.Barrier(8)
        results: dict[int, tuple[bytes, dict]] = {}

        def call(seed: int) -> None:
            barrier.wait(timeout=30)
            results[seed] = speech(own, "wav", seed=seed)

        seeds = [42, 1, 2, 3, 4, 5, 6, 7]
        threads = [threading.Thread(target=call, args=(seed,)) for seed in seeds]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT)
        assert sorted(results) == sorted(seeds)  # all eight succeeded
        assert {headers["x-batch-size"] for _, headers in results.values()} == {"8"}
        assert len({headers["x-batch-id"] for _, headers in results.values()}) == 1
        assert {headers["x-seed"] for _, headers in results.values()} == {str(s) for s in seeds}
        assert len({audio for audio, _ in results.values()}) == 8  # each request got its own audio
        assert results[42][0] == alone  # batched or alone: the same bytes
        numbers = httpx.get(batching.url + "/health").json()["scheduler"]
        assert numbers["recent_batch_sizes"] == [8] and numbers["batches"] == 1 and numbers["served"] == 8
    finally:
        batching.stop()


def raw_request(url: str, path: str, body: dict) -> socket.socket:
    """Send a request over a bare socket and return it unread, so the test can hang up mid-generation."""
    address = urlsplit(url)
    sock = socket.create_connection((address.hostname, address.port), timeout=10)
    payload = json.dumps(body).encode()
    sock.sendall(f"POST {path} HTTP/1.1\r\nHost: {address.netloc}\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
    return sock


def wait_until(condition, seconds: float = TIMEOUT, interval: float = 0.02):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {seconds} s")


def test_health_answers_during_generation_and_hanging_up_stops_it(http, server):
    before = stats(http)
    # Seeds whose tiny-model generations run 300-600 steps before end-of-speech: several seconds of work.
    sockets = [raw_request(server.url, "/generate", {"text": "hello", "seed": seed, "max_tokens": 3000})
               for seed in (1, 3, 7, 8, 9, 12)]
    try:
        wait_until(lambda: (s := stats(http))["running"] and s["running"] + s["queued"] == 6)
        samples: list[tuple[float, dict]] = []  # (seconds /health took, its answer)
        steps: list[int] = []  # furthest decoder step reported in each answer
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (len(samples) >= 3 and steps[-1] > steps[0]):
            started = time.monotonic()
            numbers = stats(http)
            samples.append((time.monotonic() - started, numbers))
            steps.append(max((p["step"] for p in numbers["running_progress"]), default=0))
            time.sleep(0.05)
        assert steps[-1] > steps[0]  # generation moved on between the health answers
        for latency, numbers in samples:
            assert numbers["running"] > 0  # these answers came while the batch was generating
            assert latency < 1.0
    finally:
        for sock in sockets:
            sock.close()
    after = wait_until(lambda: (s := stats(http))["running"] == 0 and s["queued"] == 0 and s)
    assert after["cancelled"] - before["cancelled"] == 6  # stopped early: none of them ran to its end
    assert after["served"] == before["served"]
    # and the server goes on serving
    assert http.post("/generate", json={"text": "After.", "max_tokens": 40}).status_code == 200


def test_stopping_the_server_ends_open_requests_with_a_503(tiny_engine, voices_dir):
    app = create_app(tiny_engine, VoiceLibrary.from_folder(voices_dir)[0])
    stopping = BackgroundServer(app, graceful_seconds=0).start()  # no grace: the request cannot finish
    answers: list[httpx.Response] = []
    long_request = {"text": "hello", "seed": 8, "max_tokens": 3000}  # about 600 steps on the tiny model
    thread = threading.Thread(target=lambda: answers.append(
        httpx.post(stopping.url + "/generate", json=long_request, timeout=TIMEOUT)))
    thread.start()
    wait_until(lambda: httpx.get(stopping.url + "/health").json()["scheduler"]["running"])
    started = time.monotonic()
    stopping.stop()  # cancels the open request, which withdraws it and so stops its generation
    assert time.monotonic() - started < 30
    thread.join(TIMEOUT)
    assert answers[0].status_code == 503
    assert answers[0].json()["error"] == {"message": "the server is shutting down", "type": "server_error",
                                          "param": None, "code": "shutting_down"}
    numbers = app.state.scheduler.stats()
    assert numbers["cancelled"] == 1 and numbers["served"] == 0 and numbers["running"] == 0


# --- api key -------------------------------------------------------------------------------------------

def test_api_key_is_required_when_configured(tiny_engine, voices_dir):
    guarded = start_server(tiny_engine, voices_dir, api_key="s3cret")
    try:
        body = {"text": "Hi.", "max_tokens": 40}
        missing = httpx.post(guarded.url + "/generate", json=body)
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        assert "needs an API key" in missing.json()["error"]["message"]
        wrong = httpx.get(guarded.url + "/voices", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and "wrong API key" in wrong.json()["error"]["message"]
        assert httpx.get(guarded.url + "/health").status_code == 200  # monitoring needs no key
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=guarded.url + "/v1", api_key="nope", max_retries=0).models.list()
        good = openai.OpenAI(base_url=guarded.url + "/v1", api_key="s3cret", max_retries=0, timeout=TIMEOUT)
        audio = good.audio.speech.create(model="tts-1", voice="bob", input="Hi.", response_format="flac",
                                         extra_body={"seed": 9, "max_tokens": TOKENS})
        assert sf.info(io.BytesIO(audio.content)).format == "FLAC"
    finally:
        guarded.stop()


# --- project voices, docs ------------------------------------------------------------------------------

def test_project_speakers_are_voices(tiny_engine, tmp_path):
    from projects.project import Project

    sf.write(str(tmp_path / "ada.wav"), voice_clip(190), 44100)
    sf.write(str(tmp_path / "grace.wav"), voice_clip(140), 44100)
    project = Project.create(tmp_path / "show", "Show")
    project.set_speaker("S1", name="Ada Lovelace", clip=tmp_path / "ada.wav", transcript="Good evening.")
    project.set_speaker("S2", name="Grace Hopper", clip=tmp_path / "grace.wav", transcript="[S2] Hello, Ada.")
    project.save()
    library, warnings = VoiceLibrary.from_project(tmp_path / "show")
    assert warnings == []
    with BackgroundServer(create_app(tiny_engine, library)) as running:
        listed = httpx.get(running.url + "/voices").json()["voices"]
        assert [(v["id"], v["name"], v["transcript"]) for v in listed[:2]] == [
            ("ada-lovelace", "Ada Lovelace", "[S1] Good evening."),
            ("grace-hopper", "Grace Hopper", "[S1] Hello, Ada."),  # alone, S2's clip leads as S1
        ]
        response = httpx.post(running.url + "/generate", timeout=TIMEOUT,
                              json={"text": "Welcome.", "voice_id": "grace-hopper", "seed": 8, "max_tokens": TOKENS})
        assert response.status_code == 200, response.text
    clip = tmp_path / "show" / project.doc.speakers["S2"].clip
    voice = tiny_engine.encode_voice(clip, "[S1] Hello, Ada.")
    [direct] = tiny_engine.generate([GenerationRequest("[S1] Welcome.", seed=8, voice=voice,
                                                       sampling=SamplingParams(max_tokens=TOKENS))])
    assert response.content == encode_audio(direct.audio, direct.sample_rate, "wav").data


def test_api_description_is_served(http):
    schema = http.get("/openapi.json").json()
    assert {"/generate", "/v1/audio/speech", "/v1/models", "/voices", "/health"} <= set(schema["paths"])
    assert http.get("/docs").status_code == 200
    assert "POST /v1/audio/speech" in http.get("/").json()["endpoints"]
