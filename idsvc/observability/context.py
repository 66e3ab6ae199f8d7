"""The request a log line belongs to: its id and its route template.

One context variable holds `(request id, scope, route templates)` for the request being
served. Asyncio tasks and the thread pool copy it, so every log line of a request can name
the request without the code that logs knowing about it. The route is looked up when the
line is written: routing fills it in after the request started.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

from starlette.types import Scope

if TYPE_CHECKING:  # kept light: each worker imports this for its logging before serving
    from idsvc.observability.routes import RouteTemplates

CURRENT: ContextVar[tuple[bytes, Scope, RouteTemplates] | None] = ContextVar(
    "idsvc_request", default=None)


def current() -> tuple[str, str] | None:
    """(request id, route template) of the request being served, if any."""
    found = CURRENT.get()
    return None if found is None else (found[0].decode("ascii"), found[2].of(found[1]))
