"""Test data made through the API of a running server: applications, cards, a partner."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from tests.factories import GOOD_DOCUMENTS, applicant, portrait, years_ago


def ready_application(client: httpx.Client, clerk: dict[str, str], n: int) -> str:
    """An application that meets every requirement; `n` makes the person distinct, so
    no two are flagged as possible duplicates of each other."""
    body = applicant(given_name=f"Amaru {chr(ord('A') + n % 26)}",
                     date_of_birth=years_ago(30, days=n).isoformat())
    r = client.post("/api/v1/applications", json=body, headers=clerk)
    assert r.status_code == 201, r.text
    app_id = r.json()["id"]
    for code in GOOD_DOCUMENTS:
        r = client.post(f"/api/v1/applications/{app_id}/documents",
                        json={"document_type": code}, headers=clerk)
        assert r.status_code == 201, r.text
    r = client.put(f"/api/v1/applications/{app_id}/photo",
                   files={"file": ("p.jpg", portrait(), "image/jpeg")}, headers=clerk)
    assert r.status_code == 200, r.text
    return app_id


def approved_card(client: httpx.Client, clerk: dict[str, str], n: int) -> str:
    app_id = ready_application(client, clerk, n)
    r = client.post(f"/api/v1/applications/{app_id}/approve", headers=clerk)
    assert r.status_code == 201, r.text
    return r.json()["card_number"]


@dataclass(frozen=True)
class Partner:
    headers: dict[str, str]
    benefit_id: int

    def redeem(self, client: httpx.Client, number: str, key: str) -> httpx.Response:
        return client.post("/api/v1/redemptions",
                           json={"benefit_id": self.benefit_id, "card_number": number},
                           headers={**self.headers, "Idempotency-Key": key})

    def verify(self, client: httpx.Client, qr: str) -> httpx.Response:
        return client.post("/api/v1/verify", json={"qr": qr}, headers=self.headers)


def partner(client: httpx.Client, admin: dict[str, str]) -> Partner:
    """A museum with one API key, no rate limit to speak of, and a benefit a card may
    use up to a thousand times: every redemption a test makes is one more row."""
    r = client.post("/api/v1/partners", json={"name": "Museum", "kind": "cultural"},
                    headers=admin)
    assert r.status_code == 201, r.text
    partner_id = r.json()["id"]
    r = client.patch(f"/api/v1/partners/{partner_id}", json={"rate_limit_per_minute": 100_000},
                     headers=admin)
    assert r.status_code == 200, r.text
    key = client.post(f"/api/v1/partners/{partner_id}/keys", headers=admin)
    assert key.status_code == 201, key.text
    r = client.post(f"/api/v1/partners/{partner_id}/benefits",
                    json={"name": "Free entry", "limit": {"count": 1000}}, headers=admin)
    assert r.status_code == 201, r.text
    return Partner({"Authorization": f"Bearer {key.json()['api_key']}"}, r.json()["id"])


def card_qr(client: httpx.Client, clerk: dict[str, str], number: str) -> str:
    r = client.get(f"/api/v1/cards/{number}/qr", headers=clerk)
    assert r.status_code == 200, r.text
    return r.json()["qr"]
