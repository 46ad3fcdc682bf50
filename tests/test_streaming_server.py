"""Streamed responses from the speech server: they decode to the non-streamed audio, batch together, and a
client that hangs up stops its generation."""

from __future__ import annotations

import base64
import io
import json
import threading

import httpx
import numpy as np
import openai
import pytest
import soundfile as sf

from server.audio_formats import OPENAI_PCM_SAMPLE_RATE
from server.streaming import StreamResampler, wav_stream_header

from test_server import TIMEOUT, start_server, stats, voices_dir, wait_until  # noqa: F401 (fixture)

LSB = 1  # streamed chunks equal the take within 1e-4: at most one 16-bit step apart after rounding


@pytest.fixture(scope="module")
def server(tiny_engine, voices_dir):  # noqa: F811
    running = start_server(tiny_engine, voices_dir, batch_window=1.0)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=TIMEOUT) as client:
        yield client


def pcm(data: bytes) -> np.ndarray:
    return np.frombuffer(data, "<i2").astype(np.int32)


def streamed(http, path: str, body: dict) -> tuple[bytes, httpx.Headers, int]:
    """The body of a streamed response, its headers, and how many pieces it arrived in."""
    with http.stream("POST", path, json=body) as response:
        assert response.status_code == 200, response.read()
        pieces = list(response.iter_raw())
        return b"".join(pieces), response.headers, len(pieces)


def test_streamed_wav_decodes_to_the_whole_file(http):
    body = {"text": "[S1] Streaming out of the server.", "seed": 4, "max_tokens": 90, "voice_id": "alice"}
    whole = http.post("/generate", json=body)
    data, headers, pieces = streamed(http, "/generate", {**body, "stream": True})
    assert headers["content-type"] == "audio/wav" and headers["x-seed"] == "4"
    assert "content-length" not in headers and pieces >= 2  # chunked, sent as generated
    assert data.startswith(wav_stream_header(44100))
    expected, rate = sf.read(io.BytesIO(whole.content), dtype="int16")
    got, rate2 = sf.read(io.BytesIO(data), dtype="int16")
    assert rate == rate2 == 44100 and len(got) == len(expected) > 0
    assert np.abs(got.astype(np.int32) - expected).max() <= LSB


def test_openai_client_streams_pcm_at_24khz(server, http):
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="x", max_retries=0, timeout=TIMEOUT)
    args = dict(model="tts-1", voice="bob", input="Hello there, streaming.", response_format="pcm")
    extra = {"seed": 9, "max_tokens": 90}
    whole = client.audio.speech.with_raw_response.create(**args, extra_body=extra).content
    with client.audio.speech.with_streaming_response.create(**args, extra_body={**extra, "stream": True}) as response:
        assert response.headers["x-sample-rate"] == str(OPENAI_PCM_SAMPLE_RATE)
        pieces = list(response.iter_bytes())
    data = b"".join(pieces)
    assert len(data) == len(whole) and np.abs(pcm(data) - pcm(whole)).max() <= LSB


def test_openai_sse_events_carry_the_audio(http):
    body = {"model": "tts-1", "voice": "alice", "input": "Events, please.", "seed": 2, "max_tokens": 80}
    whole = http.post("/v1/audio/speech", json={**body, "response_format": "pcm"}).content
    data, headers, _ = streamed(http, "/v1/audio/speech", {**body, "stream_format": "sse"})
    assert headers["content-type"].startswith("text/event-stream")
    events = [json.loads(line[6:]) for line in data.decode().split("\n\n") if line.startswith("data: ")]
    assert {e["type"] for e in events[:-1]} == {"speech.audio.delta"} and events[-1]["type"] == "speech.audio.done"
    audio = b"".join(base64.b64decode(e["audio"]) for e in events[:-1])
    assert len(audio) == len(whole) and np.abs(pcm(audio) - pcm(whole)).max() <= LSB
    assert events[-1]["usage"]["output_tokens"] > 0


@pytest.mark.parametrize("body, param", [
    ({"response_format": "mp3"}, "response_format"),
    ({"speed": 1.5}, "speed"),
])
def test_what_cannot_be_streamed_is_refused(http, body, param):
    answer = http.post("/generate", json={"text": "No.", "stream": True, **body})
    assert answer.status_code == 400 and answer.json()["error"]["param"] == param


def test_concurrent_streamed_requests_share_a_batch(server, http):
    bodies = [{"text": f"[S1] Streamed together, number {i}.", "seed": 30 + i, "max_tokens": 70, "stream": True,
               "response_format": "pcm"} for i in range(3)]
    answers: dict[int, tuple[bytes, httpx.Headers, int]] = {}
    barrier = threading.Barrier(3)

    def call(i: int) -> None:
        with httpx.Client(base_url=server.url, timeout=TIMEOUT) as own:
            barrier.wait(timeout=30)
            answers[i] = streamed(own, "/generate", bodies[i])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert {headers["x-batch-size"] for _, headers, _ in answers.values()} == {"3"}
    assert len({headers["x-batch-id"] for _, headers, _ in answers.values()}) == 1
    alone = http.post("/generate", json={**bodies[1], "stream": False}).content  # generated by itself
    assert np.abs(pcm(answers[1][0]) - pcm(alone)).max() <= LSB


def test_hanging_up_stops_the_stream_and_frees_its_slot(server, http):
    before = stats(http)
    # Seeds whose tiny-model generations run 300-600 steps: the batch goes on for seconds.
    long = {"text": "hello", "max_tokens": 3000, "response_format": "pcm"}
    other: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: other.append(
        httpx.post(server.url + "/generate", json={**long, "seed": 8}, timeout=TIMEOUT)))
    thread.start()
    with httpx.Client(base_url=server.url, timeout=TIMEOUT) as own:
        with own.stream("POST", "/generate", json={**long, "seed": 1, "stream": True}) as response:
            assert response.status_code == 200
            next(response.iter_raw())  # the first chunk arrived: generation is under way; hang up
    # The streamed line leaves the batch while its partner goes on generating.
    wait_until(lambda: (s := stats(http))["cancelled"] == before["cancelled"] + 1 and s["running"] > 0)
    thread.join(TIMEOUT)
    assert other[0].status_code == 200
    after = stats(http)
    assert after["served"] == before["served"] + 1 and after["recent_batch_sizes"][-1] == 2


def test_stream_resampler_equals_resampling_the_whole_signal():
    import torch
    import torchaudio.functional

    x = (np.random.default_rng(0).standard_normal(30000) * 0.3).astype(np.float32)
    whole = torchaudio.functional.resample(torch.from_numpy(x), 44100, 24000).numpy()
    resampler, pieces, i = StreamResampler(44100, 24000), [], 0
    for size in (1, 500, 7000, 3, 11025, 11471):
        pieces.append(resampler.push(x[i : i + size]))
        i += size
    pieces.append(resampler.push(np.zeros(0, np.float32), final=True))
    got = np.concatenate(pieces)
    assert len(got) == len(whole) and np.abs(got - whole).max() < 1e-6
