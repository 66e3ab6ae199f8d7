"""POST /api/v1/verify: the partners' contract (DESIGN §6)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from idsvc.db import SessionDep
from idsvc.partners.deps import CurrentPartner
from idsvc.runtime import RuntimeDep
from idsvc.verification import service
from idsvc.verification.schemas import VerifyRequest, VerifyResponse

router = APIRouter(tags=["verification"])
public_router = APIRouter(tags=["verification"])


@router.post("/verify")
def verify(session: SessionDep, runtime: RuntimeDep, body: VerifyRequest,
           partner: CurrentPartner) -> VerifyResponse:
    mirrors = runtime.mirrors
    context = service.VerifyContext(
        issuer=runtime.settings.issuer, timezone=runtime.settings.timezone, keys=mirrors.keys,
        statuses=mirrors.statuses, master_key=runtime.master_key, events=runtime.events)
    outcome = service.verify(session, qr=body.qr, card_number=body.card_number,
                             partner=partner, context=context)
    return VerifyResponse(result=outcome.result, checked_at=outcome.checked_at, card=outcome.card)


@public_router.get("/offline-bundle.json")
def offline_bundle(session: SessionDep, runtime: RuntimeDep, response: Response) -> dict[str, Any]:
    """JWKS and every signed status list in one file, for devices that verify offline."""
    max_age = runtime.settings.status_ttl_seconds // 2
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    return service.offline_bundle(session, settings=runtime.settings, mirrors=runtime.mirrors)
