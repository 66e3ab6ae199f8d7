"""The request observer: request id, latency and status of every request.

It is the outermost layer of the app's own stack, and the verify fast path (which runs
ahead of that stack) calls its `begin` and `end` itself, so every answer carries
`X-Request-ID` and is counted, whichever layer wrote it. Per request it does a header
scan, a counter, a context variable, two clock reads and one metrics update. The cost on
the fast path is measured by tests/observability/overhead.py (README, Operations).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from contextvars import Token
from time import perf_counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from idsvc.observability.context import CURRENT
from idsvc.observability.logs import ACCESS
from idsvc.observability.metrics import Metrics
from idsvc.observability.requestids import HEADER, RequestIds
from idsvc.observability.routes import RouteTemplates
from idsvc.observability.workers import Flusher

CLIENT_CLOSED = 499  # nothing was answered: the client went away (nginx's convention)

Watched = tuple[bytes, Token, float]  # request id, context token, start time


class RequestObserver:
    """Id, metrics and access line for each HTTP request; starts and stops the metrics
    flusher with the app's lifespan."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, ids: RequestIds,
                 templates: RouteTemplates, flusher: Flusher | None = None) -> None:
        self.app, self.metrics, self.ids, self.flusher = app, metrics, ids, flusher
        self.templates = templates

    def begin(self, scope: Scope) -> Watched:
        """The request's id, made current for its log lines, and its start time."""
        request_id = self.ids.for_request(scope["headers"])
        return request_id, CURRENT.set((request_id, scope, self.templates)), perf_counter()

    def end(self, watched: Watched, method: str, route: str, status: int) -> None:
        """Count the answer and write its access line (if enabled)."""
        seconds = perf_counter() - watched[2]
        self.metrics.observe_request(method, route, status, seconds)
        if ACCESS.isEnabledFor(logging.INFO):
            _access_line(method, route, status, seconds)
        CURRENT.reset(watched[1])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan" and self.flusher is not None:
                receive = _watching_lifespan(receive, self.flusher)
            await self.app(scope, receive, send)
            return
        watched = self.begin(scope)
        sent = [0]  # the status, once sent
        failed = True
        try:
            await self.app(scope, receive, _sending_id(send, watched[0], sent))
            failed = False
        finally:
            status = sent[0] or (500 if failed else CLIENT_CLOSED)
            self.end(watched, scope["method"], self.templates.of(scope), status)


def _sending_id(send: Send, request_id: bytes, sent: list[int]) -> Send:
    """`send` adding the id header and noting the status in `sent[0]`. A plain function
    handing back send's awaitable: no coroutine of its own per message."""

    def sending(message: Message) -> Awaitable[None]:
        if message["type"] == "http.response.start":
            sent[0] = message["status"]
            message["headers"] = [*message.get("headers", ()), (HEADER, request_id)]
        return send(message)

    return sending


def _access_line(method: str, route: str, status: int, seconds: float) -> None:
    duration_ms = round(seconds * 1000, 2)
    ACCESS.info("%s %s %d %.2f ms", method, route, status, duration_ms,
                extra={"method": method, "route": route, "status": status,
                       "duration_ms": duration_ms})


def _watching_lifespan(receive: Receive, flusher: Flusher) -> Receive:
    """`receive` that starts the flusher at start-up and stops it (writing the last
    snapshot) at shutdown."""

    async def watched() -> Message:
        message = await receive()
        if message["type"] == "lifespan.startup":
            flusher.start()
        elif message["type"] == "lifespan.shutdown":
            flusher.stop()
        return message

    return watched
