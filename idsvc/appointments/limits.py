"""The per-address budget of the public appointment routes.

Every POST under /api/v1/appointments (book, wait, look up, move, cancel) takes one
request from the client address's hourly budget, in this worker's memory (as the other
address budgets of idsvc.abuse). The per-contact limits are kept in the database instead
(service._check_contact_limit): they must hold across workers.
"""

from __future__ import annotations

from fastapi import Request

from idsvc.abuse import client_address
from idsvc.config import Settings
from idsvc.errors import RateLimited
from idsvc.verification.ratelimit import RateLimiter


class AppointmentLimits:
    def __init__(self, *, requests_per_hour: int) -> None:
        self.requests_per_hour = requests_per_hour
        self._requests = RateLimiter(period=3600.0)

    @classmethod
    def from_settings(cls, settings: Settings) -> AppointmentLimits:
        return cls(requests_per_hour=settings.appointment_requests_per_address_per_hour)

    def refusal(self, address: str) -> RateLimited | None:
        if not self.requests_per_hour:
            return None
        wait = self._requests.take(address, self.requests_per_hour)
        if wait is None:
            return None
        return RateLimited("Too many appointment requests from your network; try again later.",
                           retry_after=wait)


def charge_address(request: Request) -> None:
    """A dependency: one request from the caller's budget, or 429."""
    limits: AppointmentLimits = request.app.state.appointment_limits
    refusal = limits.refusal(client_address(request.scope))
    if refusal is not None:
        raise refusal
