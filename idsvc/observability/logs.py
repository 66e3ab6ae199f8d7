"""Log lines: one JSON object per line (production) or plain text (the demo).

Every line of a request names its request id and route template (from `context.py`).
The access line is ours, not uvicorn's: uvicorn's prints the raw path with its query
string (a card number may be in either) and the client's address; ours prints the method,
the route template, the status and the duration. Exceptions are logged by type and place
only: their text may quote a request's personal data.
"""

from __future__ import annotations

import json
import logging
import traceback
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from idsvc.observability.context import current

if TYPE_CHECKING:  # kept light: each worker imports this module before it serves
    from idsvc.config import Settings

ACCESS = logging.getLogger("idsvc.access")
_EXTRA_FIELDS = ("request_id", "route", "method", "status", "duration_ms")
ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


class RequestFields(logging.Filter):
    """Adds the id and route of the request being served to every record; drops uvicorn's
    WebSocket lines, which print the client's address and the raw path."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "uvicorn.error" and '"WebSocket ' in str(record.msg):
            return False
        found = current()
        if found is not None:
            record.request_id = found[0]
            if not hasattr(record, "route"):
                record.route = found[1]
        return True


def _where(exc_info: ExcInfo) -> str:
    frames = traceback.extract_tb(exc_info[2]) if exc_info[2] else None
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "request_id", "route", ...}` per line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in _EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info and record.exc_info[0] is not None:
            line["exception"] = record.exc_info[0].__name__
            line["where"] = _where(record.exc_info)  # type: ignore[arg-type]
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`2026-12-01 01:02:03,456 INFO idsvc.access [3f9a1c0e7b2d-1a] POST /api/v1/verify ...`"""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
                         defaults={"request_id": "-"})

    def formatException(self, ei: Any) -> str:  # only the type and place, never the text
        return f"{ei[0].__name__} at {_where(ei)}"


def log_config(settings: Settings) -> dict[str, Any]:
    """A `logging.config.dictConfig` for the server: ours for every logger, uvicorn's
    access log off (`access_log` turns ours on or off)."""
    # Other libraries stay at INFO or above even when ours debug: a driver's or a form
    # parser's debug lines may quote what a request carried.
    level = "INFO" if settings.log_level == "DEBUG" else settings.log_level
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request": {"()": f"{__name__}.RequestFields"}},
        "formatters": {"json": {"()": f"{__name__}.JsonFormatter"},
                       "text": {"()": f"{__name__}.TextFormatter"}},
        "handlers": {"default": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                                 "formatter": settings.log_format, "filters": ["request"]}},
        "loggers": {
            "uvicorn": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.access": {"level": "WARNING", "handlers": [], "propagate": False},
            "sqlalchemy": {"level": "WARNING"},  # SQL parameters may hold card numbers
            "httpx": {"level": "WARNING"},  # outgoing URLs with their query strings
            "alembic": {"level": "WARNING"},  # /readyz checks the revision on every probe
            "idsvc": {"level": settings.log_level},
            ACCESS.name: {"level": "INFO" if settings.access_log else "WARNING"},
        },
        "root": {"level": level, "handlers": ["default"]},
    }


def server_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run`: our logging, and no uvicorn access log."""
    return {"log_config": log_config(settings), "access_log": False}
