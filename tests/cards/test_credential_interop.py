"""The card's QR must read in any Claim 169 verifier, and back from the printed card."""

from __future__ import annotations

import io
import json

import claim169
import pytest
import zxingcpp
from PIL import Image

from idsvc.cards.credential import CLAIM_STATUS, decode
from idsvc.cards.qr import qr_version
from idsvc.crypto.es256 import b64url_decode
from tests.conftest import ISSUER
from tests.factories import enroll_and_approve


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
