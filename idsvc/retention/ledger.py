"""The shred ledger outside the database: export it, and re-apply it after a restore.

A backup taken before a shred still holds the resident's wrapped key. Restoring it would
bring the person back, so a restore re-applies every ledger entry newer than the backup
(`reapply_ledger`), from a ledger exported after the shred (`export_ledger`,
`idsvc retention ledger-export`). The file names residents by opaque id and day only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session, select

from idsvc.audit.service import Actor, record
from idsvc.crypto.envelope import MasterKey
from idsvc.errors import Invalid
from idsvc.residents.models import Resident
from idsvc.retention.models import ShredRecord
from idsvc.retention.shredding import destroy, is_shredded

FORMAT = "idsvc-shred-ledger/1"
_RESIDENT_ID = re.compile(r"[0-9a-f]{32}")  # uuid4().hex, as residents are made


@dataclass(frozen=True)
class LedgerEntry:
    resident_id: str
    shredded_on: date


def export_ledger(session: Session) -> list[LedgerEntry]:
    """Every ledger entry, oldest first."""
    statement = select(ShredRecord).order_by(ShredRecord.shredded_on,  # type: ignore[arg-type]
                                             ShredRecord.resident_id)
    return [LedgerEntry(row.resident_id, row.shredded_on) for row in session.exec(statement)]


def reapply_ledger(session: Session, entries: Iterable[LedgerEntry], *,
                   keys: MasterKey) -> int:
    """Shred again every listed resident this database still holds data of (a restored
    older backup); record the missing ledger entries. Returns how many were shredded
    again. One transaction: the caller's."""
    again = 0
    for entry in entries:
        resident = session.get(Resident, entry.resident_id, with_for_update=True)
        if resident is not None and not is_shredded(resident):
            destroy(session, resident=resident, keys=keys, shredded_on=entry.shredded_on)
            again += 1
        elif session.get(ShredRecord, entry.resident_id) is None:
            session.add(ShredRecord(resident_id=entry.resident_id,
                                    shredded_on=entry.shredded_on))
    session.flush()
    if again:
        record(session, actor=Actor.system(), action="retention.ledger_reapply",
               subject_type="shred_ledger", subject_id="reapply",
               details={"shredded_again": again})
    return again


def ledger_json(entries: Iterable[LedgerEntry]) -> str:
    """The export file's text."""
    return json.dumps({"format": FORMAT, "entries": [
        {"resident_id": e.resident_id, "shredded_on": e.shredded_on.isoformat()}
        for e in entries]}, indent=1) + "\n"


def parse_ledger(text: str) -> list[LedgerEntry]:
    """Entries of an export file; a file of another kind is refused, not half read."""
    try:
        data = json.loads(text)
        if data.get("format") != FORMAT:
            raise ValueError("not a shred ledger")
        entries = [LedgerEntry(str(e["resident_id"]), date.fromisoformat(e["shredded_on"]))
                   for e in data["entries"]]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise Invalid(f"Not an idsvc shred ledger ({FORMAT}).", code="invalid_ledger") from exc
    if not all(_RESIDENT_ID.fullmatch(e.resident_id) for e in entries):
        raise Invalid("The ledger names a resident id idsvc never makes.",
                      code="invalid_ledger")
    return entries
