"""Partner administration routes (administrators only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from idsvc.db import RowId, SessionDep
from idsvc.partners import service, users
from idsvc.partners.models import Partner, PartnerKey, PartnerUser
from idsvc.partners.schemas import (
    KeyCreate,
    KeyPublic,
    NewKey,
    PartnerCreate,
    PartnerPublic,
    PartnerUpdate,
    PartnerUserCreate,
    PartnerUserPassword,
    PartnerUserPublic,
)
from idsvc.staff.deps import require
from idsvc.staff.models import Staff
from idsvc.staff.roles import Permission
from idsvc.staff.service import actor_of

router = APIRouter(tags=["partners"])
PartnerAdmin = Annotated[Staff, Depends(require(Permission.MANAGE_PARTNERS))]


def _public(partner: Partner) -> PartnerPublic:
    return PartnerPublic(id=partner.id, name=partner.name, kind=partner.kind,
                         scope=sorted(service.scope_of(partner)),
                         scope_narrowed=partner.scope is not None,
                         rate_limit_per_minute=partner.rate_limit_per_minute,
                         active=partner.active, created_at=partner.created_at)


def _key(key: PartnerKey) -> KeyPublic:
    return KeyPublic.model_validate(key, from_attributes=True)


@router.post("/partners", status_code=201)
def create_partner(session: SessionDep, body: PartnerCreate, admin: PartnerAdmin) -> PartnerPublic:
    return _public(service.create_partner(session, name=body.name, kind=body.kind,
                                          actor=actor_of(admin)))


@router.get("/partners")
def list_partners(session: SessionDep, _: PartnerAdmin) -> list[PartnerPublic]:
    return [_public(p) for p in service.list_partners(session)]


@router.get("/partners/{partner_id}")
def read_partner(session: SessionDep, partner_id: RowId, _: PartnerAdmin) -> PartnerPublic:
    return _public(service.get_partner(session, partner_id))


@router.patch("/partners/{partner_id}")
def update_partner(session: SessionDep, partner_id: RowId, body: PartnerUpdate,
                   admin: PartnerAdmin) -> PartnerPublic:
    partner = service.update_partner(session, partner=service.get_partner(session, partner_id),
                                     fields=body.model_dump(exclude_unset=True),
                                     actor=actor_of(admin))
    return _public(partner)


@router.post("/partners/{partner_id}/keys", status_code=201)
def create_key(session: SessionDep, partner_id: RowId, admin: PartnerAdmin,
               body: KeyCreate | None = None) -> NewKey:
    key, plain = service.issue_key(session, partner=service.get_partner(session, partner_id),
                                   label=(body or KeyCreate()).label, actor=actor_of(admin))
    return NewKey(**_key(key).model_dump(), api_key=plain)


@router.get("/partners/{partner_id}/keys")
def list_keys(session: SessionDep, partner_id: RowId, _: PartnerAdmin) -> list[KeyPublic]:
    return [_key(k) for k in service.list_keys(session, service.get_partner(session, partner_id))]


@router.delete("/partners/{partner_id}/keys/{key_id}", status_code=204)
def revoke_key(session: SessionDep, partner_id: RowId, key_id: RowId,
               admin: PartnerAdmin) -> Response:
    service.revoke_key(session, partner=service.get_partner(session, partner_id), key_id=key_id,
                       actor=actor_of(admin))
    return Response(status_code=204)


def _user(user: PartnerUser) -> PartnerUserPublic:
    return PartnerUserPublic.model_validate(user, from_attributes=True)


@router.post("/partners/{partner_id}/users", status_code=201)
def create_user(session: SessionDep, partner_id: RowId, body: PartnerUserCreate,
                admin: PartnerAdmin) -> PartnerUserPublic:
    """A desk login for the partner's staff, who check cards at /partner/ in a browser."""
    partner = service.get_partner(session, partner_id)
    return _user(users.create_partner_user(session, partner=partner, username=body.username,
                                           password=body.password, actor=actor_of(admin)))


@router.get("/partners/{partner_id}/users")
def list_users(session: SessionDep, partner_id: RowId, _: PartnerAdmin) -> list[PartnerUserPublic]:
    return [_user(u) for u in users.list_partner_users(session,
                                                       service.get_partner(session, partner_id))]


@router.delete("/partners/{partner_id}/users/{user_id}", status_code=204)
def deactivate_user(session: SessionDep, partner_id: RowId, user_id: RowId,
                    admin: PartnerAdmin) -> Response:
    """Disable the login and end its sessions at once."""
    users.deactivate_partner_user(session, partner=service.get_partner(session, partner_id),
                                  user_id=user_id, actor=actor_of(admin))
    return Response(status_code=204)


@router.put("/partners/{partner_id}/users/{user_id}/password", status_code=204)
def reset_user_password(session: SessionDep, partner_id: RowId, user_id: RowId,
                        body: PartnerUserPassword, admin: PartnerAdmin) -> Response:
    """Set a new password (unlocks a locked login and ends its sessions); audited."""
    user = users.get_partner_user(session, partner=service.get_partner(session, partner_id),
                                  user_id=user_id)
    users.set_password(session, user=user, password=body.password, actor=actor_of(admin))
    return Response(status_code=204)
