"""How a layer that answers ahead of the app (the verify fast path) reports to the
request observer, so the observer need not wrap `send` on the hot path.

For a POST to one of its `fixed_routes` the observer passes `send` through untouched and
puts the headers to add (the request id) in the scope under `HEADERS`; the layer appends
them to its answer and notes the status under `STATUS`. Its rare error answers, written
by shared helpers, go through `reporting(send, scope)`, which does both. Without the
observer the scope holds no headers and nothing changes.
"""

from __future__ import annotations

from starlette.types import Message, Scope, Send

HEADERS = "idsvc.answer.headers"
STATUS = "idsvc.answer.status"


def reporting(send: Send, scope: Scope) -> Send:
    """`send` that adds the observer's headers to the answer and notes its status."""

    async def reported(message: Message) -> None:
        if message["type"] == "http.response.start":
            scope[STATUS] = message["status"]
            message["headers"] = [*message.get("headers", ()), *scope.get(HEADERS, ())]
        await send(message)

    return reported
