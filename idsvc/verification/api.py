"""POST /api/v1/verify: the partners' contract (DESIGN §6)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from idsvc.benefits import service as benefits
from idsvc.db import ReadSessionDep
from idsvc.partners.deps import CurrentPartner
from idsvc.partners.scopes import Field
from idsvc.runtime import RuntimeDep, runtime_of
from idsvc.verification import service
from idsvc.verification.schemas import VerifyRequest, VerifyResponse

router = APIRouter(tags=["verification"])
public_router = APIRouter(tags=["verification"])


@router.post("/verify", response_model=VerifyResponse)
async def verify(request: Request, body: VerifyRequest,
                 partner: CurrentPartner) -> JSONResponse:
    """Async on purpose: a scanned QR is checked in memory, with no thread hop and no
    database; only a typed number needs a read, which runs in the thread pool."""
    runtime = runtime_of(request)
    context = service.verify_context(runtime)
    if body.qr is not None:
        text, method = body.qr, "qr"
    else:
        text = await run_in_threadpool(service.credential_by_number, runtime.read_sessions,
                                       card_number=body.card_number or "",
                                       keys=runtime.master_key)
        method = "number"
    outcome = service.verify(text=text, method=method, partner=partner, context=context)
    card = outcome.card
    if card is not None and outcome.decoded is not None and Field.BENEFITS in partner.scope:
        offers = await run_in_threadpool(
            benefits.offers_on_card, runtime.read_sessions, partner_id=partner.partner_id,
            decoded=outcome.decoded, keys=runtime.master_key,
            timezone=runtime.settings.timezone)
        card = {**card, "benefits": offers if outcome.result == "valid" else []}
    response = VerifyResponse(result=outcome.result, checked_at=outcome.checked_at, card=card)
    return JSONResponse(response.body())


@public_router.get("/offline-bundle.json")
def offline_bundle(session: ReadSessionDep, runtime: RuntimeDep,
                   response: Response) -> dict[str, Any]:
    """JWKS and every signed status list in one file, for devices that verify offline."""
    max_age = runtime.settings.status_ttl_seconds // 2
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    return service.offline_bundle(session, settings=runtime.settings, mirrors=runtime.mirrors)
