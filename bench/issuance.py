"""Time card issuance against raw ES256 signing, in one run on one machine.

Usage: python bench/issuance.py [--cards N] [--runs R] [--database-url URL]

Issues N cards (approve path minus HTTP: decrypt the record, make the QR face
thumbnail, sign, seal, store status slot, audit) on a scratch database and
reports, per card, the median over R runs, next to the cost of one raw ES256
signature with `cryptography` measured in the same run. Also prints the QR
version and size of the cards it issued.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from idsvc import migrations
from idsvc.audit.service import Actor
from idsvc.cards import credential
from idsvc.cards import service as cards
from idsvc.cards.base45 import b45decode
from idsvc.cards.qr import qr_version
from idsvc.config import Settings
from idsvc.crypto.envelope import MasterKey
from idsvc.crypto.keyring import ensure_signing_key
from idsvc.db import make_engine, make_sessionmaker
from idsvc.enrollment.photo import normalise_portrait
from idsvc.enrollment.policy import load_policy
from idsvc.residents import service as residents
from idsvc.residents.schemas import PersonalData
from tests.factories import applicant, portrait


def raw_sign_seconds(samples: int = 2000) -> float:
    key = ec.generate_private_key(ec.SECP256R1())
    message = os.urandom(400)
    start = time.perf_counter()
    for _ in range(samples):
        key.sign(message, ec.ECDSA(hashes.SHA256()))
    return (time.perf_counter() - start) / samples


def issue_batch(url: str, keys_dir: Path, count: int) -> tuple[float, list[str]]:
    engine = make_engine(url)
    master = MasterKey.from_secret(os.urandom(32))
    photo = normalise_portrait(portrait())
    person = PersonalData.model_validate(applicant(date_of_birth=date(1988, 4, 17)))
    with make_sessionmaker(engine)() as session:
        ensure_signing_key(session, keys_dir=keys_dir)
        people = []
        for _ in range(count):
            resident = residents.create_resident(session, data=person, keys=master)
            residents.set_photo(resident, portrait_jpeg=photo, keys=master)
            people.append(resident)
        session.commit()
        settings = Settings(database_url=url, keys_dir=keys_dir)
        context = cards.issue_context(session, settings=settings, keys=master,
                                      policy=load_policy(), actor=Actor.system(),
                                      issued_by=None, centre_id=None)
        start = time.perf_counter()
        issued = [cards.issue_card(session, resident=r, application_id=None, context=context)
                  for r in people]
        session.commit()
        elapsed = (time.perf_counter() - start) / count
        texts = [cards.open_card(session, number=c.number, keys=master, actor=Actor.system(),
                                 purpose="read").qr_text for c in issued[:5]]
    engine.dispose()
    return elapsed, texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    per_card, per_sign = [], []
    texts: list[str] = []
    for run in range(args.runs):
        with tempfile.TemporaryDirectory() as folder:
            url = args.database_url or f"sqlite:///{folder}/bench-{run}.db"
            migrations.upgrade(url)
            per_sign.append(raw_sign_seconds())
            seconds, texts = issue_batch(url, Path(folder) / "keys", args.cards)
            per_card.append(seconds)
    issue, sign = statistics.median(per_card), statistics.median(per_sign)
    print(f"issuance per card (median of {args.runs} runs of {args.cards}): {issue * 1e3:.2f} ms")
    print(f"raw ES256 sign (same runs): {sign * 1e6:.1f} us")
    print(f"ratio issuance / raw sign: {issue / sign:.1f}x")
    decoded = credential.decode(texts[0])
    print(f"QR: {len(texts[0])} characters ({len(b45decode(texts[0]))} bytes), version "
          f"{qr_version(texts[0])} (ECC Q), face thumbnail "
          f"{len(decoded.claim169.get(credential.F_PHOTO, b''))} bytes")


if __name__ == "__main__":
    main()
