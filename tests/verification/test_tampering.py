"""Forged, altered and distrusted credentials verify as `invalid`; key rotation keeps cards."""

from __future__ import annotations

import zlib

import base45
import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlmodel import Session

from idsvc.cards import credential
from idsvc.crypto.keyring import Signer, active_signer
from tests.factories import card_qr, enroll_and_approve, partner_headers


@pytest.fixture
def police(client, admin):
    return partner_headers(client, admin, "law_enforcement")


@pytest.fixture
def card(client, clerk):
    return enroll_and_approve(client, clerk)


def result(client, partner, qr):
    r = client.post("/api/v1/verify", json={"qr": qr}, headers=partner)
    assert r.status_code == 200, r.text
    return r.json()["result"]


def resign(qr: str, signer: Signer, changes: dict | None = None) -> str:
    claims = dict(credential.decode(qr).claims)
    claims.update(changes or {})
    return credential.encode(claims, signer)


def test_every_single_character_change_is_caught(client, clerk, police, card):
    qr = card_qr(client, clerk, card["card_number"])
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    for position in range(0, len(qr), 37):
        replacement = alphabet[(alphabet.index(qr[position]) + 1) % len(alphabet)]
        forged = qr[:position] + replacement + qr[position + 1:]
        assert result(client, police, forged) == "invalid", position


def test_altered_claims_with_original_signature_fail(client, clerk, police, card):
    qr = card_qr(client, clerk, card["card_number"])
    tag = cbor2.loads(zlib.decompress(base45.b45decode(qr)))
    protected, unprotected, payload, signature = tag.value
    claims = cbor2.loads(payload)
    claims[169][4] = "Someone Else"
    forged_message = cbor2.dumps(cbor2.CBORTag(18, [protected, dict(unprotected),
                                                    cbor2.dumps(claims), signature]))
    forged = base45.b45encode(zlib.compress(forged_message)).decode()
    assert result(client, police, forged) == "invalid"


def test_foreign_key_with_our_kid_fails(client, clerk, police, card, database):
    qr = card_qr(client, clerk, card["card_number"])
    kid = credential.decode(qr).message.kid.decode()
    forger = Signer(kid=kid, private_key=ec.generate_private_key(ec.SECP256R1()))
    assert result(client, police, resign(qr, forger)) == "invalid"


def test_wrong_issuer_and_unknown_key_fail(client, clerk, police, card, connection, database):
    qr = card_qr(client, clerk, card["card_number"])
    with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
        ours = active_signer(session, keys_dir=database.settings.keys_dir)
    assert result(client, police, resign(qr, ours)) == "valid"  # the forgery tool is honest
    elsewhere = {credential.CLAIM_ISS: "https://elsewhere.example"}
    assert result(client, police, resign(qr, ours, elsewhere)) == "invalid"
    stranger = Signer(kid="unknown-kid", private_key=ec.generate_private_key(ec.SECP256R1()))
    assert result(client, police, resign(qr, stranger)) == "invalid"


@pytest.mark.parametrize("text", ["HELLO", "6BF" * 50, "NCF" + "%" * 40, "::::"])
def test_garbage_is_invalid_not_an_error(client, police, text):
    assert result(client, police, text) == "invalid"


def test_compromised_key_invalidates_its_cards_until_reissued(client, clerk, admin, police,
                                                             card):
    number = card["card_number"]
    qr = card_qr(client, clerk, number)
    kid = credential.decode(qr).message.kid.decode()
    r = client.post(f"/api/v1/keys/{kid}/compromised", headers=admin)
    assert r.status_code == 200 and r.json()["state"] == "compromised"
    assert result(client, police, qr) == "invalid"
    by_number = client.post("/api/v1/verify", json={"card_number": number}, headers=police)
    assert by_number.json()["result"] == "invalid"
    jwks = client.get("/.well-known/jwks.json").json()["keys"]
    states = {k["kid"]: k["state"] for k in jwks}
    assert kid not in states and "active" in states.values()  # withdrawn from the JWKS
    # A new card is signed by the fresh key the compromise rotated to.
    other = enroll_and_approve(client, clerk, given_name="Nuevo")
    assert result(client, police, card_qr(client, clerk, other["card_number"])) == "valid"


def test_rotation_keeps_old_cards_valid(client, clerk, admin, police, card):
    old_qr = card_qr(client, clerk, card["card_number"])
    old_kid = credential.decode(old_qr).message.kid.decode()
    rotated = client.post("/api/v1/keys/rotate", headers=admin)
    assert rotated.status_code == 201 and rotated.json()["kid"] != old_kid
    assert result(client, police, old_qr) == "valid"
    new = enroll_and_approve(client, clerk, given_name="Segundo")
    new_qr = card_qr(client, clerk, new["card_number"])
    assert credential.decode(new_qr).message.kid.decode() == rotated.json()["kid"]
    assert result(client, police, new_qr) == "valid"
    states = {k["kid"]: k["state"] for k in client.get("/.well-known/jwks.json").json()["keys"]}
    assert states[old_kid] == "retired" and states[rotated.json()["kid"]] == "active"


def test_last_active_key_cannot_be_retired(client, admin, clerk, card):
    qr = card_qr(client, clerk, card["card_number"])
    kid = credential.decode(qr).message.kid.decode()
    r = client.post(f"/api/v1/keys/{kid}/retire", headers=admin)
    assert r.status_code == 409 and r.json()["error"] == "last_active_key"
    assert client.post(f"/api/v1/keys/{kid}/retire", headers=clerk).status_code == 403
