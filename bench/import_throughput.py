"""Time `idsvc import` against raw ES256 signing + sealing, in one run on one machine.

Usage: python bench/import_throughput.py [--rows N] [--runs R] [--batch-size B]
                                         [--photo-workers W] [--database-url URL]
                                         [--photos upload|portrait]

Writes a CSV of N distinct residents (one shared photo file: a 900x1200 photo as a
phone or scanner makes it, or with `--photos portrait` one already at the card's
portrait size, as another card system exports them), imports it through the
same code path as `idsvc import` (row validation, application, document checks, photo
intake, approval, issuance, audit, progress committed per batch) and reports rows per
second and this process's CPU time per row, the median over R runs, once with the
photos prepared in W other processes (`idsvc import --workers`, default one per core
but one) and once without. Baselines from the same runs: one ES256 signature plus one
AES-256-GCM seal (the floor of any issuance), and the photo intake alone (normalising
the uploaded portrait), which every row pays. Each import uses a fresh SQLite file
unless --database-url names an empty database, which then takes every run (each with
its own names).
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
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
from idsvc.enrollment.photo import normalise_portrait
from idsvc.enrollment.policy import load_policy
from idsvc.staff.roles import Role
from idsvc.staff.service import create_staff, find_staff
from tests.factories import portrait

PASSWORD = "a long enough passphrase for timing"


def raw_floor_seconds(samples: int = 2000) -> float:
    """One ES256 signature over a credential-sized message plus one AES-GCM seal."""
    key = ec.generate_private_key(ec.SECP256R1())
    aead = AESGCM(AESGCM.generate_key(bit_length=256))
    message = os.urandom(500)
    start = time.perf_counter()
    for _ in range(samples):
        key.sign(message, ec.ECDSA(hashes.SHA256()))
        aead.encrypt(os.urandom(12), message, b"aad")
    return (time.perf_counter() - start) / samples


def photo_intake_seconds(samples: int = 20) -> float:
    upload = portrait()
    start = time.perf_counter()
    for _ in range(samples):
        normalise_portrait(upload)
    return (time.perf_counter() - start) / samples


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


def import_seconds(url: str, folder: Path, keys_dir: Path, rows: int, first: int,
                   batch_size: int, workers: int, photo: bytes) -> tuple[float, float]:
    """Wall-clock seconds of the import, and the CPU seconds of this process alone."""
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
    start, cpu = time.perf_counter(), time.process_time()
    run = run_import(importer, source, ImportOptions("BENCH", "bench", batch_size=batch_size,
                                                     workers=workers))
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    engine.dispose()
    if run.imported != rows:
        raise SystemExit(f"only {run.imported} of {rows} rows imported")
    return elapsed, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--photo-workers", type=int, default=max((os.cpu_count() or 1) - 1, 0))
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--photos", choices=("upload", "portrait"), default="upload")
    args = parser.parse_args()
    photo = portrait() if args.photos == "upload" else normalise_portrait(portrait())
    rates: dict[int, list[float]] = {0: [], args.photo_workers: []}
    cpus: dict[int, list[float]] = {workers: [] for workers in rates}
    floors, photos = [], []
    shared_keys = tempfile.TemporaryDirectory()  # a shared database keeps its signing key
    for run in range(args.runs):
        floors.append(1 / raw_floor_seconds())
        photos.append(1 / photo_intake_seconds())
        for index, workers in enumerate(rates):
            with tempfile.TemporaryDirectory() as name:
                folder = Path(name)
                url = args.database_url or f"sqlite:///{folder}/bench.db"
                keys_dir = Path(shared_keys.name) if args.database_url else folder / "keys"
                first = (2 * run + index) * args.rows
                seconds, cpu = import_seconds(url, folder, keys_dir, args.rows, first,
                                              args.batch_size, workers, photo)
            rates[workers].append(args.rows / seconds)
            cpus[workers].append(cpu / args.rows)
            print(f"run {run + 1}, {workers} photo workers: {args.rows} rows in {seconds:.1f} s"
                  f" = {rates[workers][-1]:.1f} rows/s; this process's CPU "
                  f"{cpus[workers][-1] * 1e3:.1f} ms per row", flush=True)
    shared_keys.cleanup()
    floor, photo = statistics.median(floors), statistics.median(photos)
    print(f"raw ES256 sign + AES-GCM seal (same runs): {floor:,.0f} per s")
    print(f"photo intake alone (normalise_portrait, same runs): {photo:.1f} per s")
    for workers, values in rates.items():
        rate = statistics.median(values)
        print(f"import, {args.photos} photos, {workers} photo workers (median of {args.runs} "
              f"runs of {args.rows} rows, batches of {args.batch_size}): {rate:.1f} rows/s = "
              f"1/{floor / rate:.0f} of raw sign + seal; 1,000,000 rows in "
              f"{timedelta(seconds=round(1_000_000 / rate))}; "
              f"this process's CPU {statistics.median(cpus[workers]) * 1e3:.1f} ms per row")


if __name__ == "__main__":
    main()
