"""POST /api/v1/verify: the partners' contract (DESIGN §6)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from idsvc.benefits import service as benefits
from idsvc.db import ReadSessionDep
from idsvc.partners.deps import current_partner
from idsvc.runtime import RuntimeDep, runtime_of
from idsvc.verification import service
from idsvc.verification.schemas import VerifyRequest, VerifyResponse

router = APIRouter(tags=["verification"])
public_router = APIRouter(tags=["verification"])

_BODY_DOC = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": VerifyRequest.model_json_schema()}}}}


class JSONBytes(Response):
    """An answer already encoded as JSON. Its two headers are set directly: Response's
    general set-up costs more than the encoding, on a path that answers thousands of
    times a second."""

    media_type = "application/json"

    def __init__(self, body: bytes) -> None:
        self.status_code, self.body, self.background = 200, body, None
        self.raw_headers = [(b"content-length", b"%d" % len(body)),
                            (b"content-type", b"application/json")]


async def _verify_request(request: Request) -> VerifyRequest:
    """Parse the body in one pydantic-core call; failures render like any other 422."""
    try:
        return VerifyRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]) from None


@router.post("/verify", response_model=VerifyResponse, openapi_extra=_BODY_DOC)
async def verify(request: Request) -> Response:
    """The hot path, kept lean on purpose: no FastAPI body or dependency resolution (they
    cost more than the signature check), async so a scanned QR is checked in memory with
    no thread hop and no database; only a typed number needs a read, in the thread pool."""
    partner = await current_partner(request)
    body = await _verify_request(request)
    runtime = runtime_of(request)
    context = service.verify_context(runtime)
    if body.qr is not None:
        text, method = body.qr, "qr"
    else:
        text = await run_in_threadpool(service.credential_by_number, runtime.replica_sessions,
                                       card_number=body.card_number or "",
                                       keys=runtime.master_key)
        method = "number"
    outcome = service.verify(text=text, method=method, partner=partner, context=context)
    offers = None
    if service.lists_offers(outcome, partner):
        offers = await run_in_threadpool(
            benefits.offers_on_card, runtime.replica_sessions, partner_id=partner.partner_id,
            decoded=outcome.decoded, keys=runtime.master_key,
            timezone=runtime.settings.timezone)
    return JSONBytes(orjson.dumps(service.answer(outcome, offers)))


@public_router.get("/offline-bundle.json")
def offline_bundle(session: ReadSessionDep, runtime: RuntimeDep,
                   response: Response) -> dict[str, Any]:
    """JWKS and every signed status list in one file, for devices that verify offline."""
    max_age = runtime.settings.status_ttl_seconds // 2
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    runtime.mirrors.follower.catch_up_if_due(runtime.read_sessions)  # the feed: the primary
    return service.offline_bundle(session, settings=runtime.settings, mirrors=runtime.mirrors)
