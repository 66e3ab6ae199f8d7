"""Append-only, hash-chained audit log.

Each event's hash covers its content and the previous event's hash, so a
changed, inserted or deleted row breaks every link after it. Events never
hold personal data: they name the record by its identifier only.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, select

from idsvc.audit.models import AuditEvent
from idsvc.clock import utcnow
from idsvc.errors import Invalid
from idsvc.rows import Columns, insert_rows

GENESIS = "0" * 64
_PG_LOCK_ID = 0x1D5C_A0D1  # advisory lock that serialises appends on PostgreSQL


@dataclass(frozen=True)
class Actor:
    """Who did it: a staff member, a partner, a resident or the system itself."""

    type: str
    id: str | None = None

    @classmethod
    def system(cls) -> Actor:
        return cls("system")


def _digest(*, prev_hash: str, at: datetime, actor_type: str, actor_id: str | None,
            action: str, subject_type: str, subject_id: str, details: str) -> str:
    return _digest_text(prev_hash, at.isoformat(timespec="microseconds"), actor_type,
                        actor_id, action, subject_type, subject_id, details)


def _digest_text(*fields: str | None) -> str:
    """SHA-256 of the event's fields (previous hash first, time as text) as a JSON list."""
    content = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(content.encode()).hexdigest()


def _last_hash(session: Session) -> str:
    statement = select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)  # type: ignore[union-attr]
    return session.exec(statement).first() or GENESIS


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})


def hold_chain(session: Session) -> None:
    """Take the chain's append lock now, until the transaction ends. Work that appends
    at its end but locks other rows first (an import batch: status lists) takes it
    before them, as a desk's approval does, so the two can never deadlock."""
    _lock_chain(session)


def _chain(event: AuditEvent, prev_hash: str) -> str:
    event.prev_hash = prev_hash
    event.hash = _digest(prev_hash=prev_hash, at=event.at, actor_type=event.actor_type,
                         actor_id=event.actor_id, action=event.action,
                         subject_type=event.subject_type, subject_id=event.subject_id,
                         details=event.details)
    return event.hash


def encode_details(details: dict[str, Any] | None) -> str:
    """An event's details as stored (and hashed): canonical JSON."""
    return json.dumps(details or {}, sort_keys=True, separators=(",", ":"), default=str)


def record(session: Session, *, actor: Actor, action: str, subject_type: str,
           subject_id: str, details: dict[str, Any] | None = None) -> AuditEvent:
    """Append one event in the caller's transaction: it commits or rolls back with the change."""
    event = AuditEvent(
        at=utcnow(), actor_type=actor.type, actor_id=actor.id, action=action,
        subject_type=subject_type, subject_id=subject_id, prev_hash="", hash="",
        details=encode_details(details))
    _lock_chain(session)
    event.at = utcnow()  # under the lock: times grow with ids, as exports by day expect
    _chain(event, _last_hash(session))
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True, slots=True)
class Entry:
    """What `record` would append, before it is chained: for bulk work, which appends the
    events of many records at once (`append_entries`). `details` is already encoded."""

    actor: Actor
    action: str
    subject_type: str
    subject_id: str
    details: str = "{}"

    @classmethod
    def of(cls, actor: Actor, action: str, subject_type: str, subject_id: str,
           details: dict[str, Any] | None = None) -> Entry:
        return cls(actor, action, subject_type, subject_id, encode_details(details))


_EVENT_COLUMNS = Columns(AuditEvent)


def append_entries(session: Session, entries: Sequence[Entry]) -> None:
    """Chain `entries`, in order, onto the log's head and insert them in one statement,
    in the caller's transaction: one lock and one read of the head for a whole batch,
    and still one event per action. They are stamped with the time of the append, under
    the lock, like `record`'s (ids follow the list's order, which the chain relies on)."""
    if not entries:
        return
    session.flush()  # the changes they describe go first, as with `record`
    _lock_chain(session)
    at = utcnow()
    stamp = at.isoformat(timespec="microseconds")
    prev_hash = _last_hash(session)
    rows = []
    for entry in entries:
        actor = entry.actor
        digest = _digest_text(prev_hash, stamp, actor.type, actor.id, entry.action,
                              entry.subject_type, entry.subject_id, entry.details)
        rows.append(_EVENT_COLUMNS.row(
            at=at, actor_type=actor.type, actor_id=actor.id, action=entry.action,
            subject_type=entry.subject_type, subject_id=entry.subject_id,
            details=entry.details, prev_hash=prev_hash, hash=digest))
        prev_hash = digest
    insert_rows(session, _EVENT_COLUMNS, rows)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    events: int
    head: str
    broken_at: int | None = None
    problem: str | None = None


def verify_chain(events: Iterable[AuditEvent], *, start: str = GENESIS) -> ChainReport:
    """Walk the chain from `start` (the genesis for the whole log); name the first event
    that does not link."""
    expected_prev = start
    count = 0
    for event in events:
        count += 1
        if event.prev_hash != expected_prev:
            return ChainReport(False, count, expected_prev, event.id,
                               "does not link to the event before it (inserted or deleted rows)")
        computed = _digest(prev_hash=event.prev_hash, at=event.at, actor_type=event.actor_type,
                           actor_id=event.actor_id, action=event.action,
                           subject_type=event.subject_type, subject_id=event.subject_id,
                           details=event.details)
        if computed != event.hash:
            return ChainReport(False, count, expected_prev, event.id, "content was changed")
        expected_prev = event.hash
    return ChainReport(True, count, expected_prev)


