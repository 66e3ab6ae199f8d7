"""`GET /healthz`, `GET /readyz` and `GET /metrics`: for load balancers, orchestrators and
Prometheus, not for people, so they are left out of the OpenAPI description.

`/metrics` is answered only to the networks in `IDSVC_METRICS_ALLOW` (loopback by
default) or to a request with `Authorization: Bearer <IDSVC_METRICS_TOKEN>`: the figures
hold no personal data, but they tell an outsider how busy each partner route is.
"""

from __future__ import annotations

import hmac
import ipaddress
from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from pydantic import SecretStr

from idsvc.errors import Forbidden
from idsvc.observability.health import ReadinessProbe
from idsvc.observability.wiring import Observability
from idsvc.runtime import runtime_of

router = APIRouter(include_in_schema=False, tags=["operations"])
NO_STORE = {"Cache-Control": "no-store"}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@router.get("/healthz")
async def healthz() -> JSONResponse:
    """The process answers; nothing else is checked (a liveness probe)."""
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """200 when this worker can serve, else 503 with what is wrong (a readiness probe)."""
    state = request.app.state
    if getattr(state, "readiness", None) is None:
        state.readiness = ReadinessProbe(runtime_of(request))
    checks = await state.readiness.check()
    if ReadinessProbe.ready(checks):
        return JSONResponse({"status": "ready", "checks": checks}, headers=NO_STORE)
    return JSONResponse({"error": "not_ready", "message": "This worker cannot serve yet.",
                         "checks": checks}, status_code=503,
                        headers={**NO_STORE, "Retry-After": "5"})


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Prometheus text format, every worker of this server counted."""
    settings = runtime_of(request).settings
    if not (_has_token(request, settings.metrics_token)
            or _allowed(request.client.host if request.client else "",
                        settings.metrics_allow)):
        # Answered here, not raised: the app renders refusals outside /api/ as pages.
        refusal = Forbidden("Metrics are open to the configured addresses or with the "
                            "metrics token.", code="metrics_forbidden")
        return JSONResponse(refusal.body(), status_code=refusal.status_code, headers=NO_STORE)
    observability: Observability = request.app.state.observability
    return Response(observability.render(), media_type=CONTENT_TYPE_LATEST, headers=NO_STORE)


def _has_token(request: Request, token: SecretStr | None) -> bool:
    if token is None or not token.get_secret_value():
        return False
    given = request.headers.get("authorization", "").encode()
    return hmac.compare_digest(given, f"Bearer {token.get_secret_value()}".encode())


def _allowed(host: str, networks: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in parse_networks(networks))


@lru_cache(maxsize=8)
def parse_networks(text: str) -> tuple[Network, ...]:
    """`"127.0.0.1/32, 10.0.0.0/8"` → networks (raises ValueError on a bad one)."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False)
                 for part in text.split(",") if part.strip())
