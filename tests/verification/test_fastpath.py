"""The verification route is served ahead of the framework: same answers, same contract."""

from __future__ import annotations

import asyncio
import json

from fastapi import FastAPI
from starlette.types import Message

from idsvc.verification.fastpath import MAX_BODY_BYTES, FastPath
from tests.factories import partner_headers


def test_the_verify_body_is_documented_in_openapi(client):
    operation = client.get("/openapi.json").json()["paths"]["/api/v1/verify"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert set(schema["properties"]) == {"qr", "card_number"}
    assert schema["additionalProperties"] is False
    assert "200" in operation["responses"]


def test_other_methods_and_paths_pass_through(client, clerk):
    assert client.get("/api/v1/verify").status_code == 405
    assert client.post("/api/v1/verify/", json={"qr": "X"}).status_code in (307, 401, 404)
    assert client.get("/api/v1/staff/me", headers=clerk).status_code == 200


def test_invalid_json_is_a_422_in_the_usual_shape(client, admin):
    police = partner_headers(client, admin)
    response = client.post("/api/v1/verify", content=b"{not json",
                           headers={**police, "Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"] == "validation_failed"


def _call(app: FastPath, messages: list[Message]) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/verify", "headers": [],
             "query_string": b""}
    asyncio.run(app(scope, receive, send))
    return sent


def test_a_partner_that_hangs_up_gets_no_answer_and_no_error():
    async def endpoint(request):
        await request.body()
        raise AssertionError("the body never came")

    async def never(scope, receive, send):
        raise AssertionError("passed through")

    app = FastPath(never, path="/verify", endpoint=endpoint)
    assert _call(app, [{"type": "http.disconnect"}]) == []


def test_an_exception_without_a_handler_is_a_json_500_that_quotes_nothing(caplog):
    async def endpoint(request):
        raise KeyError("Maria Lopez")

    class App:
        def __init__(self) -> None:
            self.exception_handlers: dict = {}

    async def never(scope, receive, send):
        raise AssertionError("passed through")

    app = FastPath(never, path="/verify", endpoint=endpoint, hsts=True)
    sent: list[Message] = []

    async def run() -> None:
        async def receive() -> Message:
            return {"type": "http.request", "body": b""}

        async def send(message: Message) -> None:
            sent.append(message)

        await app({"type": "http", "method": "POST", "path": "/verify", "headers": [],
                   "query_string": b"", "app": App()}, receive, send)

    asyncio.run(run())
    assert sent[0]["status"] == 500
    assert (b"strict-transport-security", b"max-age=31536000") in sent[0]["headers"]
    assert json.loads(sent[1]["body"])["error"] == "internal_error"
    assert "KeyError" in caplog.text and "Maria" not in caplog.text


def test_a_body_in_several_chunks_is_read_whole(client, admin):
    police = partner_headers(client, admin)
    chunks = [b"{\"card_", b"number\": ", b"\"000000000000\"}"]
    response = client.post("/api/v1/verify", content=iter(chunks),
                           headers={**police, "Content-Type": "application/json"})
    assert response.status_code == 200
    assert response.json()["result"] == "not_found"


def test_an_oversized_body_is_refused_before_it_is_parsed(client, admin):
    police = partner_headers(client, admin)
    response = client.post("/api/v1/verify", json={"qr": "A" * (MAX_BODY_BYTES + 1)},
                           headers=police)
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_fastapis_own_telemetry_stays_off_even_with_a_provider_configured(app, monkeypatch):
    """A process-wide OpenTelemetry setup must not export idsvc's requests (their paths hold
    card numbers): idsvc's metrics and logs are its own (README, Operations)."""
    from opentelemetry import _logs, metrics, trace

    class Configured:  # any provider FastAPI would take for a real one
        pass

    for module, getter in ((trace, "get_tracer_provider"), (metrics, "get_meter_provider"),
                           (_logs, "get_logger_provider")):
        monkeypatch.setattr(module, getter, Configured)
    assert FastAPI(telemetry={})._native_telemetry.enabled()  # what FastAPI would do
    assert not app._native_telemetry.enabled()