def verify_log(session: Session) -> ChainReport:
    statement = select(AuditEvent).order_by(AuditEvent.id)  # type: ignore[arg-type]
    return verify_chain(session.exec(statement).yield_per(1000))


def events_for(session: Session, *, subject_type: str, subject_id: str) -> list[AuditEvent]:
    statement = (select(AuditEvent)
                 .where(AuditEvent.subject_type == subject_type,
                        AuditEvent.subject_id == subject_id)
                 .order_by(AuditEvent.id))  # type: ignore[arg-type]
    return list(session.exec(statement))


# --- Export: a date range of the log, for auditors and outside reviewers --------------

EXPORT_FIELDS = ("id", "at", "actor_type", "actor_id", "action", "subject_type", "subject_id",
                 "details", "prev_hash", "hash")
EXPORT_PAGE = 1000


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"


@dataclass(frozen=True)
class ExportRange:
    """Whole UTC days, both ends included: the log's times are UTC, so are its days."""

    first_day: date
    last_day: date

    @classmethod
    def of(cls, first_day: date, last_day: date) -> ExportRange:
        if first_day > last_day:
            raise Invalid("`from` must not be after `to`.", code="invalid_range")
        return cls(first_day, last_day)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time.min, tzinfo=UTC)

    @property
    def end(self) -> datetime | None:
        """The first instant after the range; None past the calendar's last day."""
        if self.last_day == date.max:
            return None
        return datetime.combine(self.last_day + timedelta(days=1), time.min, tzinfo=UTC)

    def label(self) -> str:
        return f"{self.first_day.isoformat()}..{self.last_day.isoformat()}"


def record_export(session: Session, *, actor: Actor, span: ExportRange,
                  fmt: ExportFormat) -> AuditEvent:
    """Exporting is itself an audited read. The export stops at this event, so what is
    handed over ends at a known point even while staff keep working."""
    return record(session, actor=actor, action="audit.export", subject_type="audit_log",
                  subject_id=span.label(),
                  details={"from": span.first_day, "to": span.last_day, "format": fmt.value})


def export_rows(session: Session, *, span: ExportRange, upto_id: int,
                page: int = EXPORT_PAGE) -> Iterator[dict[str, Any]]:
    """The events of the range in chain order, fetched `page` rows at a time by id, so a
    year of events never sits in memory. Each row carries the exact strings its hash
    covers (`at` with microseconds, `details` as stored) and the previous hash."""
    columns = [getattr(AuditEvent, name) for name in EXPORT_FIELDS]
    after = 0
    while True:
        statement = (select(*columns)
                     .where(AuditEvent.at >= span.start, AuditEvent.id > after,  # type: ignore[operator]
                            AuditEvent.id <= upto_id)  # type: ignore[operator]
                     .order_by(AuditEvent.id).limit(page))  # type: ignore[arg-type]
        if span.end is not None:
            statement = statement.where(AuditEvent.at < span.end)  # type: ignore[operator]
        rows = session.exec(statement).all()
        for row in rows:
            item = dict(zip(EXPORT_FIELDS, row, strict=True))
            item["at"] = item["at"].isoformat(timespec="microseconds")
            yield item
        if len(rows) < page:
            return
        after = rows[-1][0]


def export_header(fmt: ExportFormat) -> str:
    """What comes before the first row: the CSV header line; nothing for JSON lines."""
    return _csv_line(EXPORT_FIELDS) if fmt is ExportFormat.CSV else ""


def export_line(row: dict[str, Any], fmt: ExportFormat) -> str:
    """One row as one line. In CSV an empty `actor_id` stands for none."""
    if fmt is ExportFormat.JSONL:
        return json.dumps(row, ensure_ascii=False) + "\n"
    return _csv_line(row[name] for name in EXPORT_FIELDS)


def export_lines(rows: Iterable[dict[str, Any]], fmt: ExportFormat) -> Iterator[str]:
    """The whole export, a line at a time."""
    yield export_header(fmt)
    for row in rows:
        yield export_line(row, fmt)


def _csv_line(values: Iterable[Any]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(["" if v is None else v for v in values])
    return out.getvalue()


def read_export(lines: Iterable[str], fmt: ExportFormat) -> Iterator[dict[str, Any]]:
    """Rows back from an export file, as a recipient reads them to check the chain."""
    if fmt is ExportFormat.JSONL:
        for line in lines:
            if line.strip():
                yield json.loads(line)
        return
    for row in csv.DictReader(lines):
        yield {**row, "id": int(row["id"]), "actor_id": row["actor_id"] or None}


def verify_segment(rows: Iterable[dict[str, Any]]) -> ChainReport:
    """Check an exported stretch of the chain: every row's hash matches its content and
    links to the row before it. The first row's `prev_hash` anchors the stretch to the
    event before it; its last `hash` should equal a later export's or the live head."""
    events = (AuditEvent(**{**row, "at": datetime.fromisoformat(row["at"])}) for row in rows)
    first = next(events, None)
    if first is None:
        return ChainReport(True, 0, GENESIS)
    return verify_chain(itertools.chain([first], events), start=first.prev_hash)
