"""Which partner is calling: API-key authentication and the per-key rate limit."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from idsvc.errors import RateLimited, Unauthorized
from idsvc.partners.service import PartnerCredential
from idsvc.runtime import runtime_of


async def current_partner(request: Request) -> PartnerCredential:
    """Checked against the in-memory key mirror: no database row per request.

    It takes only the request (no sub-dependencies): on the verification hot path
    each FastAPI dependency costs about as much as the signature check.
    """
    runtime = runtime_of(request)
    scheme, _, api_key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not api_key:
        raise Unauthorized("Send the partner API key as `Authorization: Bearer <key>`.",
                           code="not_authenticated")
    follower = runtime.mirrors.follower
    if follower.due():
        await run_in_threadpool(follower.catch_up_if_due, runtime.read_sessions)
    partner = runtime.mirrors.partners.authenticate(api_key.strip())
    if partner is None:
        raise Unauthorized("This API key is not valid or was revoked.", code="invalid_api_key")
    wait = runtime.limiter.take(partner.key_id, partner.rate_limit_per_minute)
    if wait is not None:
        raise RateLimited("Too many requests for this API key; slow down.", retry_after=wait)
    return partner


CurrentPartner = Annotated[PartnerCredential, Depends(current_partner)]
