"""ES256, JWK thumbprints and COSE_Sign1."""

from __future__ import annotations

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from idsvc.crypto import cose, es256


@pytest.fixture(scope="module")
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def test_raw_signature_round_trip(key):
    signature = es256.sign(key, b"message")
    assert len(signature) == 64
    assert es256.verify(key.public_key(), b"message", signature)
    assert not es256.verify(key.public_key(), b"messagE", signature)
    assert not es256.verify(key.public_key(), b"message", signature[:-1])


def test_rfc7638_thumbprint_of_the_rfc7517_example_key():
    # RFC 7517 Appendix A.1's P-256 key; the expected thumbprint is the one other
    # JOSE implementations publish for it.
    jwk = {"kty": "EC", "crv": "P-256", "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
           "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM", "use": "enc", "kid": "1"}
    assert es256.jwk_thumbprint(jwk) == "cn-I_WNMClehiVp51i_0VpOENW1upEerA8sEam5hn-s"


def test_jwk_round_trip(key):
    jwk = es256.public_jwk(key.public_key())
    assert es256.public_key_from_jwk(jwk).public_numbers() == key.public_key().public_numbers()


def test_sign1_round_trip_and_tamper(key):
    message = cose.sign1(b"payload", private_key=key, kid=b"k1")
    parsed = cose.parse_sign1(message)
    assert parsed.kid == b"k1" and parsed.algorithm == cose.ALG_ES256
    assert parsed.verify(key.public_key())
    tag = cbor2.loads(message)
    protected, unprotected, _, signature = tag.value
    forged = cbor2.dumps(cbor2.CBORTag(18, [protected, dict(unprotected), b"pay1oad", signature]))
    assert not cose.parse_sign1(forged).verify(key.public_key())
    other = ec.generate_private_key(ec.SECP256R1())
    assert not parsed.verify(other.public_key())


@pytest.mark.parametrize("data", [b"", b"\xff\xff", cbor2.dumps([1, 2, 3]),
                                  cbor2.dumps(cbor2.CBORTag(17, [b"", {}, b"", b""])),
                                  cbor2.dumps([b"", {}, "text", b""])])
def test_malformed_sign1_is_refused(data):
    with pytest.raises(cose.CoseError):
        cose.parse_sign1(data)
