"""Serve POST /api/v1/verify ahead of the framework's middleware, routing and dependencies.

The route is declared on the FastAPI router (so it is documented in OpenAPI and has one
implementation); this ASGI layer calls that same endpoint directly. On the partners' hot
path the framework's per-request work costs about as much as the signature check, and
the design's throughput goal (DESIGN §8) leaves no room for it. Errors are rendered by
the app's own exception handlers, so answers are identical either way.

`ServiceApp` puts this layer outermost, so it also does for its path, as cheaply as it
can, what the wrapping layers do for the others: the request id and metrics (the request
observer's own `begin` and `end`, with no layer of its own), the per-address request
budget (one bucket lookup and a subtraction), a body size limit, the last-resort 500, and
the security headers (a precomputed list appended to the answer). It reads the body
straight from `receive` and sends the two ASGI messages itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import FastAPI
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from idsvc.abuse import AddressLimits, client_address
from idsvc.middleware import INTERNAL_ERROR, log_unexpected, send_json_error
from idsvc.observability.middleware import CLIENT_CLOSED, RequestObserver
from idsvc.observability.requestids import HEADER

Endpoint = Callable[[Request], Awaitable[Response]]
MAX_BODY_BYTES = 64 * 1024  # a QR holds under 3 KB; anything near this is not a card


class BodyTooLarge(Exception):
    """The request body passed `MAX_BODY_BYTES`."""


class FastPath:
    """Answer one exact POST path with `endpoint`; pass everything else through."""

    def __init__(self, app: ASGIApp, *, path: str, endpoint: Endpoint,
                 headers: Sequence[tuple[bytes, bytes]] = (),
                 limits: AddressLimits | None = None, hsts: bool = False,
                 observer: RequestObserver | None = None) -> None:
        self.app, self.path, self.endpoint = app, path, endpoint
        self.headers, self.limits, self.hsts = list(headers), limits, hsts
        self.observer = observer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        if self.observer is None:
            await self.answer(scope, receive, send, [])
            return
        watched = self.observer.begin(scope)
        status = 500
        try:
            status = await self.answer(scope, receive, send, [(HEADER, watched[0])])
        finally:
            self.observer.end(watched, "POST", self.path, status)

    async def answer(self, scope: Scope, receive: Receive, send: Send,
                     extra: list[tuple[bytes, bytes]]) -> int:
        """Answer the request, with the `extra` headers (the request id); the status."""
        request = Request(scope, receive)
        try:
            refusal = self.limits.request_refusal(client_address(scope)) if self.limits else None
            if refusal is not None:
                raise refusal
            request._body = await read_body(receive)  # what Request.body() would cache
            response = await self.endpoint(request)
        except ClientDisconnect:  # the partner hung up: nobody to answer
            return CLIENT_CLOSED
        except BodyTooLarge:
            await send_json_error(send, 413, "too_large", f"Requests to {self.path} may be "
                                  f"at most {MAX_BODY_BYTES // 1024} KB.", hsts=self.hsts,
                                  headers=extra)
            return 413
        except Exception as exc:
            handler = handler_for(request, exc)
            if handler is None:
                log_unexpected(exc)
                await send_json_error(send, *INTERNAL_ERROR, hsts=self.hsts,
                                      headers=extra)
                return INTERNAL_ERROR[0]
            response = await handler(request, exc)
        await send({"type": "http.response.start", "status": response.status_code,
                    "headers": response.raw_headers + self.headers + extra})
        await send({"type": "http.response.body", "body": response.body})
        return response.status_code


async def read_body(receive: Receive) -> bytes:
    """The whole request body, refusing more than `MAX_BODY_BYTES`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def handler_for(request: Request, exc: Exception) -> Callable[..., Awaitable[Response]] | None:
    """The app's registered handler for this exception, most specific class first."""
    handlers = request.app.exception_handlers
    for cls in type(exc).__mro__:
        if cls in handlers:
            return handlers[cls]
    return None


# FastAPI's own OpenTelemetry hooks, off: idsvc counts and logs requests itself
# (idsvc/observability), by route template and with no personal data, while these would
# export spans and logs carrying request paths (card numbers) to wherever the process's
# OpenTelemetry setup points. Off, they also stop costing every request a provider check.
NO_NATIVE_TELEMETRY = {"tracing": False, "metrics": False, "logs": False}


class ServiceApp(FastAPI):
    """FastAPI with an optional fast path wrapped around its whole middleware stack, and
    without FastAPI's native telemetry (`NO_NATIVE_TELEMETRY`)."""

    fast_path: Callable[[ASGIApp], ASGIApp] | None = None

    def __init__(self, **options: Any) -> None:
        super().__init__(telemetry=NO_NATIVE_TELEMETRY, **options)

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        return self.fast_path(stack) if self.fast_path else stack
