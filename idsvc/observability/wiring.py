"""What create_app() wires in: this worker's counters, request ids and shared folder."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from idsvc.config import Settings
from idsvc.observability.exposition import render, worker_snapshot
from idsvc.observability.metrics import Metrics
from idsvc.observability.middleware import RequestObserver
from idsvc.observability.requestids import RequestIds
from idsvc.observability.routes import RouteTemplates
from idsvc.observability.workers import Flusher, SharedFolder


class Observability:
    """One per app (so one per worker process)."""

    def __init__(self, settings: Settings) -> None:
        self.metrics = Metrics()
        self.ids = RequestIds()
        folder = settings.metrics_dir
        self.shared = SharedFolder(folder, self.ids.prefix) if folder is not None else None
        self.flusher = Flusher(self.write_snapshot) if self.shared is not None else None

    def write_snapshot(self) -> None:
        if self.shared is not None:
            self.shared.write(worker_snapshot(self.metrics))

    def render(self) -> bytes:
        return render(self.metrics, self.shared)

    def observe(self, app: ASGIApp, *, routes: Iterable[BaseRoute] = (),
                fixed_routes: Iterable[str] = ()) -> RequestObserver:
        """`app` wrapped in the observer layer: ids, counts, access lines. `routes` are
        the app's (for their full templates), `fixed_routes` paths answered ahead of the
        router, whose layer calls the observer's `begin` and `end` itself."""
        return RequestObserver(app, metrics=self.metrics, ids=self.ids,
                               templates=RouteTemplates(routes, fixed_routes),
                               flusher=self.flusher)
