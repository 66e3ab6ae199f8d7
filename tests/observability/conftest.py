"""An app with a metrics token, a Prometheus scrape helper, and log capture."""

from __future__ import annotations

import io
import logging
import logging.config
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import Connection

from idsvc.app import create_app
from idsvc.config import Settings
from idsvc.db import make_sessionmaker
from idsvc.observability.logs import log_config
from tests.conftest import SeededDatabase

METRICS_TOKEN = "scrape-token-for-the-tests-0123456789"
SCRAPER = {"Authorization": f"Bearer {METRICS_TOKEN}"}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def app(database: SeededDatabase, connection: Connection) -> FastAPI:
    """The suite's app (see tests/conftest.py) with a metrics token."""
    sessions = make_sessionmaker(connection, join_transaction_mode="create_savepoint")
    settings = database.settings.model_copy(update={"metrics_token": SecretStr(METRICS_TOKEN)})
    return create_app(settings, master_key=database.master_key, sessions=sessions)


def scrape(client: TestClient) -> Samples:
    r = client.get("/metrics", headers=SCRAPER)
    assert r.status_code == 200, r.text
    return parse(r.text)


def parse(text: str) -> Samples:
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


_TOUCHED = ("", "uvicorn", "uvicorn.access", "uvicorn.error", "idsvc", "idsvc.access",
            "sqlalchemy", "httpx")


@contextmanager
def captured_logs(settings: Settings) -> Iterator[io.StringIO]:
    """The server's own logging set-up (`log_config`), written to a buffer; the previous
    set-up is put back afterwards."""
    saved = {name: (logging.getLogger(name).level, logging.getLogger(name).handlers[:],
                    logging.getLogger(name).propagate) for name in _TOUCHED}
    buffer = io.StringIO()
    config = log_config(settings)
    config["handlers"]["default"]["stream"] = buffer
    logging.config.dictConfig(config)
    try:
        yield buffer
    finally:
        for name, (level, handlers, propagate) in saved.items():
            logger = logging.getLogger(name)
            logger.setLevel(level)
            logger.handlers[:] = handlers
            logger.propagate = propagate
