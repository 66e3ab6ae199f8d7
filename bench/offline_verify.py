"""Offline verification rate against raw ES256 verification, in one run (DESIGN §8).

Usage: python bench/offline_verify.py [--cards 2000] [--runs 5]

Signs N distinct credentials like real cards (names, address, a 300-byte face
thumbnail, status reference), then times, alternately, (a) the full offline check
(Base45, zlib, COSE, ES256, claims, status list lookup) and (b) `cryptography`'s
ES256 verify of the very same signatures. Goal: (a) at least 70% of (b)'s rate.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from idsvc.cards import credential
from idsvc.crypto.keyring import Signer, TrustedKey
from idsvc.status.token import StatusListToken, pack
from idsvc.verification.offline import OfflineTrust, verify_offline

ISSUER = "https://id.riverton.example"


def credentials(count: int, signer: Signer) -> list[str]:
    now = datetime.now(UTC)
    texts = []
    for i in range(count):
        subject = credential.CredentialSubject(
            f"{100000000000 + i}", 1, f"Resident {i} Quispe Mamani", f"Resident {i}",
            "Quispe Mamani", date(1988, 4, 17), "X", "41 Hudson Street, Apt 3B, Riverton 10013",
            "spa", os.urandom(300))
        validity = credential.Validity(ISSUER, now, now + timedelta(days=900),
                                       f"{ISSUER}/status/1", i)
        texts.append(credential.encode(credential.cwt_claims(subject, validity), signer))
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    key = ec.generate_private_key(ec.SECP256R1())
    texts = credentials(args.cards, Signer("bench", key))
    status_token = StatusListToken(  # a fresh, all-valid list, as a synced device holds
        uri=f"{ISSUER}/status/1", issued_at=int(time.time()), expires_at=None, ttl=300,
        bits=2, packed=pack(bytes(131_072)), kid="bench")
    trust = OfflineTrust(ISSUER, {"bench": TrustedKey("bench", key.public_key(), "active")},
                         {f"{ISSUER}/status/1": status_token}, timedelta(hours=48))
    messages = [credential.decode(t).message for t in texts]
    raw = [(m.to_be_signed(), encode_dss_signature(int.from_bytes(m.signature[:32], "big"),
                                                   int.from_bytes(m.signature[32:], "big")))
           for m in messages]
    public, algorithm = key.public_key(), ec.ECDSA(hashes.SHA256())
    now = datetime.now(UTC)
    offline_rates, raw_rates = [], []
    for _ in range(args.runs):
        start = time.perf_counter()
        for text in texts:
            assert verify_offline(text, trust, now=now).result == "valid"
        offline_rates.append(len(texts) / (time.perf_counter() - start))
        start = time.perf_counter()
        for data, der in raw:
            public.verify(der, data, algorithm)
        raw_rates.append(len(raw) / (time.perf_counter() - start))
    offline, baseline = statistics.median(offline_rates), statistics.median(raw_rates)
    print(f"offline verification: {offline:,.0f}/s; raw ES256 verify: {baseline:,.0f}/s; "
          f"ratio {offline / baseline:.2f} (goal 0.70) — median of {args.runs} runs of "
          f"{args.cards}")


if __name__ == "__main__":
    main()
