"""Benefit catalogue, redemptions (partners) and their administration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from idsvc.benefits import service
from idsvc.benefits.schemas import (
    BenefitCreate,
    BenefitPublic,
    BenefitUpdate,
    RedemptionCreate,
    RedemptionPublic,
    benefit_public,
    redemption_public,
    redemptions_csv,
)
from idsvc.cards.service import stored_credential
from idsvc.clock import local_today
from idsvc.csvfile import csv_response
from idsvc.db import RowId, SessionDep
from idsvc.partners.deps import CurrentPartner
from idsvc.partners.service import get_partner
from idsvc.runtime import RuntimeDep
from idsvc.staff.deps import require
from idsvc.staff.models import Staff
from idsvc.staff.roles import Permission
from idsvc.staff.service import actor_of
from idsvc.verification.service import verify_context

public_router = APIRouter(tags=["benefits"])
partner_router = APIRouter(tags=["redemptions"])
router = APIRouter(tags=["benefits"])
PartnerAdmin = Annotated[Staff, Depends(require(Permission.MANAGE_PARTNERS))]
IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=100,
                                       pattern=r"^[A-Za-z0-9_.:-]+$")]


@public_router.get("/benefits")
def catalogue(session: SessionDep, runtime: RuntimeDep, category: str | None = None,
              partner_id: RowId | None = None) -> list[BenefitPublic]:
    """The benefits a cardholder can use today, by category and partner."""
    today = local_today(runtime.settings.timezone)
    return [benefit_public(b, p) for b, p in service.catalogue(session, today=today,
                                                         category=category,
                                                         partner_id=partner_id)]


@router.post("/partners/{partner_id}/benefits", status_code=201)
def create_benefit(session: SessionDep, partner_id: RowId, body: BenefitCreate,
                   admin: PartnerAdmin) -> BenefitPublic:
    partner = get_partner(session, partner_id)
    benefit = service.create_benefit(session, partner=partner, fields=body.model_dump(),
                                     actor=actor_of(admin))
    return benefit_public(benefit, partner)


@router.patch("/benefits/{benefit_id}")
def update_benefit(session: SessionDep, benefit_id: RowId, body: BenefitUpdate,
                   admin: PartnerAdmin) -> BenefitPublic:
    benefit = service.update_benefit(session, benefit=service.get_benefit(session, benefit_id),
                                     fields=body.model_dump(exclude_unset=True),
                                     actor=actor_of(admin))
    return benefit_public(benefit, get_partner(session, benefit.partner_id))


@partner_router.post("/redemptions", status_code=201)
def redeem(session: SessionDep, runtime: RuntimeDep, body: RedemptionCreate,
           partner: CurrentPartner, idempotency_key: IdempotencyKey) -> RedemptionPublic:
    text = body.qr if body.qr is not None else stored_credential(
        session, number_text=body.card_number or "", keys=runtime.master_key)
    redemption = service.redeem(session, partner=partner, benefit_id=body.benefit_id,
                                presented=text,
                                idempotency_key=idempotency_key,
                                context=verify_context(runtime))
    benefit = service.get_benefit(session, redemption.benefit_id)
    return redemption_public(redemption, benefit.name, runtime.master_key.pseudonym_key)


@partner_router.post("/redemptions/{redemption_id}/void")
def void(session: SessionDep, runtime: RuntimeDep, redemption_id: RowId,
         partner: CurrentPartner) -> RedemptionPublic:
    redemption = service.void(session, partner=partner, redemption_id=redemption_id)
    benefit = service.get_benefit(session, redemption.benefit_id)
    return redemption_public(redemption, benefit.name, runtime.master_key.pseudonym_key)


def _utc(moment: datetime | None) -> datetime | None:
    """A filter time without a zone is read as UTC, as the log's times are written."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


@partner_router.get("/redemptions", response_model=list[RedemptionPublic],
                    responses={200: {"content": {"text/csv": {}}}})
def log(session: SessionDep, runtime: RuntimeDep, request: Request, partner: CurrentPartner,
        since: datetime | None = Query(default=None, alias="from"),
        until: datetime | None = Query(default=None, alias="to"),
        after_id: int = Query(default=0, ge=0, le=2**31 - 1),
        limit: int = Query(default=100, ge=1, le=1000)) -> Response:
    """The partner's own redemptions; `Accept: text/csv` for a spreadsheet. Page with
    `after_id` = the last id of the previous page."""
    rows = [redemption_public(r, name, runtime.master_key.pseudonym_key)
            for r, name in service.partner_log(session, partner_id=partner.partner_id,
                                               since=_utc(since), until=_utc(until),
                                               after_id=after_id, limit=limit)]
    if "text/csv" in request.headers.get("accept", ""):
        return csv_response(redemptions_csv(rows), "redemptions.csv")
    return JSONResponse([row.model_dump(mode="json") for row in rows])
