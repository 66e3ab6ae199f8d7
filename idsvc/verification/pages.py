"""The partner scanner's service worker, served from inside the scope it controls.

A service worker may only control pages at or below its own URL, so the worker that
keeps the scanner page (`/partner/`) usable offline is served at `/partner/sw.js`, not
under `/static/`. `no-cache` makes browsers check for a new worker on every visit.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from starlette.responses import Response

public_router = APIRouter(include_in_schema=False)
SERVICE_WORKER = Path(__file__).resolve().parents[1] / "web" / "static" / "js" / "offline" / "sw.js"


@public_router.get("/partner/sw.js")
def service_worker() -> Response:
    """Public like every static file: it holds no data, only the caching rules."""
    return Response(SERVICE_WORKER.read_bytes(), media_type="text/javascript",
                    headers={"Cache-Control": "no-cache"})
