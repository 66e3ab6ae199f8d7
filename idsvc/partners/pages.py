"""The partner desk in a browser: log in, check a presented card, redeem offers, read the log.

A desk user acts with their partner's scope and rate limit, through the same services as the
partner API (`POST /api/v1/verify`, `POST /api/v1/redemptions`, `GET /api/v1/redemptions`),
so a card gets the same verdict and fields whichever way it is checked. The two JSON routes
the scanner script calls answer in the API's JSON shapes, errors included.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from idsvc.benefits import service as benefits
from idsvc.benefits.schemas import (
    RedemptionCreate,
    RedemptionPublic,
    redemption_public,
    redemptions_csv,
)
from idsvc.cards.service import stored_credential
from idsvc.clock import end_of_local_day, local_time, start_of_local_day
from idsvc.csvfile import csv_response
from idsvc.db import SessionDep
from idsvc.errors import DomainError, Invalid, RateLimited
from idsvc.partners import service as partners
from idsvc.partners import users
from idsvc.partners.models import Partner, PartnerUser
from idsvc.partners.scopes import Field
from idsvc.partners.service import PartnerCredential
from idsvc.runtime import Runtime, runtime_of
from idsvc.sessions import page_idle
from idsvc.verification import service as verification
from idsvc.verification.schemas import VerifyRequest
from idsvc.web.cookies import clear_session_cookie, session_token
from idsvc.web.csrf import check_csrf
from idsvc.web.forms import NextPath, Password, Username, range_query
from idsvc.web.login import refused, session_lifetime, signed_in
from idsvc.web.navigation import safe_next
from idsvc.web.templating import render

public_router = APIRouter(include_in_schema=False)
COOKIE = "idsvc_partner"
HOME = "/partner/"
LOG_PAGE_SIZE = 50
CSV_CHUNK = 1000
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{8,100}$")  # as the API's header
Body = TypeVar("Body", bound=BaseModel)


@dataclass(frozen=True)
class Desk:
    """Who is at the desk: the user, their partner, and the partner's verification identity."""

    user: PartnerUser
    partner: Partner
    credential: PartnerCredential


def page_desk(request: Request, session: SessionDep) -> Desk:
    """The desk user of the page cookie; anonymous visitors are sent to the login."""
    user, partner = users.user_for_token(session, session_token(request, COOKIE),
                                         idle=page_idle(runtime_of(request).settings))
    # A desk user has no API key: events and redemptions name the partner only.
    credential = PartnerCredential(key_id=None, prefix="", secret_hash="",
                                   partner_id=partner.id, scope=partners.scope_of(partner),
                                   rate_limit_per_minute=partner.rate_limit_per_minute)
    return Desk(user, partner, credential)


PageDesk = Annotated[Desk, Depends(page_desk)]


def _json_error(exc: DomainError) -> JSONResponse:
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.headers())


def _body(model: type[Body], raw: bytes) -> Body:
    """Parse a JSON body; a malformed one is the API's 422 `validation_failed` (raised as a
    domain error so the page's JSON routes answer JSON, not an HTML error page)."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        unknown = any(e["type"] == "extra_forbidden" for e in exc.errors())
        raise Invalid("The request is not valid.",
                       code="unknown_field" if unknown else "validation_failed") from None


def _catch_up(runtime: Runtime) -> None:
    """Bring this worker's key and status mirrors up to date, as the partner API does
    before each check: a revocation shows at once."""
    runtime.mirrors.follower.catch_up_if_due(runtime.read_sessions)


def _take_rate(runtime: Runtime, partner: Partner) -> None:
    """The partner's per-minute limit, counted apart from its API keys (negative ids)."""
    wait = runtime.limiter.take(-(partner.id or 0), partner.rate_limit_per_minute)
    if wait is not None:
        raise RateLimited("Too many checks from this desk; slow down.", retry_after=wait)


# Login and logout -------------------------------------------------------------------------

