"""Time `idsvc import` against raw ES256 signing + sealing, in one run on one machine.

Usage: python bench/import_throughput.py [--rows N] [--runs R] [--batch-size B]
                                         [--workers W] [--database-url URL]
                                         [--photos upload|portrait] [--photo FILE]

Writes a CSV of N distinct residents sharing one photo file and imports it through
`run_import`, the code behind `idsvc import` (row validation, document checks, photo
intake, approval rules, signing, sealing, audit events, progress committed per batch),
with W worker processes (default: one per core). The photo is the synthetic test
portrait as a phone or scanner would deliver it (`upload`, 900x1200, to be cropped and
resized), or the same already at the card's portrait spec (`portrait`, the default);
`--photo FILE` takes another photo (a real face) instead of the synthetic one.
Reported, the median of R runs: rows per second; the CPU per row of the importing
process, of its workers, and of everything else on the machine (PostgreSQL above
all); and, measured in the same runs, one ES256 signature plus one AES-256-GCM seal
(the floor of any issuance) and the photo work a row cannot skip (the portrait's check
and face, and its QR thumbnail), per core.
Each run uses a fresh SQLite file unless --database-url names a database, which then
takes every run (each with its own names).
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import statistics
import sys
import tempfile
import time
from contextlib import suppress
from datetime import timedelta
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.seed import resident_name
from idsvc import migrations
from idsvc.audit.service import Actor
from idsvc.bulk.importer import Importer, ImportOptions, run_import
from idsvc.bulk.source import ImportSource
from idsvc.centres.service import create_centre, find_centre
from idsvc.config import Settings
from idsvc.crypto.envelope import MasterKey
from idsvc.crypto.keyring import ensure_signing_key
from idsvc.db import make_engine, make_sessionmaker
from idsvc.enrollment.photo import card_portrait_and_face, normalise_portrait, qr_thumbnail
from idsvc.enrollment.policy import load_policy
from idsvc.errors import Invalid
from idsvc.staff.roles import Role
from idsvc.staff.service import create_staff, find_staff
from tests.factories import portrait

PASSWORD = "a long enough passphrase for timing"
THUMBNAIL_BUDGET = 200  # bytes: about what a card's QR leaves for the face


def raw_floor_seconds(samples: int = 2000) -> float:
    """One ES256 signature over a credential-sized message plus one AES-GCM seal."""
    key = ec.generate_private_key(ec.SECP256R1())
    aead = AESGCM(AESGCM.generate_key(bit_length=256))
    message = os.urandom(500)
    start = time.process_time()
    for _ in range(samples):
        key.sign(message, ec.ECDSA(hashes.SHA256()))
        aead.encrypt(os.urandom(12), message, b"aad")
    return (time.process_time() - start) / samples


def photo_floor_seconds(photo: bytes, samples: int = 30) -> float:
    """The photo work every row pays: the portrait's check and face, then the thumbnail."""
    start = time.process_time()
    for _ in range(samples):
        _, face = card_portrait_and_face(photo)
        with suppress(Invalid):  # no step fits: the card goes without a face, as issuance does
            qr_thumbnail(face, THUMBNAIL_BUDGET)
    return (time.process_time() - start) / samples


def write_rows(folder: Path, count: int, first: int, photo: bytes) -> Path:
    (folder / "face.jpg").write_bytes(photo)
    path = folder / f"rows-{first}.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["given_name", "family_name", "date_of_birth", "address_line1",
                         "address_city", "address_postal_code", "preferred_languages",
                         "documents", "photo"])
        for i in range(first, first + count):
            writer.writerow([resident_name(i), "Bench", f"{1950 + i % 50}-{1 + i % 12:02}-"
                             f"{1 + i % 28:02}", f"{i} Canal Street", "Riverton", "10013",
                             "spa", "passport;utility_bill", "face.jpg"])
    return path


