"""Bounds on what a caller can make the server hold: the request body size, echoed input values.

:class:`BodySizeLimitMiddleware` answers ``413`` to a body larger than ``[api] max_body_size``
(1 MiB by default) on every route, before anything parses it: at once from ``Content-Length``,
and, for a body sent without one (chunked), as soon as the bytes received pass the limit.

:func:`truncate_inputs` shortens the ``input`` values of validation errors (pydantic's errors
carry the offending value whole) so that an error answer never echoes a submitted value in full.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["DEFAULT_MAX_BODY_SIZE", "MAX_ECHO", "BodySizeLimitMiddleware", "truncate_inputs"]

#: Bytes a request body may hold by default (``[api] max_body_size``).
DEFAULT_MAX_BODY_SIZE = 1024 * 1024
#: Characters of a submitted value an error answer may repeat.
MAX_ECHO = 64


def _too_large(limit: int) -> str:
    return (
        f"request body larger than {limit} bytes; send less or raise [api] max_body_size "
        "on the server"
    )


class BodySizeLimitMiddleware:
    """Refuses request bodies larger than ``max_bytes`` with ``413`` (see the module docs).

    Example:
        >>> app = BodySizeLimitMiddleware(inner_app, max_bytes=1024)  # doctest: +SKIP
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int = DEFAULT_MAX_BODY_SIZE) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        length = _content_length(scope)
        if length is None or length > limit:
            # Declared too large, or a Content-Length that is not a number: answered before a
            # byte of the body is read.
            message = _too_large(limit) if length is not None else "invalid Content-Length"
            await _answer(send, 413 if length is not None else 400, message)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # A body sent without Content-Length (or longer than it said): the route
                    # reading it gets this HTTPException, which the error handlers answer.
                    raise HTTPException(413, _too_large(limit))
            return message

        await self.app(scope, counting_receive, send)


def _content_length(scope: Scope) -> int | None:
    """The declared body length, ``0`` when none is declared, ``None`` when it is garbage."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            if not text.isdigit() or len(text) > 18:
                return None
            return int(text)
    return 0


async def _answer(send: Send, status: int, message: str) -> None:
    kind = "too_large" if status == 413 else "invalid"
    body = json.dumps({"error": {"type": kind, "message": message, "errors": [], "details": {}}})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                # The unread body stays on the connection: do not reuse it.
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})


def _short(value: Any) -> Any:
    """``value`` if it is short, else a prefix of its text (and what it was)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value if len(value) <= MAX_ECHO else value[:MAX_ECHO] + f"... ({len(value)} chars)"
    if isinstance(value, Mapping):
        text = f"object with {len(value)} keys"
    elif isinstance(value, Sequence | set | frozenset) and not isinstance(value, bytes):
        text = f"array of {len(value)} items"
    else:
        text = type(value).__name__
    return f"<{text}>"


def truncate_inputs(errors: Sequence[Any]) -> list[Any]:
    """Validation errors with each ``input`` (and ``ctx`` value) shortened to a prefix.

    Example:
        >>> truncate_inputs([{"loc": ["a"], "input": "x" * 100}])[0]["input"][-12:]
        ' (100 chars)'
    """
    out: list[Any] = []
    for error in errors:
        if not isinstance(error, Mapping):
            out.append(_short(error))
            continue
        item = dict(error)
        if "input" in item:
            item["input"] = _short(item["input"])
        ctx = item.get("ctx")
        if isinstance(ctx, Mapping):
            item["ctx"] = {k: _short(v) for k, v in ctx.items()}
        out.append(item)
    return out
