"""ASGI middleware that wraps the whole app: body size limit, last-resort error handler."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from idsvc.web.security import response_headers

log = logging.getLogger("idsvc")


INTERNAL_ERROR = (500, "internal_error", "Something went wrong on our side; nothing was saved.")


async def send_json_error(send: Send, status: int, code: str, message: str, *,
                          hsts: bool, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    """An error answer in the API's shape, from layers that answer ahead of the app (so
    they add the security headers themselves), with any other `headers` given."""
    body = json.dumps({"error": code, "message": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            *response_headers(hsts=hsts), *headers]})
    await send({"type": "http.response.body", "body": body})


def log_unexpected(exc: BaseException) -> None:
    """Log an unhandled exception by type and place only: its text may quote personal data."""
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    log.error("unexpected %s at %s:%s", type(exc).__name__,
              where.filename if where else "?", where.lineno if where else "?")


class _TooLarge(Exception):
    pass


class BodySizeLimit:
    """Refuse request bodies over `max_bytes` before anything parses or spools them to disk."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, hsts: bool = False) -> None:
        self.app, self.max_bytes, self.hsts = app, max_bytes, hsts

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
        await send_json_error(send, 413, "too_large",
                              f"Requests may be at most {self.max_bytes // 1_048_576} MB.",
                              hsts=self.hsts)


class LastResortErrors:
    """Turn any exception that escaped the app into a JSON 500, and never re-raise it.

    Starlette re-raises after its own 500 handler, and the server then logs the
    exception text, which may quote personal data from the request. Here only the
    exception type and the place it was raised are logged.
    """

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app, self.hsts = app, hsts

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
            log_unexpected(exc)
            if not started:
                await send_json_error(send, *INTERNAL_ERROR, hsts=self.hsts)
