"""The verification route is served ahead of the framework: same answers, same contract."""

from __future__ import annotations

import asyncio

import pytest
from starlette.types import Message

from idsvc.verification.fastpath import FastPath
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


def test_an_exception_without_a_handler_is_left_to_the_outer_layers():
    async def endpoint(request):
        raise KeyError("bug")

    class App:
        def __init__(self) -> None:
            self.exception_handlers: dict = {}

    async def never(scope, receive, send):
        raise AssertionError("passed through")

    app = FastPath(never, path="/verify", endpoint=endpoint)
    scope_app = App()

    async def run() -> None:
        async def receive() -> Message:
            return {"type": "http.request", "body": b""}

        async def send(message: Message) -> None:
            raise AssertionError("nothing should be sent")

        await app({"type": "http", "method": "POST", "path": "/verify", "headers": [],
                   "query_string": b"", "app": scope_app}, receive, send)

    with pytest.raises(KeyError):
        asyncio.run(run())
