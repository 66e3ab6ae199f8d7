"""Service centre routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from idsvc.centres import service
from idsvc.centres.schemas import CentreCreate, CentrePublic
from idsvc.db import SessionDep
from idsvc.staff.deps import CurrentStaff, require
from idsvc.staff.models import Staff
from idsvc.staff.roles import Permission
from idsvc.staff.service import actor_of

router = APIRouter(tags=["centres"])
CentreAdmin = Annotated[Staff, Depends(require(Permission.MANAGE_CENTRES))]


@router.get("/centres")
def list_centres(session: SessionDep, _: CurrentStaff) -> list[CentrePublic]:
    return [CentrePublic.model_validate(c, from_attributes=True)
            for c in service.list_centres(session)]


@router.post("/centres", status_code=201)
def create_centre(session: SessionDep, body: CentreCreate, admin: CentreAdmin) -> CentrePublic:
    centre = service.create_centre(session, code=body.code, name=body.name,
                                   address=body.address, actor=actor_of(admin))
    return CentrePublic.model_validate(centre, from_attributes=True)
