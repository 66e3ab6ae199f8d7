"""Security headers on every response, and a strict Content-Security-Policy for pages.

`SecurityHeaders` covers what the app routes answer; the verification fast path and the
outer middleware (body limit, last-resort errors) answer ahead of it and append
`response_headers()` themselves, so every response carries the same set.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# No inline scripts or styles anywhere: every script is a file served by idsvc itself.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_COMMON = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(self), microphone=(), geolocation=(), payment=()"),
)
# Browsers that reached the service over HTTPS keep to HTTPS for a year. Only sent when
# cookies are Secure (IDSVC_COOKIE_SECURE), i.e. when the deployment is served over HTTPS.
STRICT_TRANSPORT_SECURITY = (b"strict-transport-security", b"max-age=31536000")


def response_headers(*, hsts: bool) -> tuple[tuple[bytes, bytes], ...]:
    """The headers every response gets (precomputed once: no work per request)."""
    return (*_COMMON, STRICT_TRANSPORT_SECURITY) if hsts else _COMMON


# Swagger UI and ReDoc load their own inline code: the API docs keep FastAPI's defaults.
_NO_CSP_PREFIXES = ("/docs", "/redoc")


class SecurityHeaders:
    """Adds the headers a response has not set itself; HTML is never cached."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.headers = response_headers(hsts=hsts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with_csp = not scope["path"].startswith(_NO_CSP_PREFIXES)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                extra = [(n, v) for n, v in self.headers if n not in present]
                if with_csp and b"content-security-policy" not in present:
                    extra.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))
                content_type = next((v for n, v in headers if n.lower() == b"content-type"), b"")
                if content_type.startswith(b"text/html") and b"cache-control" not in present:
                    extra.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)
