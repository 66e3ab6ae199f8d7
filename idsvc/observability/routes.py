"""Route templates: what a request is counted and logged under, never its path."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute
from starlette.types import Scope

UNMATCHED = "unmatched"  # no route: a 404, or a layer above the router answered


class RouteTemplates:
    """The full template (`/api/v1/cards/{card_number}`) of the route that served a
    request, never its path: a path may hold a card number.

    FastAPI puts the route object as declared in its router into the scope, whose path
    lacks the router's prefix; the full templates come from the app's route list once.
    `fixed` are paths answered ahead of the router (the verify fast path), where no route
    is put in the scope.
    """

    def __init__(self, routes: Iterable[BaseRoute] = (), fixed: Iterable[str] = ()) -> None:
        # Keyed by identity: Starlette routes compare by value and do not hash.
        self._full = {id(context.original_route): context.path_format
                      for context in iter_route_contexts(list(routes)) if context.path_format}
        self._fixed = frozenset(fixed)

    def of(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is not None:
            return (self._full.get(id(route)) or getattr(route, "path_format", None)
                    or UNMATCHED)
        path = scope.get("path")
        return path if path in self._fixed else UNMATCHED
