"""Per-address limits (failed logins, partner requests) and security headers everywhere."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Connection, func
from sqlmodel import Session, select

from idsvc.abuse import AddressLimits, client_address
from idsvc.app import create_app
from idsvc.db import make_sessionmaker
from idsvc.status.models import StatusList
from idsvc.verification import ratelimit
from idsvc.verification.fastpath import MAX_BODY_BYTES
from idsvc.verification.ratelimit import RateLimiter
from idsvc.web.throttle import LOGIN_PATHS, PARTNER_PATHS
from tests.conftest import PASSWORD, SeededDatabase
from tests.factories import card_qr, enroll_and_approve, partner_headers
from tests.pages import post_form

SECURITY_HEADERS = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer",
                    "x-frame-options": "DENY"}
HSTS = "strict-transport-security"


def make_app(database: SeededDatabase, connection: Connection, **settings: Any) -> FastAPI:
    sessions = make_sessionmaker(connection, join_transaction_mode="create_savepoint")
    return create_app(database.settings.model_copy(update=settings),
                      master_key=database.master_key, sessions=sessions)


@pytest.fixture
def strict(database, connection) -> Iterator[TestClient]:
    """An app that allows 3 failed logins per address per hour and 4 partner requests per
    address per minute."""
    app = make_app(database, connection, login_failures_per_address_per_hour=3,
                   partner_requests_per_address_per_minute=4)
    with TestClient(app) as client:
        yield client


def from_address(client: TestClient, host: str) -> TestClient:
    """Another client of the same app, seen as coming from `host`."""
    other = TestClient(client.app, client=(host, 40000))
    other.cookies = client.cookies
    return other


def token_login(client: TestClient, password: str):
    return client.post("/api/v1/auth/token", data={"username": "clerk", "password": password})


# --- failed logins per address ----------------------------------------------------------

def test_failed_logins_of_any_kind_share_one_budget_per_address(strict, admin):
    assert token_login(strict, "wrong password!").status_code == 401
    assert post_form(strict, "/partner/login", {"username": "nobody", "password": "x" * 12},
                     page="/partner/login").status_code == 401
    assert strict.post("/api/v1/residents/login", json={"card_number": "123456789012",
                                                        "secret": "000000"}).status_code == 401
    # The budget is spent: even the right password is not tried, on any login route.
    r = token_login(strict, PASSWORD)
    assert r.status_code == 429 and r.json()["error"] == "too_many_failed_logins"
    assert 1 <= int(r.headers["retry-after"]) <= 3600
    page = post_form(strict, "/staff/login", {"username": "clerk", "password": PASSWORD},
                     page="/staff/login")
    assert page.status_code == 429 and page.headers["content-type"].startswith("text/html")
    assert "retry-after" in page.headers and "content-security-policy" in page.headers
    # Another address is not held back by this one.
    other = from_address(strict, "203.0.113.9")
    assert token_login(other, PASSWORD).status_code == 200


def test_successful_logins_and_other_answers_use_no_budget(strict):
    for _ in range(5):
        assert token_login(strict, PASSWORD).status_code == 200
        assert strict.post("/api/v1/auth/token", data={}).status_code == 422
    for _ in range(3):
        assert token_login(strict, "nope nope").status_code == 401
    assert token_login(strict, PASSWORD).status_code == 429


def test_every_login_route_is_limited(app: FastAPI):
    """A new login or activation route must be added to the throttle's list."""
    posts = {route.path for route in iter_route_contexts(app.routes)
             if "POST" in (getattr(route, "methods", None) or ())}
    assert posts >= LOGIN_PATHS | PARTNER_PATHS
    looks_like_login = {p for p in posts if p.endswith(("/login", "/activate", "/auth/token",
                                                        "/auth/session"))}
    assert looks_like_login <= LOGIN_PATHS


# --- partner requests per address -------------------------------------------------------

def test_verification_and_redemption_requests_share_a_budget_per_address(
        strict, admin, clerk):
    key = partner_headers(strict, admin)
    qr = card_qr(strict, clerk, enroll_and_approve(strict, clerk)["card_number"])
    for _ in range(2):
        r = strict.post("/api/v1/verify", json={"qr": qr}, headers=key)
        assert r.status_code == 200 and r.json()["result"] == "valid"
    r = strict.post("/api/v1/redemptions", json={"qr": qr, "benefit_id": 2**30},
                    headers={**key, "Idempotency-Key": "abcdefgh1"})
    assert r.status_code in (403, 404, 422)  # refused on its merits, but counted
    assert strict.post("/api/v1/verify", json={"qr": qr}, headers={}).status_code == 401
    for path, body in (("/api/v1/verify", {"qr": qr}),
                       ("/api/v1/redemptions", {"qr": qr, "benefit_id": 1})):
        refused = strict.post(path, json=body, headers={**key, "Idempotency-Key": "abcdefgh2"})
        assert refused.status_code == 429, path
        assert refused.json()["error"] == "rate_limited"
        assert int(refused.headers["retry-after"]) >= 1
        assert_security_headers(refused)
    other = from_address(strict, "198.51.100.7")
    assert other.post("/api/v1/verify", json={"qr": qr}, headers=key).status_code == 200
    # Reading the redemption log is not a redemption request.
    assert strict.get("/api/v1/redemptions", headers=key).status_code == 200


