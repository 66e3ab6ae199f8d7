"""IETF Token Status List (JWT form): packing, list encoding, signing and parsing."""

from __future__ import annotations

import json
import random
import time
import tracemalloc
import zlib

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from idsvc.crypto.es256 import b64url, b64url_decode, sign
from idsvc.status.token import (
    StatusListError,
    StatusListToken,
    decode_list,
    encode_list,
    pack,
    parse_token,
    sign_token,
    unpack_status,
)

URI = "https://id.riverton.example/status/7"
ISSUER = "https://id.riverton.example"
MB = 1024 * 1024


@pytest.fixture(scope="module")
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def other_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def reference_pack(statuses: list[int], bits: int) -> bytes:
    """The draft's definition, entry by entry; slow but obviously right."""
    out = bytearray((len(statuses) * bits + 7) // 8)
    for i, value in enumerate(statuses):
        out[i * bits // 8] |= value << (i * bits % 8)
    return bytes(out)


def forge(key: ec.EllipticCurvePrivateKey, header: dict, claims: dict) -> str:
    """A correctly signed token with whatever header and claims a test needs."""
    signing_input = (
        b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    )
    return signing_input + "." + b64url(sign(key, signing_input.encode()))


GOOD_HEADER = {"alg": "ES256", "kid": "k1", "typ": "statuslist+jwt"}


def good_claims(**changes) -> dict:
    claims = {"sub": URI, "iss": ISSUER, "iat": 1_700_000_000,
              "status_list": {"bits": 2, "lst": encode_list(b"\xc9\x44\xf9")}}
    claims.update(changes)
    return claims


# --- packing -------------------------------------------------------------------------------


def test_pack_matches_the_drafts_one_bit_example():
    # Entry 0 is the least significant bit: 0xB9 = 0b10111001 holds entries 7..0.
    statuses = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1]
    assert pack(statuses, bits=1) == b"\xb9\xa3"
    assert encode_list(b"\xb9\xa3") == "eNrbuRgAAhcBXQ"  # the draft's "lst" for this list


def test_pack_matches_the_drafts_two_bit_example():
    statuses = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]
    assert pack(statuses, bits=2) == b"\xc9\x44\xf9"
    assert encode_list(b"\xc9\x44\xf9") == "eNo76fITAAPfAgc"
    assert [unpack_status(b"\xc9\x44\xf9", i, bits=2) for i in range(12)] == statuses


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
@pytest.mark.parametrize("count", [1, 7, 1003, 4096])
def test_pack_unpack_round_trip_on_random_data(bits, count):
    rng = random.Random(bits * 10_000 + count)
    statuses = [rng.randrange(1 << bits) for _ in range(count)]
    packed = pack(statuses, bits=bits)
    assert packed == reference_pack(statuses, bits)
    assert pack(bytes(statuses), bits=bits) == packed
    assert [unpack_status(packed, i, bits=bits) for i in range(count)] == statuses


def test_pack_of_an_empty_list_is_empty():
    assert pack([], bits=2) == b""


@pytest.mark.parametrize(("statuses", "bits"), [([4], 2), ([2], 1), ([16], 4), ([256], 8),
                                                ([-1], 2)])
def test_pack_refuses_statuses_that_do_not_fit(statuses, bits):
    with pytest.raises(StatusListError):
        pack(statuses, bits=bits)


@pytest.mark.parametrize("bits", [0, 3, 16, True, 2.0])
def test_only_the_drafts_widths_are_accepted(bits):
    with pytest.raises(StatusListError, match="bits"):
        pack([0], bits=bits)


def test_unpack_outside_the_list_is_a_status_list_error():
    packed = pack([1, 2, 0, 3], bits=2)
    assert unpack_status(packed, 3) == 3
    with pytest.raises(StatusListError, match="beyond"):
        unpack_status(packed, 4)
    with pytest.raises(StatusListError, match="negative"):
        unpack_status(packed, -1)


