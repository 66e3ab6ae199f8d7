"""Serve POST /api/v1/verify ahead of the framework's routing and dependency machinery.

The route is declared on the FastAPI router (so it is documented in OpenAPI and has one
implementation); this ASGI layer calls that same endpoint directly. On the partners' hot
path the framework's per-request work costs about as much as the signature check, and
the design's throughput goal (DESIGN §8) leaves no room for it. Errors are rendered by
the app's own exception handlers, so answers are identical either way.

Sitting ahead of the app, this layer also does for its path what the app's middleware does
for the others, as cheaply as it can: the per-address request budget (one bucket lookup and
a subtraction) and the security headers (a precomputed list appended to the answer).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from idsvc.abuse import AddressLimits, client_address

Endpoint = Callable[[Request], Awaitable[Response]]


class FastPath:
    """Answer one exact POST path with `endpoint`; pass everything else through."""

    def __init__(self, app: ASGIApp, *, path: str, endpoint: Endpoint,
                 headers: Sequence[tuple[bytes, bytes]] = (),
                 limits: AddressLimits | None = None) -> None:
        self.app, self.path, self.endpoint = app, path, endpoint
        self.headers, self.limits = list(headers), limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            refusal = self.limits.request_refusal(client_address(scope)) if self.limits else None
            if refusal is not None:
                raise refusal
            response = await self.endpoint(request)
        except ClientDisconnect:  # the partner hung up: nobody to answer
            return
        except Exception as exc:
            handler = handler_for(request, exc)
            if handler is None:
                raise
            response = await handler(request, exc)
        response.raw_headers.extend(self.headers)
        await response(scope, receive, send)


def handler_for(request: Request, exc: Exception) -> Callable[..., Awaitable[Response]] | None:
    """The app's registered handler for this exception, most specific class first."""
    handlers = request.app.exception_handlers
    for cls in type(exc).__mro__:
        if cls in handlers:
            return handlers[cls]
    return None