@public_router.get("/partner/login")
def login_form(request: Request, next: str = "") -> Response:
    return render(request, "partner/login.html", {"next": safe_next(next, "")})


@public_router.post("/partner/login", dependencies=[Depends(check_csrf)])
def login(request: Request, session: SessionDep,
          username: Username, password: Password, next: NextPath = "") -> Response:
    try:
        user = users.authenticate(session, username=username, password=password)
    except DomainError:
        return refused(request, "partner/login.html", next=next, username=username)
    lifetime = session_lifetime(request)
    token = users.open_session(session, user=user, lifetime=lifetime)
    target = safe_next(next, HOME)
    return signed_in(request, target=target if target.startswith(HOME) else HOME,
                     cookie=COOKIE, token=token, lifetime=lifetime)


@public_router.post("/partner/logout", dependencies=[Depends(check_csrf)])
def logout(request: Request, session: SessionDep) -> Response:
    token = request.cookies.get(COOKIE)
    if token:
        users.close_session(session, token)
    return clear_session_cookie(RedirectResponse("/partner/login", status_code=303), COOKIE)


# The scanner ------------------------------------------------------------------------------

@public_router.get("/partner/")
def scanner(request: Request, desk: PageDesk) -> Response:
    settings = runtime_of(request).settings
    return render(request, "partner/scanner.html", {
        "desk": desk,
        "scope": " ".join(sorted(str(f) for f in desk.credential.scope)),
        "offers": Field.BENEFITS in desk.credential.scope,
        "max_age_hours": settings.offline_status_max_age_hours,
    })


def _verify_answer(request: Request, session: Session, raw: bytes) -> dict[str, Any]:
    """`POST /api/v1/verify`'s answer, built from the same service calls."""
    runtime = runtime_of(request)
    desk = page_desk(request, session)
    # End this transaction now: an inline event sink writes the check in its own, and on
    # SQLite it would wait for the lock this one holds.
    session.commit()
    _take_rate(runtime, desk.partner)
    body = _body(VerifyRequest, raw)
    _catch_up(runtime)
    if body.qr is not None:
        text, method = body.qr, "qr"
    else:
        text = verification.credential_by_number(runtime.replica_sessions,
                                                 card_number=body.card_number or "",
                                                 keys=runtime.master_key)
        method = "number"
    outcome = verification.verify(text=text, method=method, partner=desk.credential,
                                  context=verification.verify_context(runtime))
    offers = None
    if verification.lists_offers(outcome, desk.credential):
        offers = benefits.offers_on_card(runtime.replica_sessions, partner_id=desk.partner.id,
                                         decoded=outcome.decoded, keys=runtime.master_key,
                                         timezone=runtime.settings.timezone)
    return verification.answer(outcome, offers)


@public_router.post("/partner/verify", dependencies=[Depends(check_csrf)])
async def verify(request: Request, session: SessionDep) -> Response:
    """The scanner's check: `{"qr"}` or `{"card_number"}` → the `/api/v1/verify` JSON."""
    raw = await request.body()
    try:
        answer = await run_in_threadpool(_verify_answer, request, session, raw)
    except DomainError as exc:
        return _json_error(exc)
    return JSONResponse(answer)


def _redeem(request: Request, session: Session, raw: bytes,
            idempotency_key: str | None) -> RedemptionPublic:
    runtime = runtime_of(request)
    desk = page_desk(request, session)
    _take_rate(runtime, desk.partner)
    if idempotency_key is None or not IDEMPOTENCY_KEY.match(idempotency_key):
        raise Invalid("Send an Idempotency-Key header of 8 to 100 letters, digits or _.:-",
                       code="validation_failed")
    body = _body(RedemptionCreate, raw)
    _catch_up(runtime)
    text = body.qr if body.qr is not None else stored_credential(
        session, number_text=body.card_number or "", keys=runtime.master_key)
    redemption = benefits.redeem(session, partner=desk.credential, benefit_id=body.benefit_id,
                                 presented=text, idempotency_key=idempotency_key,
                                 context=verification.verify_context(runtime))
    benefit = benefits.get_benefit(session, redemption.benefit_id)
    return redemption_public(redemption, benefit.name, runtime.master_key.pseudonym_key)


