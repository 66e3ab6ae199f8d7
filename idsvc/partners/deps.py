"""Which partner is calling: API-key authentication and the per-key rate limit."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from idsvc.db import SessionDep
from idsvc.errors import RateLimited, Unauthorized
from idsvc.partners.service import PartnerCredential
from idsvc.runtime import RuntimeDep


def current_partner(request: Request, session: SessionDep,
                    runtime: RuntimeDep) -> PartnerCredential:
    scheme, _, api_key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not api_key:
        raise Unauthorized("Send the partner API key as `Authorization: Bearer <key>`.",
                           code="not_authenticated")
    runtime.mirrors.follower.catch_up(session)
    partner = runtime.mirrors.partners.authenticate(api_key.strip())
    if partner is None:
        raise Unauthorized("This API key is not valid or was revoked.", code="invalid_api_key")
    wait = runtime.limiter.take(partner.key_id, partner.rate_limit_per_minute)
    if wait is not None:
        raise RateLimited("Too many requests for this API key; slow down.", retry_after=wait)
    return partner


CurrentPartner = Annotated[PartnerCredential, Depends(current_partner)]
