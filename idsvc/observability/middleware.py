"""The outermost ASGI layer: request id, latency and status of every request.

It wraps even the verify fast path (which runs ahead of the app's own middleware), so
every answer carries `X-Request-ID` and is counted, whichever layer wrote it. Per request
it does a header scan, a counter, a context variable, two clock reads and one metrics
update; on the fast path it wraps no `send` (answers.py). The cost is measured by
tests/observability/overhead.py (README, Operations: health, metrics, logs).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Iterable
from time import perf_counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from idsvc.observability.answers import HEADERS as ANSWER_HEADERS
from idsvc.observability.answers import STATUS as ANSWER_STATUS
from idsvc.observability.context import CURRENT
from idsvc.observability.logs import ACCESS
from idsvc.observability.metrics import Metrics
from idsvc.observability.requestids import HEADER, RequestIds
from idsvc.observability.routes import RouteTemplates
from idsvc.observability.workers import Flusher

CLIENT_CLOSED = 499  # nothing was answered: the client went away (nginx's convention)


class RequestObserver:
    """Id, metrics and access line for each HTTP request; starts and stops the metrics
    flusher with the app's lifespan."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, ids: RequestIds,
                 templates: RouteTemplates, fixed_routes: Iterable[str] = (),
                 flusher: Flusher | None = None) -> None:
        self.app, self.metrics, self.ids, self.flusher = app, metrics, ids, flusher
        self.templates = templates
        self.fixed_routes = frozenset(fixed_routes)  # POSTs answered by the fast path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan" and self.flusher is not None:
                receive = _watching_lifespan(receive, self.flusher)
            await self.app(scope, receive, send)
            return
        request_id = self.ids.for_request(scope["headers"])
        token = CURRENT.set((request_id, scope, self.templates))
        if scope["method"] == "POST" and scope["path"] in self.fixed_routes:
            # The fast path adds the id and notes its status itself (answers.py).
            scope[ANSWER_HEADERS] = [(HEADER, request_id)]
            sent = None
        else:
            sent = [0]  # the status, once sent
            send = _sending_id(send, request_id, sent)
        failed = True
        start = perf_counter()
        try:
            await self.app(scope, receive, send)
            failed = False
        finally:
            seconds = perf_counter() - start
            status = scope.get(ANSWER_STATUS, 0) if sent is None else sent[0]
            status = status or (500 if failed else CLIENT_CLOSED)
            route = scope["path"] if sent is None else self.templates.of(scope)
            self.metrics.observe_request(scope["method"], route, status, seconds)
            if ACCESS.isEnabledFor(logging.INFO):
                _access_line(scope["method"], route, status, seconds)
            CURRENT.reset(token)


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
