"""Property tests for the QR codec: whatever a partner's scanner reads, the decoder and the
checker answer with a verdict, never an exception, and nothing but the untouched original
credential is ever `valid`.

No database: a fresh P-256 key signs one credential, and the checker is given that key
and a status list that says "good" for every index, so the only thing standing between
a mutated QR and `valid` is the codec and the signature.
"""

from __future__ import annotations

import zlib
from datetime import UTC, date, datetime, timedelta

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from idsvc.cards import credential
from idsvc.cards.base45 import Base45Error, b45decode, b45encode
from idsvc.crypto import cose
from idsvc.crypto.keyring import KeyState, Signer, TrustedKey
from idsvc.verification.checker import Check, Result, check_credential
from idsvc.verification.offline import OfflineTrust, verify_offline

ISSUER = "https://id.riverton.example"
STATUS_URI = "https://id.riverton.example/status/1"
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
PROPERTY = settings(max_examples=300, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

_private = ec.generate_private_key(ec.SECP256R1())
SIGNER = Signer("test-kid", _private)
KEYS = {"test-kid": TrustedKey("test-kid", _private.public_key(), KeyState.ACTIVE)}
SUBJECT = credential.CredentialSubject(
    card_number="RIV-0000-0001", version=1, full_name="Amaru Quispe Mamani",
    first_name="Amaru", last_name="Quispe Mamani", date_of_birth=date(1988, 4, 17),
    gender="X", address="41 Hudson Street, Riverton 10013", language="spa",
    photo_webp=b"RIFF\x10\x00\x00\x00WEBPVP8 " + bytes(range(64)))
VALIDITY = credential.Validity(issuer=ISSUER, issued_at=NOW - timedelta(days=30),
                               expires_at=NOW + timedelta(days=5 * 365),
                               status_uri=STATUS_URI, status_idx=4242)
ORIGINAL = credential.encode(credential.cwt_claims(SUBJECT, VALIDITY), SIGNER)


def _all_good(uri: str, idx: int) -> int | None:
    return 0 if uri == STATUS_URI else None


def check(text: str) -> Check:
    return check_credential(text, keys=KEYS, issuer=ISSUER, status_of=_all_good, now=NOW)


class _GoodLists(OfflineTrust):
    """Offline trust whose every status list says "good": the most permissive device."""

    def status_of(self, now: datetime):  # type: ignore[override]
        return _all_good


OFFLINE = _GoodLists(ISSUER, KEYS, {}, timedelta(days=1))


def assert_never_valid(text: str) -> None:
    """Both the online rules and the offline entry point give a verdict, and not `valid`."""
    online = check(text)
    offline = verify_offline(text, OFFLINE, now=NOW)
    assert online.result != Result.VALID
    assert offline.result != Result.VALID


def test_the_original_is_valid_online_and_offline():
    """The baseline: without it, `never valid` below would prove nothing."""
    assert check(ORIGINAL).result == Result.VALID
    assert verify_offline(ORIGINAL, OFFLINE, now=NOW).result == Result.VALID
    assert check(ORIGINAL).card_number == SUBJECT.card_number


@PROPERTY
@given(st.text())
def test_arbitrary_text_is_never_valid(text):
    assert_never_valid(text)


@PROPERTY
@given(st.text(alphabet=ALPHABET))
def test_arbitrary_base45_alphabet_text_is_never_valid(text):
    assert_never_valid(text)


@PROPERTY
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_in_base45_are_never_valid(data):
    assert_never_valid(b45encode(data).decode("ascii"))


@PROPERTY
@given(st.binary(max_size=2048))
def test_arbitrary_bytes_zlib_and_base45_are_never_valid(data):
    """Past the Base45 and zlib layers: the COSE and CBOR parsers see arbitrary bytes."""
    assert_never_valid(b45encode(zlib.compress(data)).decode("ascii"))


@PROPERTY
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.binary(max_size=40)
                    | st.text(max_size=40) | st.floats(allow_nan=True),
                    lambda inner: st.lists(inner, max_size=5)
                    | st.dictionaries(st.integers(-8, 70000) | st.text(max_size=8), inner,
                                      max_size=5),
                    max_leaves=20))
def test_arbitrary_cbor_in_a_cose_envelope_is_never_valid(value):
    """Well-formed CBOR of any shape where the claims, or the whole message, should be."""
    for payload in (cbor2.dumps(value),
                    cbor2.dumps(cbor2.CBORTag(18, [b"", {}, cbor2.dumps(value), b""])),
                    cbor2.dumps(cbor2.CBORTag(18, value))):
        assert_never_valid(b45encode(zlib.compress(payload)).decode("ascii"))


@PROPERTY
@given(st.integers(min_value=0, max_value=len(ORIGINAL) - 1))
def test_every_truncation_is_never_valid(length):
    assert_never_valid(ORIGINAL[:length])


@PROPERTY
@given(st.integers(min_value=1, max_value=len(ORIGINAL) - 1))
def test_dropping_the_start_is_never_valid(start):
    assert_never_valid(ORIGINAL[start:])


@PROPERTY
@given(st.integers(min_value=0, max_value=len(ORIGINAL) - 1), st.sampled_from(ALPHABET))
def test_every_single_character_substitution_is_never_valid(position, replacement):
    mutated = ORIGINAL[:position] + replacement + ORIGINAL[position + 1:]
    if mutated == ORIGINAL:
        assert check(mutated).result == Result.VALID
    else:
        assert_never_valid(mutated)


@PROPERTY
@given(st.integers(min_value=0, max_value=len(ORIGINAL)), st.characters())
def test_every_single_character_insertion_is_never_valid(position, extra):
    mutated = ORIGINAL[:position] + extra + ORIGINAL[position:]
    if mutated.strip() == ORIGINAL:  # the decoder strips surrounding whitespace, on purpose
        assert check(mutated).result == Result.VALID
    else:
        assert_never_valid(mutated)


@PROPERTY
@given(st.integers(min_value=0, max_value=len(ORIGINAL) - 1))
def test_every_single_character_deletion_is_never_valid(position):
    assert_never_valid(ORIGINAL[:position] + ORIGINAL[position + 1:])


@PROPERTY
@given(st.text() | st.binary())
def test_base45_decode_raises_only_its_own_error(data):
    try:
        decoded = b45decode(data)
    except Base45Error:
        return
    assert b45encode(decoded).decode("ascii") == (
        data if isinstance(data, str) else data.decode("ascii"))


@PROPERTY
@given(st.binary(max_size=512))
def test_base45_round_trips(data):
    assert b45decode(b45encode(data)) == data


@PROPERTY
@given(st.binary(max_size=512))
def test_cose_parser_raises_only_its_own_error(data):
    try:
        message = cose.parse_sign1(data)
    except cose.CoseError:
        return
    assert all(isinstance(part, bytes) for part in
               (message.protected, message.payload, message.signature))


@PROPERTY
@given(st.text())
def test_credential_decoder_raises_only_its_own_error(text):
    try:
        decoded = credential.decode(text)
    except credential.CredentialError:
        return
    assert isinstance(decoded.claim169, cose.CBOR_MAPS)


def test_a_zlib_bomb_is_refused_not_inflated():
    bomb = b45encode(zlib.compress(b"\x00" * (credential.MAX_DECOMPRESSED * 64))).decode()
    with pytest.raises(credential.CredentialError):
        credential.decode(bomb)
    assert_never_valid(bomb)
