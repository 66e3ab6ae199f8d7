"""Per-address limits on the login routes and on redemptions, ahead of the routes.

A login route that answers 401 has refused the credentials (every login in idsvc answers
a wrong password, an unknown name and a locked account alike with 401), so the failure is
charged to the client address; once the address has used up its hourly budget, every
login route answers 429 with `Retry-After` before any password is checked. Redemptions
take one request from the address's per-minute budget, as `POST /api/v1/verify` does in
its fast path. Refusals are rendered by the app's own handlers: JSON for the API, the
error page (in the visitor's language) for the login pages.

Other requests pass with one set lookup. The desk's own JSON routes (`/partner/verify`,
`/partner/redemptions`) are not here: they need a logged-in desk, and the partner's limit
already counts them.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from idsvc.abuse import AddressLimits, client_address
from idsvc.errors import RateLimited
from idsvc.verification.fastpath import handler_for

API = "/api/v1"
LOGIN_PATHS = frozenset({
    f"{API}/auth/token", f"{API}/auth/session", "/staff/login",   # staff
    "/partner/login",                                              # partner desks
    f"{API}/residents/login", "/resident/login",                   # residents
    f"{API}/residents/activate", "/resident/activate",             # one-time codes
    f"{API}/cards/activate", "/card/activate", "/resident/card/activate",  # mailer codes
})
PARTNER_PATHS = frozenset({f"{API}/redemptions"})  # POST /api/v1/verify: in its fast path


class AddressThrottle:
    """Charges failed logins and redemption requests to the client address."""

    def __init__(self, app: ASGIApp, *, limits: AddressLimits) -> None:
        self.app, self.limits = app, limits
        self.paths = LOGIN_PATHS | PARTNER_PATHS

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths or \
                scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        address = client_address(scope)
        if scope["path"] in PARTNER_PATHS:
            refusal = self.limits.request_refusal(address)
            if refusal is not None:
                await _refuse(scope, receive, send, refusal)
                return
            await self.app(scope, receive, send)
            return
        refusal = self.limits.login_refusal(address)
        if refusal is not None:
            await _refuse(scope, receive, send, refusal)
            return

        async def charging_failures(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                self.limits.count_login_failure(address)
            await send(message)

        await self.app(scope, receive, charging_failures)


async def _refuse(scope: Scope, receive: Receive, send: Send, refusal: RateLimited) -> None:
    """Answer as the app answers a `RateLimited` raised by a route."""
    request = Request(scope, receive)
    handler = handler_for(request, refusal)
    if handler is None:  # an app without idsvc's handlers (never in create_app)
        raise refusal
    response = await handler(request, refusal)
    await response(scope, receive, send)
