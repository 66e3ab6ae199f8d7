"""The card's QR must read in any Claim 169 verifier, and back from the printed card."""

from __future__ import annotations

import io
import json
import random

import claim169
import pytest
import zxingcpp
from PIL import Image

from idsvc.cards.credential import CLAIM_STATUS, decode
from idsvc.cards.qr import qr_version
from idsvc.crypto.es256 import b64url_decode
from tests.conftest import ISSUER
from tests.factories import enroll, enroll_and_approve


def _sec1_public_key(jwk: dict[str, str]) -> bytes:
    return b"\x04" + b64url_decode(jwk["x"]) + b64url_decode(jwk["y"])


def test_qr_verifies_with_independent_claim169_library(client, clerk):
    card = enroll_and_approve(client, clerk)
    qr = client.get(f"/api/v1/cards/{card['card_number']}/qr", headers=clerk).json()["qr"]
    jwks = client.get("/.well-known/jwks.json")
    assert jwks.status_code == 200
    kid = decode(qr).message.kid.decode()
    jwk = next(k for k in jwks.json()["keys"] if k["kid"] == kid)
    assert jwk["alg"] == "ES256" and jwk["use"] == "sig" and jwk["state"] == "active"

    result = claim169.decode_with_ecdsa_p256(qr, _sec1_public_key(jwk))
    assert result.is_verified()
    c = result.claim169
    assert c.id == card["card_number"]
    assert c.version == "1"
    assert c.full_name == "Amaru Quispe Mamani"
    assert c.first_name == "Amaru" and c.last_name == "Quispe Mamani"
    assert c.date_of_birth in ("19880417", "1988-04-17")
    assert c.gender == claim169.Gender.OTHER
    assert c.address == "41 Hudson Street, Apt 3B, Riverton 10013"
    assert c.language == "spa"
    assert c.photo_format == claim169.PhotoFormat.WEBP and c.photo.startswith(b"RIFF")
    assert c.nationality is None and c.legal_status is None
    assert result.cwt_meta.issuer == ISSUER
    assert result.cwt_meta.subject == card["card_number"]
    assert result.cwt_meta.expires_at > result.cwt_meta.issued_at


def test_qr_signed_by_another_key_fails_in_claim169(client, clerk):
    card = enroll_and_approve(client, clerk)
    qr = client.get(f"/api/v1/cards/{card['card_number']}/qr", headers=clerk).json()["qr"]
    other = {"x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
             "y": "x_FEzRu9m36HLN_tue659LNpXW6pOyStikYjKIWI5a0"}
    with pytest.raises(claim169.Claim169Exception):
        claim169.decode_with_ecdsa_p256(qr, _sec1_public_key(other))


def test_status_claim_points_at_a_status_list(client, clerk):
    card = enroll_and_approve(client, clerk)
    qr = client.get(f"/api/v1/cards/{card['card_number']}/qr", headers=clerk).json()["qr"]
    status = decode(qr).claims[CLAIM_STATUS]["status_list"]
    assert status["uri"].startswith(f"{ISSUER}/status/")
    assert 0 <= status["idx"] < 131_072


def test_qr_fits_version_20_and_reads_back_from_printed_card(client, clerk):
    card = enroll_and_approve(client, clerk,
                              given_name="Maximiliana Esperanza del Carmen",
                              family_name="Villalobos-Échevarría de la Torre")
    qr = client.get(f"/api/v1/cards/{card['card_number']}/qr", headers=clerk).json()["qr"]
    assert qr_version(qr) <= 20
    back = client.get(f"/api/v1/cards/{card['card_number']}/back.png", headers=clerk)
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(back.content)))
    assert [b.text for b in found] == [qr]


def test_jwks_is_public_and_lists_key_state(client):
    body = client.get("/.well-known/jwks.json").json()
    assert body["keys"] and all({"kid", "alg", "use", "state", "x", "y"} <= set(k)
                                for k in body["keys"])
    assert json.dumps(body).count('"d"') == 0  # no private parameter ever


@pytest.mark.parametrize(("given", "family", "address_line"), [
    ("Maximiliana Esperanza del Carmen", "Villalobos-Échevarría de la Torre", "41 Hudson St"),
    ("Ana", "Ruiz", "1234 Martin Luther King Jr Boulevard, Building C, Floor 14, Unit 1407"),
])
def test_long_names_and_addresses_keep_the_face_in_the_qr(client, clerk, given, family,
                                                         address_line):
    card = enroll_and_approve(client, clerk, given_name=given, family_name=family,
                              address={"line1": address_line, "city": "Riverton",
                                       "postal_code": "10013"})
    assert card["qr_has_photo"] is True
    qr = client.get(f"/api/v1/cards/{card['card_number']}/qr", headers=clerk).json()["qr"]
    assert qr_version(qr) <= 20
    assert decode(qr).claim169[16]  # the face thumbnail


def test_name_too_long_to_issue_is_refused_with_a_clear_reason(client, clerk):
    rng = random.Random(5)
    letters = [chr(c) for c in range(0x0995, 0x09B9)]  # Bengali consonants: incompressible
    given, middle, family = ("".join(rng.choice(letters) for _ in range(99)) for _ in range(3))
    application = enroll(client, clerk, given_name=given, middle_name=middle,
                         family_name=family)
    r = client.post(f"/api/v1/applications/{application['id']}/approve", headers=clerk)
    assert r.status_code == 422
    codes = {m["code"] for m in r.json().get("missing", [])} | {r.json()["error"]}
    assert codes & {"text_not_printable", "credential_too_large"}
    after = client.get(f"/api/v1/applications/{application['id']}", headers=clerk).json()
    assert after["status"] == "pending" and after["card_number"] is None
