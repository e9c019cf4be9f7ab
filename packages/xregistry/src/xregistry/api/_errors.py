"""How failures become HTTP answers: one JSON shape, a status per error class, no stack trace.

``XError`` subclasses map to statuses with their (already redacted) messages; anything else is a
500 carrying only an opaque id, and its details go to the log, redacted.
"""

from __future__ import annotations

import logging
import traceback
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from xobj_prototype import (
    XConfigurationError,
    XConflictError,
    XError,
    XNotFoundError,
    XValidationError,
    redact,
    redact_text,
)
from xregistry.api._limits import truncate_inputs
from xregistry.errors import FunctionExecutionError, FunctionTimeoutError

__all__ = [
    "ERROR_RESPONSES",
    "ApiError",
    "ErrorBody",
    "ErrorResponse",
    "install_error_handlers",
    "status_of",
]

logger = logging.getLogger("xregistry.api")


class ErrorBody(BaseModel):
    """What went wrong, safe to show: no stack trace, no secret, no echoed input value."""

    type: str = Field(description="Machine-readable kind: not_found, forbidden, invalid...")
    message: str
    errors: list[dict[str, Any]] = Field(default_factory=list)
    details: dict[str, Any] = Field(default_factory=dict)
    id: str | None = Field(default=None, description="Quote it to the operator (500 only).")


class ErrorResponse(BaseModel):
    """The body of every error answer."""

    error: ErrorBody


#: ``responses=`` for routes: every error status a route may answer, with its schema.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in (
        (401, "No or an unknown bearer token"),
        (403, "The principal's roles do not allow it"),
        (404, "Unknown name"),
        (409, "Conflicts with the current state"),
        (413, "The request body is larger than [api] max_body_size"),
        (422, "Invalid input"),
        (500, "Internal error (opaque id)"),
        (503, "A data source is unreachable"),
        (504, "A function or data source timed out"),
    )
}


class ApiError(Exception):
    """An error raised by the HTTP layer itself, with its status and kind."""

    def __init__(
        self,
        status: int,
        kind: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.headers = headers
        self.details = details or {}


#: Error classes in the order they are tried (a subclass before its base) with status and kind.
_STATUSES: tuple[tuple[type[BaseException], int, str], ...] = (
    (FunctionTimeoutError, 504, "timeout"),
    (FunctionExecutionError, 500, "function_failed"),
    (PermissionError, 403, "forbidden"),
    (XNotFoundError, 404, "not_found"),
    (XValidationError, 422, "invalid"),
    (XConflictError, 409, "conflict"),
    (TimeoutError, 504, "timeout"),
    (ConnectionError, 503, "unavailable"),
    (XConfigurationError, 500, "configuration"),
)


def status_of(exc: BaseException) -> tuple[int, str]:
    """The HTTP status and kind of an error (500/``internal_error`` when unknown)."""
    for cls, status, kind in _STATUSES:
        if isinstance(exc, cls):
            return status, kind
    # A repository's query error (xrepo's XRepoQueryError and its subclasses, such as a $regex
    # past its time bound) is the caller's query: by name, as xregistry does not import xrepo.
    if isinstance(exc, XError) and any(
        c.__name__.endswith("QueryError") for c in type(exc).__mro__
    ):
        return 422, "invalid"
    return 500, "internal_error"


def _body(
    kind: str,
    message: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    details: dict[str, Any] | None = None,
    error_id: str | None = None,
) -> dict[str, Any]:
    return {
        "error": {
            "type": kind,
            "message": message,
            "errors": errors or [],
            "details": details or {},
            "id": error_id,
        }
    }


def _opaque(exc: BaseException, request_line: str) -> JSONResponse:
    error_id = uuid.uuid4().hex
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    logger.error("error %s in %s: %s", error_id, request_line, redact_text(text))
    return JSONResponse(
        _body("internal_error", "internal error; quote the id to the operator", error_id=error_id),
        status_code=500,
    )


def _line(request: Request) -> str:
    return f"{request.method} {request.url.path}"


async def _x_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, XError)
    status, kind = status_of(exc)
    if kind == "internal_error" or kind == "configuration":
        return _opaque(exc, _line(request))
    if kind == "function_failed":
        # The function's own message may hold anything; only its error type is shown.
        error_id = uuid.uuid4().hex
        logger.warning("error %s in %s: %s", error_id, _line(request), redact_text(exc.message))
        function = str(exc.details.get("function", "the function"))
        error_type = str(exc.details.get("error_type", "an error"))
        return JSONResponse(
            _body(
                kind,
                f"{function} raised {error_type}; quote the id to the operator",
                details={"function": function, "error_type": error_type},
                error_id=error_id,
            ),
            status_code=status,
        )
    # Submitted values are never echoed whole: inputs shortened to a prefix.
    errors = truncate_inputs(list(getattr(exc, "errors", []) or []))
    return JSONResponse(
        _body(kind, exc.message, errors=redact(errors), details=_safe_details(exc.details)),
        status_code=status,
    )


def _safe_details(details: dict[str, Any]) -> dict[str, Any]:
    """Details that are plain names and numbers (already redacted by XError)."""
    return {
        k: v
        for k, v in details.items()
        if v is None or isinstance(v, str | int | float | bool | list)
    }


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(
        _body(exc.kind, exc.message, details=exc.details),
        status_code=exc.status,
        headers=exc.headers,
    )


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": ".".join(str(p) for p in err.get("loc", ())) or "(root)",
            "msg": str(err.get("msg", "invalid")),
            "type": str(err.get("type", "value_error")),
        }
        for err in exc.errors()
    ]
    listed = "; ".join(f"{e['loc']}: {e['msg']}" for e in errors[:5])
    return JSONResponse(
        _body("invalid", redact_text(f"invalid request: {listed}"), errors=redact(errors)),
        status_code=422,
    )


_KINDS = {
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
}


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    kind = _KINDS.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else "request refused"
    if exc.status_code == 404 and message == "Not Found":
        message = f"no endpoint at {request.url.path}; see /openapi.json"
    return JSONResponse(
        _body(kind, redact_text(message)),
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


class CatchAllMiddleware:
    """Turns any exception that escaped the handlers into an opaque 500 (and a redacted log
    line), instead of Starlette's default, which re-raises and logs the raw traceback."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if started:  # too late for an error answer: the connection is simply cut
                logger.error(
                    "error after the response started in %s %s: %s",
                    scope.get("method"),
                    scope.get("path"),
                    redact_text(f"{type(exc).__name__}: {exc}"),
                )
                return
            response = _opaque(exc, f"{scope.get('method')} {scope.get('path')}")
            await response(scope, receive, send)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers and the catch-all middleware on ``app``."""
    app.add_exception_handler(XError, _x_error)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_middleware(CatchAllMiddleware)
