"""Signing key administration (administrators): list, rotate, retire, mark compromised."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel

from idsvc.crypto import keyring
from idsvc.crypto.models import SigningKey
from idsvc.db import SessionDep
from idsvc.runtime import RuntimeDep
from idsvc.staff.deps import require
from idsvc.staff.models import Staff
from idsvc.staff.roles import Permission
from idsvc.staff.service import actor_of

router = APIRouter(tags=["keys"])
KeyAdmin = Annotated[Staff, Depends(require(Permission.MANAGE_KEYS))]
Kid = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class SigningKeyPublic(BaseModel):
    kid: str
    state: keyring.KeyState
    created_at: datetime
    state_changed_at: datetime | None


def _public(key: SigningKey) -> SigningKeyPublic:
    return SigningKeyPublic.model_validate(key, from_attributes=True)


@router.get("/keys")
def list_keys(session: SessionDep, _: KeyAdmin) -> list[SigningKeyPublic]:
    return [_public(k) for k in keyring.list_keys(session)]


@router.post("/keys/rotate", status_code=201)
def rotate(session: SessionDep, runtime: RuntimeDep, admin: KeyAdmin) -> SigningKeyPublic:
    return _public(keyring.rotate(session, keys_dir=runtime.settings.keys_dir,
                                  actor=actor_of(admin)))


@router.post("/keys/{kid}/retire")
def retire(session: SessionDep, kid: Kid, admin: KeyAdmin) -> SigningKeyPublic:
    return _public(keyring.retire(session, kid=kid, actor=actor_of(admin)))


@router.post("/keys/{kid}/compromised")
def compromised(session: SessionDep, runtime: RuntimeDep, kid: Kid,
                admin: KeyAdmin) -> SigningKeyPublic:
    keyring.mark_compromised(session, kid=kid, keys_dir=runtime.settings.keys_dir,
                             actor=actor_of(admin))
    return _public(keyring.get_key(session, kid))