# --- list encoding -------------------------------------------------------------------------


def test_encode_decode_round_trip():
    rng = random.Random(5)
    packed = bytes(rng.randrange(256) for _ in range(5000))
    assert decode_list(encode_list(packed), max_bytes=5000) == packed


def test_an_empty_131072_entry_list_is_tiny():
    lst = encode_list(pack(bytes(131_072)))
    assert len(lst) < 200
    assert decode_list(lst, max_bytes=32_768) == bytes(32_768)


@pytest.mark.parametrize(
    "lst",
    [
        # Characters outside base64url, which the stdlib decoder would silently drop
        # (both decode to the draft's valid two-bit list if they are dropped).
        "eNo7!!!!6fITAAPfAgc",
        "eNo7 6f\nI TAAPfAgc",
        "eNo76fITAAPfAg",  # truncated stream
        "aGVsbG8",  # base64url, not zlib
        "A",  # impossible base64 length
        b64url(zlib.compress(b"\xc9\x44\xf9") + b"junk"),  # trailing data
    ],
)
def test_decode_list_refuses_bad_input(lst):
    with pytest.raises(StatusListError):
        decode_list(lst, max_bytes=1000)


def test_decode_list_allows_exactly_max_bytes():
    lst = encode_list(bytes(1000))
    assert decode_list(lst, max_bytes=1000) == bytes(1000)
    with pytest.raises(StatusListError, match="more than 999"):
        decode_list(lst, max_bytes=999)