def _machine_cpu_seconds() -> float:
    """CPU time of every process on the machine so far (/proc/stat: user, nice, system)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    return (int(fields[0]) + int(fields[1]) + int(fields[2])) / os.sysconf("SC_CLK_TCK")


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def import_once(url: str, folder: Path, keys_dir: Path, rows: int, first: int,
                batch_size: int, workers: int, photo: bytes) -> dict[str, float]:
    """Seconds of the import, and the CPU seconds it took here, in its workers, elsewhere."""
    migrations.upgrade(url)
    engine = make_engine(url)
    settings = Settings(database_url=url, keys_dir=keys_dir,
                        issuer="https://id.riverton.example")
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        ensure_signing_key(session, keys_dir=keys_dir)
        if find_centre(session, code="BENCH") is None:
            create_centre(session, code="BENCH", name="Bench", address="", actor=Actor.system())
        if find_staff(session, "bench") is None:
            create_staff(session, username="bench", password=PASSWORD, role=Role.SUPERVISOR,
                         centre_id=None, actor=Actor.system())
        session.commit()
    importer = Importer(sessions, settings, MasterKey.from_secret(os.urandom(32)),
                        load_policy())
    source = ImportSource.open(write_rows(folder, rows, first, photo), photos_dir=None,
                               photo_max_bytes=settings.photo_max_bytes)
    machine, children = _machine_cpu_seconds(), _children_cpu_seconds()
    start, own = time.perf_counter(), time.process_time()
    run = run_import(importer, source, ImportOptions("BENCH", "bench", batch_size=batch_size,
                                                     workers=workers))
    elapsed, own = time.perf_counter() - start, time.process_time() - own
    children = _children_cpu_seconds() - children  # the pool's workers, reaped at its end
    machine = _machine_cpu_seconds() - machine
    engine.dispose()
    if run.imported != rows:
        raise SystemExit(f"only {run.imported} of {rows} rows imported")
    return {"seconds": elapsed, "importer": own, "workers": children,
            "elsewhere": max(machine - own - children, 0.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--photos", choices=("upload", "portrait"), default="portrait",
                        help="rows name the photo as it is (upload) or as a card portrait")
    parser.add_argument("--photo", type=Path, default=None,
                        help="the photo (default: the synthetic test portrait)")
    args = parser.parse_args()
    source = args.photo.read_bytes() if args.photo else portrait()
    photo = source if args.photos == "upload" else normalise_portrait(source)
    results, floors, photo_floors = [], [], []
    shared_keys = tempfile.TemporaryDirectory()  # a shared database keeps its signing key
    for run in range(args.runs):
        floors.append(raw_floor_seconds())
        photo_floors.append(photo_floor_seconds(normalise_portrait(photo)))
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            url = args.database_url or f"sqlite:///{folder}/bench.db"
            keys_dir = Path(shared_keys.name) if args.database_url else folder / "keys"
            result = import_once(url, folder, keys_dir, args.rows, run * args.rows,
                                 args.batch_size, args.workers, photo)
        results.append(result)
        per_row = {k: v / args.rows * 1e3 for k, v in result.items() if k != "seconds"}
        print(f"run {run + 1}: {args.rows} rows in {result['seconds']:.1f} s = "
              f"{args.rows / result['seconds']:.1f} rows/s; CPU per row: importer "
              f"{per_row['importer']:.2f} ms, workers {per_row['workers']:.2f} ms, "
              f"elsewhere {per_row['elsewhere']:.2f} ms", flush=True)
    shared_keys.cleanup()
    rate = statistics.median(args.rows / r["seconds"] for r in results)
    floor = 1 / statistics.median(floors)
    photo_rate = 1 / statistics.median(photo_floors)
    cpu = {k: statistics.median(r[k] for r in results) / args.rows * 1e3
           for k in ("importer", "workers", "elsewhere")}
    print(f"raw ES256 sign + AES-GCM seal (same runs): {floor:,.0f} per s per core")
    print(f"photo work alone (portrait check and face, QR thumbnail; same runs): "
          f"{photo_rate:,.0f} per s per core")
    print(f"import, {args.photo or 'synthetic'} {args.photos} photos ({len(photo):,} bytes), "
          f"{args.workers} "
          f"workers, median of {args.runs} runs of {args.rows:,} rows in batches of "
          f"{args.batch_size}: {rate:.1f} rows/s = 1/{floor / rate:.0f} of raw sign + seal "
          f"on one core; 1,000,000 rows in {timedelta(seconds=round(1_000_000 / rate))}; "
          f"CPU per row: importer {cpu['importer']:.2f} ms, workers {cpu['workers']:.2f} ms, "
          f"elsewhere {cpu['elsewhere']:.2f} ms")


if __name__ == "__main__":
    main()
