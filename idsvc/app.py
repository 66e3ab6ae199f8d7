"""create_app(): routers, error handlers and what the running app holds."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import event
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session
from starlette.types import ASGIApp

from idsvc.abuse import AddressLimits
from idsvc.appointments.api import public_router as appointments_public_router
from idsvc.appointments.api import router as appointments_router
from idsvc.appointments.limits import AppointmentLimits
from idsvc.appointments.pages import public_router as appointment_public_pages
from idsvc.appointments.pages import router as appointment_pages
from idsvc.appointments.queue_api import router as queue_router
from idsvc.appointments.queue_pages import public_router as display_pages
from idsvc.appointments.queue_pages import router as queue_pages
from idsvc.audit.api import router as audit_router
from idsvc.benefits.admin_pages import router as benefit_admin_pages
from idsvc.benefits.api import partner_router as redemptions_router
from idsvc.benefits.api import public_router as benefits_public_router
from idsvc.benefits.api import router as benefits_router
from idsvc.benefits.pages import public_router as benefits_pages
from idsvc.bulk.api import router as print_batches_router
from idsvc.cards.activation_pages import router as card_activation_pages
from idsvc.cards.api import public_router as cards_public_router
from idsvc.cards.api import router as cards_router
from idsvc.cards.pages import router as card_pages
from idsvc.centres.admin_pages import router as centre_admin_pages
from idsvc.centres.api import router as centres_router
from idsvc.changes.replica import replica_reads
from idsvc.changes.service import published
from idsvc.config import Settings, get_settings
from idsvc.crypto.admin_api import router as keys_admin_router
from idsvc.crypto.admin_pages import router as key_admin_pages
from idsvc.crypto.api import public_router as keys_public_router
from idsvc.crypto.envelope import MasterKey, load_master_key
from idsvc.crypto.startup import prepare
from idsvc.db import make_engine, make_sessionmaker, read_only
from idsvc.enrollment.api import public_router as enrollment_public_router
from idsvc.enrollment.api import router as enrollment_router
from idsvc.enrollment.pages import router as enrollment_pages
from idsvc.enrollment.policy import load_policy
from idsvc.errors import install_error_handlers
from idsvc.middleware import BodySizeLimit, LastResortErrors
from idsvc.notifications.sender import OutboxSender
from idsvc.notifications.smtp import SmtpMailer
from idsvc.observability.api import router as operations_router
from idsvc.observability.wiring import Observability
from idsvc.partners.admin_pages import router as partner_admin_pages
from idsvc.partners.api import router as partners_router
from idsvc.partners.pages import public_router as partner_pages
from idsvc.reports.api import router as reports_router
from idsvc.reports.pages import router as report_pages
from idsvc.residents.api import public_router as residents_public_router
from idsvc.residents.api import resident_router as residents_self_router
from idsvc.residents.api import router as residents_router
from idsvc.residents.pages import public_router as resident_public_pages
from idsvc.residents.pages import router as resident_pages
from idsvc.retention.api import router as retention_router
from idsvc.runtime import Mirrors, Runtime
from idsvc.staff.admin_pages import router as staff_admin_pages
from idsvc.staff.api import public_router as auth_public_router
from idsvc.staff.api import router as staff_router
from idsvc.staff.deps import current_staff
from idsvc.staff.pages import public_router as staff_pages
from idsvc.status.api import public_router as status_public_router
from idsvc.verification.api import public_router as verification_public_router
from idsvc.verification.api import router as verification_router
from idsvc.verification.api import verify as verify_endpoint
from idsvc.verification.events import BatchingSink, EventSink, InlineSink
from idsvc.verification.fastpath import FastPath, ServiceApp
from idsvc.verification.pages import public_router as offline_pages
from idsvc.verification.ratelimit import RateLimiter
from idsvc.web.admin_home import router as admin_home
from idsvc.web.errors import render_error
from idsvc.web.pages import public_router as web_public_pages
from idsvc.web.security import SecurityHeaders, response_headers
from idsvc.web.throttle import AddressThrottle

log = logging.getLogger("idsvc")
API_PREFIX = "/api/v1"
STATIC_DIR = Path(__file__).resolve().parent / "web" / "static"


def _install_fallback_handlers(app: FastAPI) -> None:
    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        log.warning("integrity conflict: %s", type(exc.orig).__name__)
        return JSONResponse({"error": "conflict",
                             "message": "The change conflicts with another; try again."},
                            status_code=409)

    @app.exception_handler(DataError)
    @app.exception_handler(OverflowError)
    async def _out_of_range(_: Request, exc: Exception) -> JSONResponse:
        # An id or count beyond the database's integer range (2**63 in SQLite, 2**31 in a
        # PostgreSQL INTEGER column) fails at the driver: the caller's input, not a fault.
        log.warning("value out of range: %s", type(getattr(exc, "orig", exc)).__name__)
        return JSONResponse({"error": "out_of_range",
                             "message": "A value in the request is out of range."},
                            status_code=422)


def create_app(settings: Settings | None = None, *, master_key: MasterKey | None = None,
               sessions: sessionmaker[Session] | None = None) -> FastAPI:
    """Build the service; the policy and keys are checked here so a bad set-up fails at start."""
    settings = settings or get_settings()
    prepare(settings)  # unsafe settings or key files: StartupRefused, says what to fix
    engine = None if sessions else make_engine(settings.database_url)
    sessions = sessions or make_sessionmaker(engine)
    read_sessions = make_sessionmaker(read_only(engine)) if engine else sessions
    replica_sessions = replica_reads(settings.database_replica_url, read_sessions,
                                     max_lag_seconds=settings.replica_max_lag_seconds)
    observability = Observability(settings)  # request ids, metrics: one per worker
    events: EventSink = observability.metrics.counting(
        InlineSink(sessions) if settings.verification_events == "inline"
        else BatchingSink(sessions))
    observability.metrics.count_commits(sessions)  # cards issued, redemptions
    mirrors = Mirrors.empty(poll_seconds=settings.change_poll_seconds)
    # A change this worker commits is visible to its own next request at once.
    event.listen(sessions, "after_commit",
                 lambda session: published(session) and mirrors.follower.mark_stale())
    runtime = Runtime(
        settings=settings,
        master_key=master_key or load_master_key(keys_dir=settings.keys_dir,
                                                 encoded=settings.data_key),
        policy=load_policy(settings.policy_file),
        mirrors=mirrors,
        events=events,
        limiter=RateLimiter(),
        read_sessions=read_sessions,
        replica_sessions=replica_sessions,
    )

    outbox = OutboxSender(sessions, runtime.master_key, SmtpMailer.from_settings(settings),
                          poll_seconds=settings.outbox_poll_seconds)  # emails off the request path

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        outbox.start()
        mirrors.follower.start_polling(read_sessions)  # the feed: always the primary
        yield
        mirrors.follower.stop_polling()
        outbox.close()
        events.close()

    app = ServiceApp(title="idsvc", version="0.1.0", lifespan=lifespan,
                  description="Municipal ID cards: enrollment, issuance and verification.")
    app.state.runtime = runtime
    app.state.sessionmaker = sessions
    app.state.read_sessionmaker = read_sessions
    app.state.replica_sessions = replica_sessions
    app.state.observability = observability
    app.state.appointment_limits = AppointmentLimits.from_settings(settings)  # per worker
    install_error_handlers(app, pages=render_error)
    _install_fallback_handlers(app)

    app.include_router(verification_router, prefix=API_PREFIX)  # partner API key, not staff
    app.include_router(keys_public_router)
    app.include_router(operations_router)  # /healthz, /readyz, /metrics
    app.include_router(status_public_router)
    app.include_router(verification_public_router)
    app.include_router(auth_public_router, prefix=API_PREFIX)
    app.include_router(enrollment_public_router, prefix=API_PREFIX)
    app.include_router(redemptions_router, prefix=API_PREFIX)  # partner API key, not staff
    app.include_router(benefits_public_router, prefix=API_PREFIX)
    app.include_router(residents_public_router, prefix=API_PREFIX)
    app.include_router(cards_public_router, prefix=API_PREFIX)  # mailer codes, no login
    app.include_router(residents_self_router, prefix=API_PREFIX)  # resident token, not staff
    app.include_router(appointments_public_router, prefix=API_PREFIX)  # no account
    staff_only = [Depends(current_staff)]
    for router in (staff_router, centres_router, enrollment_router, cards_router,
                   partners_router, keys_admin_router, benefits_router, residents_router,
                   reports_router, audit_router, retention_router, print_batches_router,
                   appointments_router, queue_router):
        app.include_router(router, prefix=API_PREFIX, dependencies=staff_only)
    for pages in (web_public_pages, staff_pages, admin_home, partner_admin_pages,
                  benefit_admin_pages, centre_admin_pages, staff_admin_pages,
                  key_admin_pages, report_pages,
                  benefits_pages, resident_public_pages,
                  resident_pages, offline_pages, partner_pages,
                  enrollment_pages, card_pages, card_activation_pages, queue_pages, display_pages,
                  appointment_public_pages, appointment_pages):
        app.include_router(pages)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    limits = AddressLimits.from_settings(settings)  # per worker, shared by both layers
    hsts = settings.cookie_secure
    app.add_middleware(AddressThrottle, limits=limits)
    app.add_middleware(SecurityHeaders, hsts=hsts)
    app.add_middleware(BodySizeLimit, max_bytes=settings.photo_max_bytes + 1_048_576, hsts=hsts)
    app.add_middleware(LastResortErrors, hsts=hsts)
    verify_path = f"{API_PREFIX}/verify"

    def with_fast_path(stack: ASGIApp) -> ASGIApp:
        """The observer around the app's stack, and the verify fast path ahead of it all,
        which reports to that same observer (ids and counts for every answer)."""
        observer = observability.observe(stack, routes=app.routes, fixed_routes=(verify_path,))
        return FastPath(observer, path=verify_path, endpoint=verify_endpoint,
                        headers=response_headers(hsts=hsts), limits=limits, hsts=hsts,
                        observer=observer)

    app.fast_path = with_fast_path
    return app
