"""Published verification keys (public)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from idsvc.cards.service import kids_in_circulation
from idsvc.crypto.keyring import jwks
from idsvc.db import ReadSessionDep

public_router = APIRouter(tags=["keys"])


@public_router.get("/.well-known/jwks.json")
def published_keys(session: ReadSessionDep, response: Response) -> dict[str, Any]:
    response.headers["Cache-Control"] = "public, max-age=300"
    return jwks(session, kids_in_circulation=kids_in_circulation(session))
