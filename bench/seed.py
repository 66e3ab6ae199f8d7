"""Fill a database with N issued cards, fast, for the verification benchmarks.

Usage: python bench/seed.py --database-url URL --keys-dir DIR --cards 1000000
                            [--sample 20000] [--out bench/out]

Each card is real: a resident record sealed under its own data key, a Claim 169
credential signed ES256 with a face thumbnail, a random status-list slot. The
signing runs in one process per core; rows go in with multi-row inserts
(SQLite) or COPY (PostgreSQL). Shortcuts, for speed only: residents carry no
stored portrait (the QR thumbnail is one shared image) and seeding writes no
audit events. Writes a partner API key and a sample of QR texts and card
numbers to --out for the load generator.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cryptography.hazmat.primitives import serialization
from sqlalchemy import Connection, text

from idsvc import migrations
from idsvc.audit.service import Actor
from idsvc.cards import credential, numbers
from idsvc.crypto.envelope import MasterKey, load_master_key, seal
from idsvc.crypto.keyring import Signer, ensure_signing_key, private_key_path
from idsvc.db import make_engine, make_sessionmaker
from idsvc.enrollment.photo import normalise_portrait, qr_thumbnail
from idsvc.partners import service as partners
from idsvc.partners.scopes import PartnerKind
from idsvc.residents.schemas import PersonalData
from idsvc.residents.service import match_key_for
from idsvc.status.service import FILL_LIMIT, status_uri
from tests.factories import applicant, portrait

ISSUER = "https://id.riverton.example"
LIST_SIZE = 131_072
PER_LIST = int(LIST_SIZE * FILL_LIMIT)
_LETTERS = "abcdefghijklmnopqrstuvwxyz"

_state: dict[str, object] = {}


def resident_name(i: int) -> str:
    """A distinct, pronounceable name for the i-th bench resident (a, b, ..., ba, bb, ...)."""
    letters = []
    while True:
        i, r = divmod(i, 26)
        letters.append(_LETTERS[r])
        if i == 0:
            return "".join(reversed(letters)).title()


def _init(master: MasterKey, keys_dir: str, kid: str) -> None:
    key = serialization.load_pem_private_key(
        private_key_path(Path(keys_dir), kid).read_bytes(), password=None)
    _state["master"] = master
    _state["signer"] = Signer(kid, key)
    # One shared face, sized so a long bench name and address stay within QR version 20.
    _state["thumb"] = qr_thumbnail(normalise_portrait(portrait()), max_bytes=120)


def _make(job: tuple[int, str, int, int]) -> tuple[tuple, tuple, tuple, str]:
    """One card's rows and its QR text (runs in a worker process)."""
    i, number, list_id, idx = job
    master: MasterKey = _state["master"]  # type: ignore[assignment]
    person = PersonalData.model_validate(applicant(given_name=resident_name(i), family_name="Bench",
                                                   date_of_birth=date(1950 + i % 50, 1 + i % 12,
                                                                      1 + i % 28)))
    resident_id, card_id = uuid.uuid4().hex, uuid.uuid4().hex
    data_key, wrapped = master.new_data_key(owner=resident_id)
    now = datetime.now(UTC)
    expires_on = now.date() + timedelta(days=5 * 365)
    subject = credential.CredentialSubject(
        number, 1, person.full_name, person.given_name, person.family_name,
        person.date_of_birth, person.gender, person.address.one_line(),
        person.preferred_languages[0], _state["thumb"])  # type: ignore[arg-type]
    validity = credential.Validity(ISSUER, now, datetime.combine(
        expires_on, datetime.min.time(), UTC), status_uri(ISSUER, list_id), idx)
    qr = credential.encode(credential.cwt_claims(subject, validity), _state["signer"])  # type: ignore[arg-type]
    resident = (resident_id, match_key_for(master, person), wrapped,
                seal(data_key, person.model_dump_json().encode(),
                     aad=f"resident:{resident_id}:personal_data".encode()), now, now)
    card = (card_id, number, resident_id, now, expires_on, list_id, idx,
            seal(data_key, qr.encode(), aad=f"resident:{resident_id}:card:{card_id}:credential"
                 .encode()), now)
    return resident, card, (list_id, idx), qr


