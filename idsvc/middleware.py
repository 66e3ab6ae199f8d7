"""ASGI middleware that wraps the whole app: body size limit, last-resort error handler."""

from __future__ import annotations

import json
import logging
import traceback
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from idsvc.web.security import response_headers

log = logging.getLogger("idsvc")


def _json(status: int, code: str, message: str) -> tuple[dict[str, Any], bytes]:
    body = json.dumps({"error": code, "message": message}).encode()
    start = {"type": "http.response.start", "status": status,
             "headers": [(b"content-type", b"application/json"),
                         (b"content-length", str(len(body)).encode()),
                         # These answer ahead of SecurityHeaders (HSTS comes from others).
                         *response_headers(hsts=False)]}
    return start, body


class _TooLarge(Exception):
    pass


class BodySizeLimit:
    """Refuse request bodies over `max_bytes` before anything parses or spools them to disk."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((value for name, value in scope["headers"] if name == b"content-length"),
                        None)
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        start, body = _json(413, "too_large",
                            f"Requests may be at most {self.max_bytes // 1_048_576} MB.")
        await send(start)
        await send({"type": "http.response.body", "body": body})


class LastResortErrors:
    """Turn any exception that escaped the app into a JSON 500, and never re-raise it.

    Starlette re-raises after its own 500 handler, and the server then logs the
    exception text, which may quote personal data from the request. Here only the
    exception type and the place it was raised are logged.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as exc:
            where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
            log.error("unexpected %s at %s:%s", type(exc).__name__,
                      where.filename if where else "?", where.lineno if where else "?")
            if not started:
                start, body = _json(500, "internal_error",
                                    "Something went wrong on our side; nothing was saved.")
                await send(start)
                await send({"type": "http.response.body", "body": body})