@public_router.post("/partner/redemptions", dependencies=[Depends(check_csrf)])
async def redeem(request: Request, session: SessionDep,
                 idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None
                 ) -> Response:
    """Redeem one of the partner's offers for the presented card, as
    `POST /api/v1/redemptions` does (201, 409 already_redeemed, 422 not_eligible, ...)."""
    raw = await request.body()
    try:
        redemption = await run_in_threadpool(_redeem, request, session, raw, idempotency_key)
    except DomainError as exc:
        session.rollback()
        return _json_error(exc)
    return JSONResponse(redemption.model_dump(mode="json"), status_code=201)


# The redemption log -----------------------------------------------------------------------

@dataclass(frozen=True)
class LogFilter:
    """A date range in the city's calendar (both days included), as the form sends it."""

    since: date | None
    until: date | None

    def bounds(self, zone: str) -> tuple[datetime | None, datetime | None]:
        start = start_of_local_day(self.since, zone) if self.since else None
        end = end_of_local_day(self.until, zone) if self.until else None
        return start, end

    def query(self) -> str:
        return range_query(self.since, self.until)


def _log_filter(since: Annotated[date | None, Query(alias="from")] = None,
                until: Annotated[date | None, Query(alias="to")] = None) -> LogFilter:
    return LogFilter(since, until)


LogFilterDep = Annotated[LogFilter, Depends(_log_filter)]


def _log_rows(session: Session, runtime: Runtime, desk: Desk, window: LogFilter, *,
              after_id: int, limit: int) -> list[RedemptionPublic]:
    """The partner's own redemptions as `GET /api/v1/redemptions` lists them."""
    since, until = window.bounds(runtime.settings.timezone)
    return [redemption_public(r, name, runtime.master_key.pseudonym_key)
            for r, name in benefits.partner_log(session, partner_id=desk.partner.id,
                                                since=since, until=until, after_id=after_id,
                                                limit=limit)]


@public_router.get("/partner/redemptions")
def redemption_log(request: Request, session: SessionDep, desk: PageDesk,
                   window: LogFilterDep,
                   after: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0) -> Response:
    runtime = runtime_of(request)
    rows = _log_rows(session, runtime, desk, window, after_id=after, limit=LOG_PAGE_SIZE + 1)
    more = len(rows) > LOG_PAGE_SIZE
    rows = rows[:LOG_PAGE_SIZE]
    query = window.query()
    zone = runtime.settings.timezone
    return render(request, "partner/redemptions.html", {
        "city_time": lambda moment: local_time(moment, zone),  # filters are city dates too
        "desk": desk, "rows": rows, "window": window, "after": after,
        "next_after": rows[-1].id if more else None,
        "query": query, "csv_url": "/partner/redemptions.csv" + (f"?{query}" if query else ""),
    })


def _all_log_rows(session: Session, runtime: Runtime, desk: Desk,
                  window: LogFilter) -> Iterator[RedemptionPublic]:
    """Every row of the filtered log, read a chunk at a time."""
    after = 0
    while True:
        rows = _log_rows(session, runtime, desk, window, after_id=after, limit=CSV_CHUNK)
        yield from rows
        if len(rows) < CSV_CHUNK:
            return
        after = rows[-1].id


@public_router.get("/partner/redemptions.csv")
def redemption_csv(request: Request, session: SessionDep, desk: PageDesk,
                   window: LogFilterDep) -> Response:
    """Every row of the filtered log, in the columns of the API's CSV."""
    rows = _all_log_rows(session, runtime_of(request), desk, window)
    return csv_response(redemptions_csv(rows), "redemptions.csv")

