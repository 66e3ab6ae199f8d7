"""Offline verification agrees with online, and says `status_unknown` when it cannot know."""

from __future__ import annotations

import zlib
from datetime import timedelta

import pytest

from idsvc.cards.base45 import b45decode, b45encode
from idsvc.clock import utcnow
from idsvc.status.token import parse_token
from idsvc.verification.checker import Result
from idsvc.verification.offline import (
    OfflineTrust,
    keys_from_jwks,
    trust_from_bundle,
    verify_offline,
)
from idsvc.verification.sources import credential_text
from tests.factories import card_qr, enroll_and_approve, partner_headers

DAY = timedelta(days=1)


@pytest.fixture
def cards_in_every_state(client, clerk):
    """QR texts of a valid, a suspended, a revoked and a replaced (old version) card."""
    qrs = {}
    for state in ("valid", "suspended", "revoked", "replaced"):
        card = enroll_and_approve(client, clerk, given_name=state.title())
        number = card["card_number"]
        qrs[state] = card_qr(client, clerk, number)
        if state == "suspended":
            client.post(f"/api/v1/cards/{number}/suspend", json={"reason": "investigation"},
                        headers=clerk)
        elif state == "revoked":
            client.post(f"/api/v1/cards/{number}/revoke", json={"reason": "stolen"},
                        headers=clerk)
        elif state == "replaced":
            client.post(f"/api/v1/cards/{number}/replace", json={"reason": "damaged"},
                        headers=clerk)
    return qrs


def test_offline_and_online_agree(client, admin, cards_in_every_state):
    police = partner_headers(client, admin)
    trust = trust_from_bundle(client.get("/offline-bundle.json").json(), max_age=DAY)
    expected = {"valid": "valid", "suspended": "suspended", "revoked": "revoked",
                "replaced": "revoked"}
    for state, qr in cards_in_every_state.items():
        online = client.post("/api/v1/verify", json={"qr": qr}, headers=police).json()
        offline = verify_offline(qr, trust, now=utcnow())
        assert online["result"] == offline.result == expected[state], state


def test_offline_sees_expiry(client, cards_in_every_state):
    trust = trust_from_bundle(client.get("/offline-bundle.json").json(), max_age=DAY * 4000)
    later = utcnow() + timedelta(days=6 * 366)
    assert verify_offline(cards_in_every_state["valid"], trust, now=later).result == "expired"


def test_no_status_list_is_status_unknown_never_valid(client, cards_in_every_state):
    keys = keys_from_jwks(client.get("/.well-known/jwks.json").json())
    trust = OfflineTrust("https://id.riverton.example", keys, {}, DAY)
    for qr in cards_in_every_state.values():
        assert verify_offline(qr, trust, now=utcnow()).result == Result.STATUS_UNKNOWN


def test_stale_status_list_is_status_unknown(client, cards_in_every_state):
    trust = trust_from_bundle(client.get("/offline-bundle.json").json(), max_age=DAY)
    two_days_on = utcnow() + 2 * DAY
    result = verify_offline(cards_in_every_state["valid"], trust, now=two_days_on).result
    assert result == Result.STATUS_UNKNOWN


def test_forged_card_is_invalid_offline(client, cards_in_every_state):
    trust = trust_from_bundle(client.get("/offline-bundle.json").json(), max_age=DAY)
    qr = cards_in_every_state["valid"]
    forged = qr[:40] + ("A" if qr[40] != "A" else "B") + qr[41:]
    assert verify_offline(forged, trust, now=utcnow()).result == Result.INVALID


def test_status_endpoint_serves_a_signed_cacheable_list(client, clerk, cards_in_every_state):
    jwks = keys_from_jwks(client.get("/.well-known/jwks.json").json())
    bundle = client.get("/offline-bundle.json").json()
    uri = next(iter(bundle["status_lists"]))
    path = uri.removeprefix("https://id.riverton.example")
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/statuslist+jwt")
    assert "max-age" in r.headers["cache-control"] and r.headers["etag"]
    token = parse_token(r.text, public_keys={k: v.public_key for k, v in jwks.items()})
    assert token.uri == uri and token.ttl and token.bits == 2
    assert len(token.packed) * 4 >= 131_072
    again = client.get(path, headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    # A revocation changes the list, so the old ETag no longer matches.
    valid = enroll_and_approve(client, clerk, given_name="Later")
    client.post(f"/api/v1/cards/{valid['card_number']}/revoke", json={"reason": "lost"},
                headers=clerk)
    changed = client.get(path, headers={"If-None-Match": r.headers["etag"]})
    assert changed.status_code == 200 and changed.headers["etag"] != r.headers["etag"]


def test_unknown_status_list_is_404(client):
    r = client.get("/status/999999")
    assert r.status_code == 404 and r.json()["error"] == "status_list_not_found"


def test_card_image_read_by_the_offline_reader(client, clerk, tmp_path):
    card = enroll_and_approve(client, clerk)
    back = client.get(f"/api/v1/cards/{card['card_number']}/back.png", headers=clerk).content
    photo = tmp_path / "card.png"
    photo.write_bytes(back)
    assert credential_text(str(photo)) == card_qr(client, clerk, card["card_number"])


def test_one_bad_status_list_does_not_spoil_the_bundle(client, cards_in_every_state):
    bundle = client.get("/offline-bundle.json").json()
    uris = list(bundle["status_lists"])
    bundle["status_lists"]["https://id.riverton.example/status/999"] = "not.a.token"
    first = bundle["status_lists"][uris[0]]
    header, payload, signature = first.split(".")
    bundle["status_lists"]["https://id.riverton.example/status/998"] = (
        f"{header}.{payload}.{'A' * len(signature)}")
    trust = trust_from_bundle(bundle, max_age=DAY)
    assert set(trust.lists) == set(uris)
    assert verify_offline(cards_in_every_state["valid"], trust, now=utcnow()).result == "valid"


def test_a_cut_or_padded_zlib_stream_is_invalid(client, cards_in_every_state):
    trust = trust_from_bundle(client.get("/offline-bundle.json").json(), max_age=DAY)
    raw = b45decode(cards_in_every_state["valid"])
    assert zlib.decompress(raw)  # the real one is whole
    for damaged in (raw[:-4], raw + b"junk"):
        text = b45encode(damaged).decode()
        check = verify_offline(text, trust, now=utcnow())
        assert (check.result, check.reason) == (Result.INVALID, "malformed")