def test_zip_bomb_is_refused_without_inflating_it():
    inflated = 64 * MB
    compressor = zlib.compressobj(9)
    chunk = bytes(MB)
    bomb = b"".join(compressor.compress(chunk) for _ in range(inflated // MB))
    lst = b64url(bomb + compressor.flush())
    assert len(lst) < inflated // 500

    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(StatusListError, match="more than"):
            decode_list(lst, max_bytes=MB)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.perf_counter() - started < 0.5
    assert peak < 8 * MB  # inflating it all would take 64 MB


# --- signed token --------------------------------------------------------------------------


def test_sign_then_parse_round_trip(key):
    statuses = [0] * 131_072
    statuses[5], statuses[70_000], statuses[131_071] = 1, 2, 1
    token = sign_token(uri=URI, packed=pack(statuses), issued_at=1_700_000_000,
                       expires_at=1_700_086_400, ttl=3600, private_key=key, kid="k1",
                       issuer=ISSUER)
    header_part, payload_part, _ = token.split(".")
    assert json.loads(b64url_decode(header_part)) == GOOD_HEADER
    claims = json.loads(b64url_decode(payload_part))
    assert claims["sub"] == URI and claims["iss"] == ISSUER
    assert claims["status_list"]["bits"] == 2

    parsed = parse_token(token, public_keys={"k1": key.public_key()})
    assert parsed == StatusListToken(uri=URI, issued_at=1_700_000_000, expires_at=1_700_086_400,
                                     ttl=3600, bits=2, packed=pack(statuses), kid="k1")
    assert [parsed.status(i) for i in (0, 5, 70_000, 131_071)] == [0, 1, 2, 1]
    with pytest.raises(StatusListError):
        parsed.status(131_072)
    assert "packed" not in repr(parsed)


def test_optional_claims_are_left_out_when_absent(key):
    token = sign_token(uri=URI, packed=b"\xb9\xa3", issued_at=1, expires_at=None, ttl=None,
                       private_key=key, kid="k1", issuer=ISSUER, bits=1)
    claims = json.loads(b64url_decode(token.split(".")[1]))
    assert "exp" not in claims and "ttl" not in claims
    parsed = parse_token(token, public_keys={"k1": key.public_key()})
    assert (parsed.expires_at, parsed.ttl, parsed.bits) == (None, None, 1)
    assert [parsed.status(i) for i in range(8)] == [1, 0, 0, 1, 1, 1, 0, 1]


def test_forged_helper_makes_tokens_the_parser_accepts(key):
    # Guards the negative tests below: they fail for their own reason, not the helper's.
    parsed = parse_token(forge(key, GOOD_HEADER, good_claims()),
                         public_keys={"k1": key.public_key()})
    assert parsed.status(3) == 3


def test_tampered_payload_is_refused(key):
    token = sign_token(uri=URI, packed=b"\x00", issued_at=1, expires_at=None, ttl=None,
                       private_key=key, kid="k1", issuer=ISSUER)
    header_part, payload_part, signature_part = token.split(".")
    claims = json.loads(b64url_decode(payload_part))
    claims["status_list"]["lst"] = encode_list(b"\x55")
    tampered = f"{header_part}.{b64url(json.dumps(claims).encode())}.{signature_part}"
    with pytest.raises(StatusListError, match="signature"):
        parse_token(tampered, public_keys={"k1": key.public_key()})


def test_token_signed_by_a_foreign_key_is_refused(key, other_key):
    token = sign_token(uri=URI, packed=b"\x00", issued_at=1, expires_at=None, ttl=None,
                       private_key=other_key, kid="k1", issuer=ISSUER)
    with pytest.raises(StatusListError, match="signature"):
        parse_token(token, public_keys={"k1": key.public_key()})


def test_unknown_kid_is_refused(key):
    token = sign_token(uri=URI, packed=b"\x00", issued_at=1, expires_at=None, ttl=None,
                       private_key=key, kid="k2", issuer=ISSUER)
    with pytest.raises(StatusListError, match="unknown key"):
        parse_token(token, public_keys={"k1": key.public_key()})


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ({**GOOD_HEADER, "typ": "JWT"}, "typ"),
        ({"alg": "ES256", "kid": "k1"}, "typ"),
        ({**GOOD_HEADER, "alg": "HS256"}, "alg"),
        ({**GOOD_HEADER, "alg": "none"}, "alg"),
        ({**GOOD_HEADER, "crit": ["exp"]}, "critical"),
        ({**GOOD_HEADER, "kid": 1}, "unknown key"),
    ],
)
def test_bad_headers_are_refused(key, header, message):
    with pytest.raises(StatusListError, match=message):
        parse_token(forge(key, header, good_claims()), public_keys={"k1": key.public_key()})


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        (good_claims(status_list={"bits": 3, "lst": encode_list(b"\x00")}), "bits"),
        (good_claims(status_list={"bits": True, "lst": encode_list(b"\x00")}), "bits"),
        (good_claims(status_list={"bits": 2}), "lst"),
        (good_claims(status_list="eNo76fITAAPfAgc"), "status_list"),
        (good_claims(sub=None), "sub"),
        (good_claims(iat=None), "iat"),
        (good_claims(iat="1700000000"), "iat"),
        (good_claims(ttl=-5), "ttl"),
        (good_claims(exp=1.5), "exp"),
    ],
)
def test_bad_claims_are_refused(key, claims, message):
    with pytest.raises(StatusListError, match=message):
        parse_token(forge(key, GOOD_HEADER, claims), public_keys={"k1": key.public_key()})


def test_signed_list_that_inflates_too_far_is_refused(key):
    token = sign_token(uri=URI, packed=bytes(2 * MB), issued_at=1, expires_at=None, ttl=None,
                       private_key=key, kid="k1", issuer=ISSUER)
    with pytest.raises(StatusListError, match="more than"):
        parse_token(token, public_keys={"k1": key.public_key()}, max_bytes=MB)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c.d",
        "!!!.e30.AAAA",
        b64url(b"[1]") + ".e30.AAAA",
        b64url(b"not json") + ".e30.AAAA",
    ],
)
def test_malformed_tokens_are_refused(key, token):
    with pytest.raises(StatusListError):
        parse_token(token, public_keys={"k1": key.public_key()})


def test_status_list_error_is_a_value_error():
    assert issubclass(StatusListError, ValueError)
