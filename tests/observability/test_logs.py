"""Log lines: JSON objects (or text for the demo), and never a resident's personal data."""

from __future__ import annotations

import json

import pytest

from tests.factories import applicant, card_qr, enroll_and_approve, partner_headers
from tests.observability.conftest import captured_logs


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def test_access_lines_are_json_with_the_route_template_and_no_path(database, client, clerk):
    number = enroll_and_approve(client, clerk)["card_number"]
    with captured_logs(database.settings) as buffer:
        client.get(f"/api/v1/cards/{number}?q={number}", headers=clerk)
    [line] = [line for line in _lines(buffer.getvalue()) if line["logger"] == "idsvc.access"]
    assert set(line) == {"time", "level", "logger", "message", "request_id", "route",
                         "method", "status", "duration_ms"}
    assert line["route"] == "/api/v1/cards/{card_number}" and line["status"] == 200
    assert line["message"].startswith("GET /api/v1/cards/{card_number} 200 ")
    assert line["time"].endswith("Z") and line["level"] == "INFO"
    assert number not in buffer.getvalue()


def test_text_lines_for_the_demo(database, client):
    settings = database.settings.model_copy(update={"log_format": "text"})
    with captured_logs(settings) as buffer:
        r = client.get("/healthz")
    line = buffer.getvalue().strip()
    assert f" INFO idsvc.access [{r.headers['x-request-id']}] GET /healthz 200 " in line


def test_the_access_log_can_be_turned_off(database, client):
    with captured_logs(database.settings.model_copy(update={"access_log": False})) as buffer:
        client.get("/healthz")
    assert buffer.getvalue() == ""


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_no_personal_data_in_any_log_line(database, client, clerk, admin, level):
    """Enrol, approve, look the card up, verify it (QR and number) and fail a few requests,
    with the server's logging at `level`: no name, birth date, address, phone or card
    number in any line."""
    fields = {"given_name": "Zephyrine", "family_name": "Oyelaran-Whitcombe",
              "date_of_birth": "1979-02-23",
              "address": {"line1": "9876 Quillfeather Lane", "city": "Riverton",
                          "postal_code": "10457"},
              "emergency_contact": {"name": "Bartholomew Oyelaran", "relationship": "brother",
                                    "phone": "+1 555 018 7734"}}
    settings = database.settings.model_copy(update={"log_level": level})
    with captured_logs(settings) as buffer:
        number = enroll_and_approve(client, clerk, **fields)["card_number"]
        assert client.get(f"/api/v1/cards/{number}", headers=clerk).status_code == 200
        qr = card_qr(client, clerk, number)
        partner = partner_headers(client, admin)
        for body in ({"qr": qr}, {"card_number": number}):
            assert client.post("/api/v1/verify", json=body, headers=partner).json()[
                "result"] == "valid"
        client.post("/api/v1/verify", json={"card_number": number})  # no key: 401
        client.post("/api/v1/applications", headers=clerk,
                    json={**applicant(**fields), "citizenship": "none"})  # refused: 422
        client.get(f"/api/v1/cards/{number}x", headers=clerk)
    text = buffer.getvalue()
    assert len(text.splitlines()) >= 10  # the access lines were captured
    for secret in ("Zephyrine", "Oyelaran", "Whitcombe", "1979-02-23", "Quillfeather",
                   "Bartholomew", "018 7734", "citizenship", number, qr[:40]):
        assert secret not in text, secret
