"""The HTTP face of the engine: `create_app(engine, voices)` returns a FastAPI app.

Endpoints: POST /generate, POST /v1/audio/speech (OpenAI-compatible), GET /v1/models, GET /voices,
GET /health. Requests are checked here, then queued on the batch scheduler, whose engine thread serves
concurrent requests together; the event loop only waits, so /health answers while a batch runs.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import time
import traceback
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response, StreamingResponse

from dia_engine import GenerationOutOfMemory

from .audio_formats import FORMATS, OPENAI_PCM_SAMPLE_RATE, EncodedAudio, available_formats, encode_audio
from .errors import ApiError, error_response, install_error_handlers
from .scheduler import BatchScheduler, JobCancelled, QueueFull, RequestRejected, SpeechOutcome, VoiceUnavailable
from .schemas import GenerateBody, SamplingFields, SpeechBody
from .speech_text import dialogue_text
from .streaming import MEDIA_TYPES as STREAM_MEDIA_TYPES
from .streaming import STREAM_FORMATS, ChunkStream, stream_body
from .tempo import change_tempo
from .voices import PAIR_SEPARATOR, RANDOM_VOICE, UnknownVoice, VoiceLibrary

# Names OpenAI clients send; a tool configured for OpenAI works unchanged (they all mean the loaded model).
OPENAI_MODEL_ALIASES = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")
OPEN_PATHS = frozenset({"/health", "/docs", "/redoc", "/openapi.json", "/docs/oauth2-redirect"})
CLIENT_CLOSED_REQUEST = 499  # nginx's status for a request whose client went away; nobody receives it


def create_app(engine, voices: VoiceLibrary | None = None, *, api_key: str | None = None, debug: bool = False,
               max_batch_size: int = 16, batch_window: float = 0.05) -> FastAPI:
    """A speech server on `engine` (which needs its codec) offering the voices of `voices`."""
    if not engine.has_codec:
        raise ValueError("the server needs the audio codec to return audio; load the engine with a codec")
    voices = voices if voices is not None else VoiceLibrary()
    scheduler = BatchScheduler(engine, voices, max_batch_size=max_batch_size, batch_window=batch_window)
    formats = available_formats()
    speech_default_format = "mp3" if formats["mp3"] is None else "wav"
    info = engine.info
    model_names = list(dict.fromkeys([engine.model_id, "dia", *OPENAI_MODEL_ALIASES]))
    started = time.time()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        scheduler.start()
        try:
            yield
        finally:
            await run_in_threadpool(scheduler.stop)

    app = FastAPI(title="Dia Studio speech server", version="1", lifespan=lifespan,
                  description=f"{info.family_name} text-to-dialogue ({engine.model_id}) with the voices of a Dia "
                              "Studio project or folder.")
    app.state.scheduler = scheduler
    app.state.voices = voices
    install_error_handlers(app, debug=debug, body_fields={"/generate": list(GenerateBody.model_fields),
                                                          "/v1/audio/speech": list(SpeechBody.model_fields)})
    if api_key:
        app.add_middleware(BearerAuth, api_key=api_key)

    # --- shared request path ------------------------------------------------------------------------

    def check_format(fmt: str, field: str) -> str:
        fmt = fmt.lower()
        if fmt not in FORMATS:
            hint = " (soundfile cannot write AAC)" if fmt == "aac" else ""
            raise ApiError(400, f"{field}: {fmt!r} is not supported{hint}; choose one of {', '.join(FORMATS)}",
                           param=field, code="unsupported_format")
        if formats[fmt] is not None:
            raise ApiError(400, f"{field}: {formats[fmt]}", param=field, code="unsupported_format")
        return fmt

    async def speak(request: Request, fields: SamplingFields, *, text: str, text_field: str,
                    voice_id: str | None, voice_field: str, fmt: str, pcm_rate: int | None,
                    stream: bool = False, sse: bool = False) -> Response:
        if stream:
            check_streamable(fields, fmt)
        model_text = dialogue_text(text)
        if not model_text:
            raise ApiError(400, f"{text_field}: nothing to speak (the text is empty or holds only speaker tags)",
                           param=text_field, code="empty_input")
        if voice_id == RANDOM_VOICE:
            voice_id = None
        transcript = ""
        if voice_id is not None and voice_id.count(PAIR_SEPARATOR) > 1:
            raise ApiError(400, f"{voice_field}: {voice_id!r} joins more than two voices; Dia has two speakers "
                                f"(e.g. alice{PAIR_SEPARATOR}bob)", param=voice_field, code="voice_not_found")
        if voice_id is not None:
            try:
                transcript = voices.transcript(voice_id)
            except UnknownVoice as exc:
                known = ", ".join([*voices.ids, RANDOM_VOICE])
                pair = f" in {voice_id!r}" if exc.voice_id != voice_id else ""
                raise ApiError(400, f"{voice_field}: unknown voice {exc.voice_id!r}{pair}; this server has: {known} "
                                    f"(see GET /voices)", param=voice_field, code="voice_not_found") from None
        # The model reads the voice transcript, a space, then the text: all of it must fit its text length.
        length = info.measure_text(f"{transcript} {model_text}" if transcript else model_text)
        if length > info.text_limit:
            unit = info.text_unit
            with_voice = (f" including the voice transcript ({info.measure_text(transcript + ' ')} {unit})"
                          if transcript else "")
            raise ApiError(400, f"{text_field}: too long: the model text is {length} {unit}{with_voice}, the model "
                                f"reads at most {info.text_limit}; split it into several requests",
                           param=text_field, code="input_too_long")
        try:
            sampling = fields.sampling()
        except ValueError as exc:  # the engine's own checks, should a value pass the schema's ranges
            raise ApiError(400, str(exc), code="invalid_value") from None
        foreign = [name for name in sampling.FIELDS if getattr(sampling, name) is not None
                   and name not in info.sampling_fields]
        if foreign:
            raise ApiError(400, f"{foreign[0]}: {info.family_name} ({engine.model_id}) has no sampling parameter "
                                f"{', '.join(foreign)}; it reads {', '.join(info.sampling_fields)}",
                           param=foreign[0], code="unsupported_parameter")
        if stream:
            return await speak_streamed(request, fields, model_text, text_field, voice_id, sampling, fmt,
                                        pcm_rate, sse)
        job = submit(model_text, voice_id=voice_id, seed=fields.seed, sampling=sampling)
        outcome = await wait_for_outcome(request, job, text_field, debug=debug)
        if outcome is None:
            return Response(status_code=CLIENT_CLOSED_REQUEST)
        result = outcome.result
        encoded: EncodedAudio = await run_in_threadpool(render, result.audio, result.sample_rate, fields.speed,
                                                        fmt, pcm_rate)
        seconds = len(result.audio) / result.sample_rate / fields.speed
        headers = {
            "X-Seed": str(result.seed),
            "X-Sample-Rate": str(encoded.sample_rate),
            "X-Audio-Seconds": f"{seconds:.3f}",
            "X-Batch-Id": str(outcome.batch_id),
            "X-Batch-Size": str(outcome.batch_size),
            "Content-Disposition": f'inline; filename="speech.{fmt}"',
        }
        return Response(encoded.data, media_type=encoded.media_type, headers=headers)

    def check_streamable(fields: SamplingFields, fmt: str) -> None:
        if not scheduler.can_stream:
            raise ApiError(400, "stream: the loaded model cannot stream audio yet; ask for the whole file",
                           param="stream", code="unsupported_parameter")
        if fmt not in STREAM_FORMATS:
            raise ApiError(400, f"response_format: {fmt!r} cannot be streamed; stream pcm or wav",
                           param="response_format", code="unsupported_format")
        if fields.speed != 1.0:
            raise ApiError(400, "speed: a streamed response plays at speed 1 (a tempo change needs the whole take)",
                           param="speed", code="unsupported_parameter")

    def submit(model_text: str, **kwargs):
        try:
            return scheduler.submit(model_text, **kwargs)
        except QueueFull as exc:
            raise ApiError(503, f"the server is busy: {exc}; retry shortly", code="busy",
                           headers={"Retry-After": "5"}) from None
        except JobCancelled as exc:
            raise ApiError(503, str(exc), code="shutting_down") from None

    async def speak_streamed(request: Request, fields: SamplingFields, model_text: str, text_field: str,
                             voice_id: str | None, sampling, fmt: str, pcm_rate: int | None, sse: bool) -> Response:
        """Answer once the first chunk is there (errors before it get their usual status), then stream."""
        seed = fields.seed if fields.seed is not None else secrets.randbelow(2**31)  # known before the audio
        out_rate = pcm_rate if fmt == "pcm" and pcm_rate else engine.sample_rate
        chunks = ChunkStream(engine.sample_rate, out_rate, fmt, sse=sse)
        job = submit(model_text, voice_id=voice_id, seed=seed, sampling=sampling, on_chunk=chunks.push)
        job.future.add_done_callback(chunks.close)
        gone = asyncio.ensure_future(client_disconnected(request))
        try:
            first = await chunks.next_chunk(gone)
        except asyncio.CancelledError:
            gone.cancel()
            job.withdraw()
            raise ApiError(503, "the server is shutting down", code="shutting_down") from None
        if first is False:
            job.withdraw()
            return Response(status_code=CLIENT_CLOSED_REQUEST)
        if first is None:  # the job ended before any audio: an error, or an empty take
            try:
                await outcome_of(asyncio.wrap_future(job.future), text_field, debug=debug)
            except ApiError:
                gone.cancel()
                raise

        def finished(completed: bool) -> None:
            if not completed:
                job.withdraw()  # the client left: the engine drops the line and frees its slot

        def done_event() -> dict:
            frames = len(job.future.result().result.codes) if job.future.done() and not job.future.exception() else 0
            size = info.measure_text(model_text)
            return {"type": "speech.audio.done",
                    "usage": {"input_tokens": size, "output_tokens": frames, "total_tokens": size + frames}}

        batch_id, batch_size = job.batch or (0, 0)
        headers = {"X-Seed": str(seed), "X-Sample-Rate": str(out_rate), "X-Batch-Id": str(batch_id),
                   "X-Batch-Size": str(batch_size), "Cache-Control": "no-cache"}
        if not sse:
            headers["Content-Disposition"] = f'inline; filename="speech.{fmt}"'
        return StreamingResponse(stream_body(chunks, first, gone, finished, done_event),
                                 media_type=STREAM_MEDIA_TYPES["sse" if sse else fmt], headers=headers)

    # --- endpoints ----------------------------------------------------------------------------------

    @app.post("/generate", summary="Generate dialogue audio",
              response_class=Response, responses={200: {"content": {"audio/wav": {}}}})
    async def generate(body: GenerateBody, request: Request) -> Response:
        fmt = check_format(body.response_format, "response_format")
        return await speak(request, body, text=body.text, text_field="text", voice_id=body.voice_id,
                           voice_field="voice_id", fmt=fmt, pcm_rate=None, stream=body.stream)

    @app.post("/v1/audio/speech", summary="OpenAI-compatible speech",
              response_class=Response, responses={200: {"content": {"audio/mpeg": {}}}})
    async def speech(body: SpeechBody, request: Request) -> Response:
        if body.model not in model_names:
            raise ApiError(400, f"model: unknown model {body.model!r}; this server has: {', '.join(model_names)}",
                           param="model", code="model_not_found")
        if body.instructions and body.instructions.strip():
            raise ApiError(400, "instructions: not supported: Dia takes no style instructions; write non-verbal "
                                "cues such as (laughs) into the input instead", param="instructions",
                           code="unsupported_parameter")
        if body.stream_format not in (None, "audio", "sse"):
            raise ApiError(400, f"stream_format: {body.stream_format!r} is not supported; use 'audio' (raw "
                                "audio, streamed with stream: true) or 'sse' (speech.audio.delta events)",
                           param="stream_format", code="unsupported_parameter")
        sse = body.stream_format == "sse"
        fmt = check_format(body.response_format or ("pcm" if sse else speech_default_format), "response_format")
        return await speak(request, body, text=body.input, text_field="input", voice_id=body.voice_id,
                           voice_field="voice", fmt=fmt, pcm_rate=OPENAI_PCM_SAMPLE_RATE,
                           stream=body.stream or sse, sse=sse)

    @app.get("/v1/models", summary="Models (OpenAI-compatible)")
    async def list_models() -> dict:
        return {"object": "list", "data": [model_entry(name) for name in model_names]}

    @app.get("/v1/models/{model_id:path}", summary="One model (OpenAI-compatible)")
    async def get_model(model_id: str) -> dict:
        if model_id not in model_names:
            raise ApiError(404, f"unknown model {model_id!r}; this server has: {', '.join(model_names)}",
                           param="model", code="model_not_found")
        return model_entry(model_id)

    def model_entry(name: str) -> dict:
        """OpenAI's model object; every name means the loaded model, described in `dia` (our extension)."""
        return {"id": name, "object": "model", "created": int(started), "owned_by": "dia-studio",
                "root": engine.model_id, "dia": model_facts()}

    def model_facts() -> dict:
        return {"family": info.family, "family_name": info.family_name, "variant": info.variant,
                "sample_rate": info.sample_rate, "frames_per_second": info.frames_per_second,
                "max_seconds": round(info.max_seconds, 2), "text_limit": info.text_limit,
                "text_unit": info.text_unit, "word_timestamps": info.word_timestamps,
                "sampling": {name: getattr(info.default_sampling, name) for name in info.sampling_fields}}

    @app.get("/voices", summary="Voices with their transcripts")
    async def list_voices() -> dict:
        entries = [voice.describe() for voice in voices]
        entries.append({"id": RANDOM_VOICE, "name": "Random voice (changes with the seed)", "transcript": None,
                        "clip": None})
        return {"voices": entries,
                "pairs": f"join two ids with '{PAIR_SEPARATOR}' (e.g. first{PAIR_SEPARATOR}second) for a dialogue: "
                         "[S1] speaks with the first voice, [S2] with the second"}

    @app.get("/health", summary="Liveness and load; answers while a batch is generating")
    async def health() -> dict:
        return {
            "status": "ok",
            "model": engine.model_id,
            "device": engine.device,
            "dtype": engine.dtype,
            "sample_rate": info.sample_rate,
            "text_limit": info.text_limit,
            "text_unit": info.text_unit,
            "voices": len(voices),
            "formats": {name: reason is None for name, reason in formats.items()},
            "uptime_seconds": round(time.time() - started, 3),
            "scheduler": scheduler.stats(),
        }

    @app.get("/", include_in_schema=False)
    async def index() -> dict:
        return {"name": "Dia Studio speech server", "docs": "/docs",
                "endpoints": ["POST /generate", "POST /v1/audio/speech", "GET /v1/models", "GET /voices",
                              "GET /health"]}

    return app


