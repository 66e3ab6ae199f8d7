"""Abuse limits: the login back-off of every account, and budgets per client address.

One back-off rule serves residents, staff and partner desk users alike: after
`FREE_FAILURES` wrong passwords in a row each further failure doubles the wait, from 30
seconds; after `LOCKOUT_FAILURES` the account is locked for a day (or until an
administrator or clerk sets a new password or code). The counters live on the account
rows, so every worker and host sees them.

The per-address budgets stop one client from spreading guesses over many accounts (a
few PINs tried on each of thousands of cards) and from flooding the partner API. They are
token buckets in each worker's memory (`RateLimiter`), so with N workers an address gets
up to N times the budget, and a restart forgets them: a cheap first line, not a record.
The address is the ASGI client address; behind a reverse proxy it is the proxy's own
unless uvicorn runs with `--proxy-headers --forwarded-allow-ips=<the proxy's address>`.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Protocol

from starlette.types import Scope

from idsvc.config import Settings
from idsvc.errors import RateLimited
from idsvc.verification.ratelimit import RateLimiter

FREE_FAILURES = 3      # then each failure doubles the wait, from 30 seconds
LOCKOUT_FAILURES = 10  # then a day, or until the password or code is reset
FIRST_WAIT = timedelta(seconds=30)
LOCKOUT = timedelta(days=1)


class LoginCounted(Protocol):
    """An account row with the back-off counters (residents, staff, desk users)."""

    failed_logins: int
    locked_until: datetime | None


def wait_after(failures: int) -> timedelta | None:
    """How long logins stay refused after `failures` wrong passwords in a row."""
    if failures >= LOCKOUT_FAILURES:
        return LOCKOUT
    if failures > FREE_FAILURES:
        return FIRST_WAIT * 2 ** (failures - FREE_FAILURES - 1)
    return None


def is_locked(account: LoginCounted, *, now: datetime) -> bool:
    """True while the back-off refuses logins; callers answer exactly as for a wrong
    password, so a lock tells a stranger nothing about the account."""
    return account.locked_until is not None and account.locked_until > now


def count_failure(account: LoginCounted, *, now: datetime) -> None:
    """One more wrong password: the caller must commit this with its refusal."""
    account.failed_logins += 1
    wait = wait_after(account.failed_logins)
    account.locked_until = now + wait if wait else None


def clear_failures(account: LoginCounted) -> None:
    """A successful login or a reset password starts the count again (and unlocks)."""
    account.failed_logins, account.locked_until = 0, None


def client_address(scope: Scope) -> str:
    """Whom a budget belongs to: the IPv4 address, or the IPv6 /64 (one household or
    host usually holds a whole /64, so single addresses would be free to rotate)."""
    client = scope.get("client")
    host: str = client[0] if client else ""
    return _ipv6_network(host) if ":" in host else host


@lru_cache(maxsize=4096)
def _ipv6_network(host: str) -> str:
    try:
        return str(ipaddress.IPv6Network((host, 64), strict=False))
    except ValueError:
        return host


class AddressLimits:
    """Failed logins and partner requests per client address, in this worker's memory.

    A limit of 0 turns that budget off.
    """

    def __init__(self, *, login_failures_per_hour: int, requests_per_minute: int) -> None:
        self.login_failures_per_hour = login_failures_per_hour
        self.requests_per_minute = requests_per_minute
        self._failures = RateLimiter(period=3600.0)
        self._requests = RateLimiter()

    @classmethod
    def from_settings(cls, settings: Settings) -> AddressLimits:
        return cls(login_failures_per_hour=settings.login_failures_per_address_per_hour,
                   requests_per_minute=settings.partner_requests_per_address_per_minute)

    def login_refusal(self, address: str) -> RateLimited | None:
        """Checked before a login is tried: only failures use the budget up."""
        if not self.login_failures_per_hour:
            return None
        wait = self._failures.wait(address, self.login_failures_per_hour)
        if wait is None:
            return None
        return RateLimited("Too many failed logins from your network; wait and try again.",
                           retry_after=wait, code="too_many_failed_logins")

    def count_login_failure(self, address: str) -> None:
        if self.login_failures_per_hour:
            self._failures.take(address, self.login_failures_per_hour)

    def request_refusal(self, address: str) -> RateLimited | None:
        """One verification or redemption request from `address`, if its budget allows."""
        if not self.requests_per_minute:
            return None
        wait = self._requests.take(address, self.requests_per_minute)
        if wait is None:
            return None
        return RateLimited("Too many requests from your network; slow down.",
                           retry_after=wait)
