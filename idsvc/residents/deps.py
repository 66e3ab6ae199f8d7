"""Which resident is calling: bearer tokens from POST /api/v1/residents/login."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from idsvc.db import SessionDep
from idsvc.errors import Unauthorized
from idsvc.residents.accounts import resident_for_token


def current_resident(request: Request, session: SessionDep) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Log in with your card number and PIN.", code="not_authenticated")
    return resident_for_token(session, token.strip())


CurrentResident = Annotated[str, Depends(current_resident)]