def render(audio, sample_rate: int, speed: float, fmt: str, pcm_rate: int | None) -> EncodedAudio:
    """Tempo change (pitch kept) then encoding; runs in a worker thread, off the event loop."""
    if speed != 1.0:
        audio = change_tempo(audio, sample_rate, speed)
    return encode_audio(audio, sample_rate, fmt, pcm_sample_rate=pcm_rate)


async def wait_for_outcome(request: Request, job, text_field: str, *, debug: bool = False) -> SpeechOutcome | None:
    """The job's outcome; None if the client disconnected first (the job is then withdrawn)."""
    outcome = asyncio.wrap_future(job.future)
    gone = asyncio.ensure_future(client_disconnected(request))
    try:
        await asyncio.wait({outcome, gone}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        # uvicorn cancels requests still open when its graceful shutdown time is up: stop the generation
        # and tell the client why, instead of a bare 500.
        job.withdraw()
        outcome.add_done_callback(_ignore_outcome)
        raise ApiError(503, "the server is shutting down", code="shutting_down") from None
    finally:
        gone.cancel()
    if not outcome.done():
        job.withdraw()
        outcome.add_done_callback(_ignore_outcome)
        return None
    return await outcome_of(outcome, text_field, debug=debug)


async def outcome_of(outcome: asyncio.Future, text_field: str, *, debug: bool = False) -> SpeechOutcome:
    """The finished job's outcome, or the ApiError that tells the client why it failed."""
    try:
        return await outcome
    except (JobCancelled, asyncio.CancelledError) as exc:
        raise ApiError(503, f"the request was cancelled: {exc or 'the server is shutting down'}",
                       code="cancelled") from None
    except RequestRejected as exc:
        field = exc.field or text_field
        message = str(exc) if str(exc).startswith(field) else f"{field}: {exc}"
        raise ApiError(400, message, param=field, code="invalid_value") from None
    except VoiceUnavailable as exc:
        raise ApiError(500, str(exc), code="voice_unavailable") from None
    except GenerationOutOfMemory as exc:
        raise ApiError(503, f"generation ran out of memory: {exc}", code="out_of_memory") from None
    except Exception as exc:
        message = f"generation failed: {type(exc).__name__}: {exc}"
        if debug:
            message += "\n" + "".join(traceback.format_exception(exc))
        raise ApiError(500, message, code="generation_failed") from None


def _ignore_outcome(future: asyncio.Future) -> None:
    """Retrieve the outcome nobody waits for any more (asyncio would log it as never retrieved)."""
    if not future.cancelled():
        future.exception()


async def client_disconnected(request: Request) -> None:
    """Returns once the client has closed the connection (the body was already read by FastAPI)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


class BearerAuth:
    """Requires `Authorization: Bearer <api key>` on every path but the health check and the API docs."""

    def __init__(self, app, api_key: str) -> None:
        self.app = app
        self._key = api_key.encode()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        header = dict(scope["headers"]).get(b"authorization", b"")
        scheme, _, token = header.partition(b" ")
        if scheme.lower() == b"bearer" and hmac.compare_digest(token.strip(), self._key):
            await self.app(scope, receive, send)
            return
        message = ("wrong API key" if header else "this server needs an API key") + \
            ": send the header 'Authorization: Bearer <key>' (the --api-key the server was started with)"
        response = error_response(401, message, kind="authentication_error", code="invalid_api_key",
                                  headers={"WWW-Authenticate": "Bearer"})
        await response(scope, receive, send)
