"""Domain errors and the one place that turns them into HTTP responses.

Services raise these instead of HTTPException so that rules stay free of
HTTP and the API and the pages render the same failure the same way:
JSON `{"error": code, "message": text, ...}` with the right 4xx status (503 or 507
when the database itself fails).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

log = logging.getLogger("idsvc")


class DomainError(Exception):
    """A refusal that the caller can act on; never a bug."""

    status_code: ClassVar[int] = 400
    default_code: ClassVar[str] = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.code = code or self.default_code
        self.message = message
        self.details = details

    def headers(self) -> dict[str, str] | None:
        return {"WWW-Authenticate": "Bearer"} if self.status_code == 401 else None

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.details}


class Invalid(DomainError):
    status_code = 422
    default_code = "invalid"


class NotFound(DomainError):
    status_code = 404
    default_code = "not_found"


class Conflict(DomainError):
    status_code = 409
    default_code = "conflict"


class Unauthorized(DomainError):
    status_code = 401
    default_code = "not_authenticated"


class Forbidden(DomainError):
    status_code = 403
    default_code = "forbidden"


class PayloadTooLarge(DomainError):
    status_code = 413
    default_code = "too_large"


class Unavailable(DomainError):
    """The deployment is not set up to do this yet (an operator must act), or is overloaded."""

    status_code = 503
    default_code = "unavailable"


class DatabaseUnavailable(DomainError):
    """The database cannot be reached (restarting, network): nothing was saved; the same
    request may simply be sent again."""

    status_code = 503
    default_code = "database_unavailable"

    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": "5"}


class StorageError(DatabaseUnavailable):
    """The database could not write to its disk: over a quota, a file size limit, or a
    failing disk. Nothing was saved."""

    default_code = "storage_error"


class StorageFull(DomainError):
    """The database's disk is full. Nothing was saved; what only reads still works;
    retrying will not help until an operator frees space, hence 507 and no Retry-After."""

    status_code = 507
    default_code = "storage_full"


# SQLite's primary result codes (the low byte of its extended codes).
_SQLITE_IOERR, _SQLITE_FULL = 10, 13
_PG_DISK_FULL = "53100"


def database_failure(exc: OperationalError) -> DomainError:
    """What a failure of the database itself means for the caller: a full disk, a disk
    that refuses writes, or a database out of reach."""
    sqlite_code = getattr(exc.orig, "sqlite_errorcode", None)
    primary = sqlite_code & 0xFF if isinstance(sqlite_code, int) else None
    if primary == _SQLITE_FULL or getattr(exc.orig, "sqlstate", None) == _PG_DISK_FULL:
        return StorageFull("The server's disk is full, so nothing was saved. An operator "
                           "must free space before changes can be saved again.")
    if primary == _SQLITE_IOERR:
        return StorageError("The server could not write to its disk (full, over a quota or "
                            "failing), so nothing was saved; try again later.")
    return DatabaseUnavailable("The database is unavailable; try again shortly.")


class RateLimited(DomainError):
    status_code = 429
    default_code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float, **details: Any) -> None:
        super().__init__(message, retry_after=max(1, round(retry_after + 0.5)), **details)

    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": str(self.details["retry_after"])}


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Describe bad fields without echoing their values: they may be personal data."""
    return [
        {"loc": [str(part) for part in err.get("loc", ())], "type": err.get("type"),
         "msg": err.get("msg")}
        for err in exc.errors()
    ]


# Renders a refusal as an HTML page for browser routes; returns None for API routes.
PageRenderer = Callable[[Request, int, dict[str, Any], dict[str, str] | None], Response | None]


def install_error_handlers(app: FastAPI, *, pages: PageRenderer | None = None) -> None:
    """Render every failure as `{"error", "message"}` with a 4xx, never a stack trace; on
    the pages, the same failure as an HTML page (or a redirect to the login)."""

    def respond(request: Request, status: int, body: dict[str, Any],
                headers: dict[str, str] | None = None) -> Response:
        page = pages(request, status, body, headers) if pages else None
        return page or JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        return respond(request, exc.status_code, exc.body(), exc.headers())

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        fields = _validation_errors(exc)
        unknown = [".".join(f["loc"][1:]) for f in fields if f["type"] == "extra_forbidden"]
        if unknown:
            body = {"error": "unknown_field",
                    "message": "These fields are not accepted: " + ", ".join(unknown),
                    "fields": fields}
        else:
            body = {"error": "validation_failed", "message": "The request is not valid.",
                    "fields": fields}
        return respond(request, 422, body)

    @app.exception_handler(OperationalError)
    async def _database(request: Request, exc: OperationalError) -> Response:
        # The driver's own name for the failure only: its text may quote a statement's values.
        name = getattr(exc.orig, "sqlite_errorname", None) or type(exc.orig).__name__
        failure = database_failure(exc)
        log.error("database failure (%s): %s", failure.code, name)
        return respond(request, failure.status_code, failure.body(), failure.headers())

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "not_authenticated",
                 403: "forbidden", 413: "too_large"}
        code = codes.get(exc.status_code, "http_error")
        return respond(request, exc.status_code, {"error": code, "message": str(exc.detail)},
                       exc.headers)