RESIDENT_COLS = "id, match_key, wrapped_key, personal_data, created_at, updated_at"
CARD_COLS = ("id, number, version, resident_id, state, issued_at, expires_on, status_list_id, "
             "status_idx, kid, qr_has_photo, credential, issue_reason, fee_waived, "
             "state_changed_at")


def _jobs(count: int, first_list: int) -> Iterator[tuple[int, str, int, int]]:
    seen: set[str] = set()
    rng = random.Random(1)
    for start in range(0, count, PER_LIST):
        list_id = first_list + start // PER_LIST
        for offset, idx in enumerate(rng.sample(range(LIST_SIZE), min(PER_LIST, count - start))):
            number = numbers.new_card_number()
            while number in seen:
                number = numbers.new_card_number()
            seen.add(number)
            yield start + offset, number, list_id, idx


def _insert(conn: Connection, backend: str, kid: str, rows: list) -> None:
    residents = [r for r, _, _, _ in rows]
    cards = [(c[0], c[1], 1, c[2], "active", c[3], c[4], c[5], c[6], kid, True, c[7], "new",
              False, c[8]) for _, c, _, _ in rows]
    entries = [(lst, idx, 0) for _, _, (lst, idx), _ in rows]
    if backend == "postgresql":
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            for table, cols, data in (("residents", RESIDENT_COLS, residents),
                                      ("cards", CARD_COLS, cards),
                                      ("status_entries", "list_id, idx, status", entries)):
                with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in data:
                        copy.write_row(row)
        return
    for table, cols, data in (("residents", RESIDENT_COLS, residents), ("cards", CARD_COLS, cards),
                              ("status_entries", "list_id, idx, status", entries)):
        marks = ", ".join(["?"] * len(cols.split(",")))
        conn.exec_driver_sql(f"INSERT INTO {table} ({cols}) VALUES ({marks})",
                             [tuple(_sqlite_value(v) for v in row) for row in data])


def _sqlite_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--keys-dir", type=Path, required=True)
    parser.add_argument("--cards", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    started = time.perf_counter()
    migrations.upgrade(args.database_url)
    engine = make_engine(args.database_url)
    backend = engine.dialect.name
    master = load_master_key(keys_dir=args.keys_dir, encoded=None, create=True)
    with make_sessionmaker(engine)() as session:
        kid = ensure_signing_key(session, keys_dir=args.keys_dir).kid
        partner = partners.create_partner(session, name=f"Bench {uuid.uuid4().hex[:6]}",
                                          kind=PartnerKind.LAW_ENFORCEMENT,
                                          actor=Actor.system())
        partner.rate_limit_per_minute = 100_000_000
        _, api_key = partners.issue_key(session, partner=partner, label="bench",
                                        actor=Actor.system())
        first = (session.execute(text("SELECT max(id) FROM status_lists")).scalar() or 0) + 1
        lists = (args.cards + PER_LIST - 1) // PER_LIST
        for offset in range(lists):
            session.execute(text("INSERT INTO status_lists (id, size, allocated, created_at) "
                                 "VALUES (:id, :size, :n, :at)"),
                            {"id": first + offset, "size": LIST_SIZE,
                             "n": min(PER_LIST, args.cards - offset * PER_LIST),
                             "at": _sqlite_value(datetime.now(UTC)) if backend == "sqlite"
                             else datetime.now(UTC)})
        session.commit()
    sample: list[dict[str, str]] = []
    done = 0
    with multiprocessing.Pool(os.cpu_count(), initializer=_init,
                              initargs=(master, str(args.keys_dir), kid)) as pool, \
            engine.begin() as conn:
        batch: list = []
        for row in pool.imap(_make, _jobs(args.cards, first), chunksize=500):
            batch.append(row)
            if len(sample) < args.sample:  # card numbers are random: the first are any
                sample.append({"qr": row[3], "card_number": row[1][1]})
            if len(batch) >= args.batch:
                _insert(conn, backend, kid, batch)
                done += len(batch)
                batch = []
                print(f"\r{done:,} cards, {time.perf_counter() - started:.0f} s", end="",
                      flush=True)
        if batch:
            _insert(conn, backend, kid, batch)
            done += len(batch)
    engine.dispose()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "sample.json").write_text(json.dumps(sample))
    (args.out / "api_key").write_text(api_key)
    print(f"\nseeded {done:,} cards on {backend} in {time.perf_counter() - started:.1f} s; "
          f"sample and API key in {args.out}")


if __name__ == "__main__":
    main()
