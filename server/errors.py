"""Error responses: JSON in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`.

OpenAI's clients read `error.message`, so users of those clients see our messages unchanged. Request
validation problems become 400 responses naming the field (`param`); generation failures become 5xx.
"""

from __future__ import annotations

import logging
import traceback

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("dia_studio.server")


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None,
                 kind: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.param = param
        self.code = code
        self.kind = kind or ("invalid_request_error" if status < 500 else "server_error")
        self.headers = headers

    def response(self) -> JSONResponse:
        return error_response(self.status, self.message, param=self.param, code=self.code, kind=self.kind,
                              headers=self.headers)


def error_response(status: int, message: str, *, param: str | None = None, code: str | None = None,
                   kind: str = "invalid_request_error", headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def _field_name(loc: tuple) -> str | None:
    """("body", "voice", "id") -> "voice.id"; None for the body as a whole."""
    parts = [str(p) for p in loc[1:]] if loc and loc[0] == "body" else [str(p) for p in loc]
    return ".".join(parts) or None


def validation_message(errors: list[dict], known_fields: list[str] | None = None) -> tuple[str, str | None]:
    """One readable message for pydantic's errors, and the first offending field."""
    messages: list[str] = []
    first_field: str | None = None
    for error in errors:
        kind = error.get("type", "")
        field = _field_name(tuple(error.get("loc", ())))
        if kind == "json_invalid":
            detail = error.get("ctx", {}).get("error", "")
            messages.append(f"the request body is not valid JSON ({detail})" if detail else
                            "the request body is not valid JSON")
            field = None
        elif field is None or kind in ("model_attributes_type", "dict_type"):
            messages.append("the request body must be a JSON object (send Content-Type: application/json)")
            field = None
        elif kind == "missing":
            messages.append(f"{field}: required")
        elif kind == "extra_forbidden":
            accepted = f" (accepted: {', '.join(known_fields)})" if known_fields and "." not in field else ""
            messages.append(f"{field}: unknown field{accepted}")
        else:
            messages.append(f"{field}: {error.get('msg', 'invalid value')}")
        if first_field is None:
            first_field = field
    return "; ".join(messages) or "invalid request", first_field


def install_error_handlers(app: FastAPI, *, debug: bool = False,
                           body_fields: dict[str, list[str]] | None = None) -> None:
    """JSON errors for everything; `body_fields` (path -> accepted fields) makes typo messages list them."""
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, field = validation_message(list(exc.errors()), (body_fields or {}).get(request.url.path))
        return error_response(400, message, param=field, code="invalid_value")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        messages = {404: f"no such endpoint: {request.method} {request.url.path}",
                    405: f"{request.method} is not allowed on {request.url.path}"}
        message = messages.get(exc.status_code, str(exc.detail))
        return error_response(exc.status_code, message, kind="invalid_request_error" if exc.status_code < 500
                              else "server_error", headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        message = f"internal error: {type(exc).__name__}: {exc}"
        if debug:
            message += "\n" + "".join(traceback.format_exception(exc))
        return error_response(500, message, kind="server_error")
