"""Signed status lists are re-signed in time, and their ETag follows the token."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec

from idsvc.changes.models import Change
from idsvc.crypto.keyring import Signer
from idsvc.status.mirror import StatusMirror
from idsvc.status.publisher import StatusPublisher
from idsvc.status.token import parse_token

SIGNER = Signer("k1", ec.generate_private_key(ec.SECP256R1()))


def publisher_with_one_list() -> tuple[StatusMirror, StatusPublisher]:
    mirror = StatusMirror()
    mirror.apply(None, Change(topic="status", ref="1:new", value=131_072))  # type: ignore[arg-type]
    return mirror, StatusPublisher(mirror)


def test_same_list_same_token_until_half_the_ttl(monkeypatch):
    clock = [1_000_000.0]
    monkeypatch.setattr("idsvc.status.publisher.time.time", lambda: clock[0])
    _, publisher = publisher_with_one_list()
    first = publisher.token(1, signer=SIGNER, issuer="https://x", ttl=300)
    clock[0] += 149
    assert publisher.token(1, signer=SIGNER, issuer="https://x", ttl=300) == first
    clock[0] += 2  # past half the TTL: a fresher token, so a new ETag for pollers
    fresher = publisher.token(1, signer=SIGNER, issuer="https://x", ttl=300)
    assert fresher.etag != first.etag
    token = parse_token(fresher.token, public_keys={"k1": SIGNER.private_key.public_key()})
    assert token.issued_at == int(clock[0]) and token.ttl == 300


def test_a_status_change_makes_a_new_token_at_once():
    mirror, publisher = publisher_with_one_list()
    before = publisher.token(1, signer=SIGNER, issuer="https://x", ttl=300)
    mirror.apply(None, Change(topic="status", ref="1:77", value=1))  # type: ignore[arg-type]
    after = publisher.token(1, signer=SIGNER, issuer="https://x", ttl=300)
    assert after.etag != before.etag
    token = parse_token(after.token, public_keys={"k1": SIGNER.private_key.public_key()})
    assert token.status(77) == 1 and token.status(76) == 0


def test_unknown_list_has_no_token():
    _, publisher = publisher_with_one_list()
    assert publisher.token(2, signer=SIGNER, issuer="https://x", ttl=300) is None