def test_a_zero_limit_turns_the_budgets_off(database, connection):
    app = make_app(database, connection, login_failures_per_address_per_hour=0,
                   partner_requests_per_address_per_minute=0)
    with TestClient(app) as client:
        for _ in range(60):
            assert token_login(client, "wrong password").status_code == 401
            assert client.post("/api/v1/verify", json={"qr": "x"}).status_code == 401


def test_addresses_ipv6_by_slash_64():
    def of(host: str | None) -> str:
        return client_address({"client": (host, 1) if host else None})

    assert of("192.0.2.1") == "192.0.2.1"
    assert of("2001:db8:1:2::1") == of("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert of("2001:db8:1:3::1") != of("2001:db8:1:2::1")
    assert of(None) == ""
    assert of("fe80::1%eth0") == "fe80::/64"
    assert of("not:an:address") == "not:an:address"  # not parsed: kept whole


def test_address_limits_count_failures_only_when_told():
    limits = AddressLimits(login_failures_per_hour=2, requests_per_minute=1)
    assert limits.login_refusal("a") is None
    limits.count_login_failure("a")
    assert limits.login_refusal("a") is None
    limits.count_login_failure("a")
    refusal = limits.login_refusal("a")
    assert refusal is not None and refusal.status_code == 429
    assert 1700 <= refusal.details["retry_after"] <= 1801  # one failure back per half hour
    assert limits.login_refusal("b") is None
    assert limits.request_refusal("a") is None and limits.request_refusal("a") is not None


def test_the_token_bucket_refills_over_its_period_and_forgets_idle_keys(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(ratelimit.time, "monotonic", lambda: now[0])
    hourly = RateLimiter(period=3600.0)
    assert hourly.take("x", 2) is None and hourly.take("x", 2) is None
    assert hourly.wait("x", 2) == pytest.approx(1800.0)
    now[0] += 1800.0
    assert hourly.wait("x", 2) is None and hourly.wait("x", 2) is None  # peeking is free
    assert hourly.take("x", 2) is None and hourly.take("x", 2) is not None

    monkeypatch.setattr(RateLimiter, "MAX_KEYS", 3)
    limiter = RateLimiter()
    for key in ("a", "b", "c"):
        limiter.take(key, 10)
    now[0] += 61.0
    limiter.take("d", 10)  # the full table drops the buckets idle for a whole period
    assert set(limiter._buckets) == {"d"}


# --- security headers -------------------------------------------------------------------

def assert_security_headers(response, *, hsts: bool = False) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (response.request.url, name)
    assert "frame-ancestors 'none'" in response.headers.get("content-security-policy",
                                                            "frame-ancestors 'none'")
    assert (HSTS in response.headers) is hsts, response.request.url


@pytest.mark.parametrize("secure", [False, True])
def test_every_kind_of_response_carries_the_security_headers(database, connection, admin,
                                                             clerk, secure):
    app = make_app(database, connection, cookie_secure=secure)
    with TestClient(app, base_url="https://testserver") as client:
        key = partner_headers(client, admin)
        qr = card_qr(client, clerk, enroll_and_approve(client, clerk)["card_number"])
        with Session(bind=connection) as session:
            list_id = session.exec(select(func.max(StatusList.id))).one()
        responses = {
            "page": client.get("/"),
            "login page": client.get("/staff/login"),
            "API": client.get("/api/v1/benefits"),
            "staff API": client.get("/api/v1/staff/me", headers=admin),
            "static": client.get("/static/favicon.svg"),
            "status list": client.get(f"/status/{list_id}"),
            "JWKS": client.get("/.well-known/jwks.json"),
            "fast path": client.post("/api/v1/verify", json={"qr": qr}, headers=key),
            "fast path 401": client.post("/api/v1/verify", json={"qr": qr}),
            "fast path 422": client.post("/api/v1/verify", json={"nope": 1}, headers=key),
            "API 404": client.get("/api/v1/nothing-here"),
            "page 404": client.get("/nothing-here"),
            "API 401": client.get("/api/v1/staff/me"),
            "fast path 413": client.post("/api/v1/verify", headers=key,
                                         json={"qr": "x" * (MAX_BODY_BYTES + 1)}),
            "too large": client.post("/api/v1/applications", content=b"x",
                                     headers={"content-length": str(2**40)}),
        }
    expected = {"page": 200, "login page": 200, "API": 200, "staff API": 200, "static": 200,
                "status list": 200, "JWKS": 200, "fast path": 200, "fast path 401": 401,
                "fast path 422": 422, "API 404": 404, "page 404": 404, "API 401": 401,
                "fast path 413": 413, "too large": 413}
    assert {k: r.status_code for k, r in responses.items()} == expected
    for response in responses.values():
        assert_security_headers(response, hsts=secure)
