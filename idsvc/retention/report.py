"""The data-minimisation report: what personal data idsvc holds, about whom, how old.

Counts only, by category and age, with the oldest record's day: it names nobody, so
administrators and auditors can publish it or hand it to the city's counsel. Every
number is counted in SQL, so it costs the same with a million residents.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, or_, true
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, select

from idsvc.audit.models import AuditEvent
from idsvc.audit.service import Actor, record
from idsvc.benefits.models import Redemption
from idsvc.cards.models import Card
from idsvc.cards.service import CardState
from idsvc.clock import iso, local_date, utcnow
from idsvc.config import Settings
from idsvc.csvfile import csv_text
from idsvc.enrollment.models import Application, DocumentCheck
from idsvc.enrollment.service import ApplicationStatus
from idsvc.partners.models import PartnerSession
from idsvc.residents.models import Resident, ResidentAccount, ResidentSession
from idsvc.retention import policy
from idsvc.retention.models import ShredRecord
from idsvc.staff.models import StaffSession
from idsvc.verification.models import VerificationEvent

# Age buckets in days, [from, to): applications and verification events are counted in each.
AGE_BUCKETS: tuple[tuple[int, int | None], ...] = ((0, 30), (30, 90), (90, 365), (365, None))
ALL_AGES = "all"
FIELDS = ("group", "category", "age", "count", "oldest", "holds")

SEALED = "sealed under the resident's data key"
HOLDS = {
    "card_in_use": f"name, birth date, address, contacts, photo, card credentials; {SEALED}",
    "card_ended": f"as above, every card expired or revoked (not yet due); {SEALED}",
    "due_for_shredding": f"as above, every card expired past the retention period; {SEALED}",
    "applicant_without_card": f"as above, for a pending or rejected application; {SEALED}",
    "shredded": "nothing: data key and fields destroyed; an opaque id and day in the ledger",
    "with_photo": f"portrait photo; {SEALED}",
    "accounts": "PIN or passphrase hash, login failures",
    "applications": "status, centre, dates; a sealed decision note",
    "due_for_purge": "rejected or abandoned past the purge period: shredded on the next run",
    "document_checks": "document type and points examined, clerk, time (no copy, no number)",
    "verification_events": "partner, time, verdict, keyed pseudonym of the card",
    "redemptions": "partner, benefit, time, keyed pseudonym of the card",
    "audit_events": "staff, action and record ids (no personal data)",
    "sessions": "hash of a login token, times",
}


@dataclass(frozen=True)
class Line:
    group: str
    category: str
    age: str
    count: int
    oldest: date | None
    holds: str


@dataclass(frozen=True)
class MinimisationReport:
    generated_at: datetime
    shred_after_expired_years: int
    purge_applications_after_days: int
    verification_retention_days: int
    lines: list[Line]


def _day(moment: datetime | date | str | None) -> date | None:
    """The UTC day of an aggregate's result (SQLite gives text for min() of a time)."""
    if moment is None:
        return None
    if isinstance(moment, str):
        return date.fromisoformat(moment[:10])
    return moment.date() if isinstance(moment, datetime) else moment


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _oldest(condition: ColumnElement[bool], column: Any) -> ColumnElement[Any]:
    return func.min(case((condition, column), else_=None))


def _residents(session: Session, today: date, cutoff: date | None) -> list[Line]:
    in_use = and_(Card.state != CardState.REVOKED,
                  or_(Card.expires_on.is_(None), Card.expires_on >= today))  # type: ignore[union-attr,operator]
    kept = (true() if cutoff is None  # the rule is off: nobody is due
            else or_(Card.expires_on.is_(None), Card.expires_on >= cutoff))  # type: ignore[union-attr,operator]
    per_resident = (select(Card.resident_id.label("rid"),
                           _count(in_use).label("in_use"), _count(kept).label("kept"))
                    .group_by(Card.resident_id).subquery())
    live = ~exists().where(ShredRecord.resident_id == Resident.id)
    categories = {
        "card_in_use": per_resident.c.in_use > 0,
        "card_ended": and_(per_resident.c.in_use == 0, per_resident.c.kept > 0),
        "due_for_shredding": and_(per_resident.c.in_use == 0, per_resident.c.kept == 0),
        "applicant_without_card": per_resident.c.rid.is_(None),
    }
    columns = [expr for condition in categories.values()
               for expr in (_count(condition), _oldest(condition, Resident.created_at))]
    row = session.exec(select(*columns).select_from(Resident)
                       .outerjoin(per_resident, per_resident.c.rid == Resident.id)
                       .where(live)).one()
    lines = [Line("residents", name, ALL_AGES, int(row[2 * i]), _day(row[2 * i + 1]),
                  HOLDS[name]) for i, name in enumerate(categories)]
    shredded, first = session.exec(select(func.count(), func.min(ShredRecord.shredded_on))).one()
    lines.append(Line("residents", "shredded", ALL_AGES, shredded, _day(first),
                      HOLDS["shredded"]))
    photos, oldest = session.exec(select(func.count(), func.min(Resident.created_at))
                                  .where(Resident.photo.is_not(None), live)).one()  # type: ignore[union-attr]
    lines.append(Line("residents", "with_photo", ALL_AGES, photos, _day(oldest),
                      HOLDS["with_photo"]))
    accounts, since = session.exec(select(func.count(),
                                          func.min(ResidentAccount.activated_at))).one()
    lines.append(Line("residents", "accounts", ALL_AGES, accounts, _day(since),
                      HOLDS["accounts"]))
    return lines


def _bucket_label(low: int, high: int | None) -> str:
    return f"{low}+ days" if high is None else f"{low}-{high - 1} days"


def _by_age(session: Session, *, group: str, categories: list[str],
            category_column: Any | None, column: Any, now: datetime, holds: str) -> list[Line]:
    """One line per category and age bucket of `column` (one category when no
    `category_column`), zero counts included so every report has the same shape."""
    conditions = []
    for low, high in AGE_BUCKETS:
        older_than = column <= now - timedelta(days=low)
        conditions.append(older_than if high is None
                          else and_(older_than, column > now - timedelta(days=high)))
    columns = [expr for condition in conditions
               for expr in (_count(condition), _oldest(condition, column))]
    if category_column is None:
        found = {categories[0]: session.exec(select(*columns)).one()}
    else:
        found = {str(row[0]): row[1:] for row in
                 session.exec(select(category_column, *columns).group_by(category_column))}
    lines = []
    for category in categories:
        values = found.get(category)
        lines += [Line(group, category, _bucket_label(low, high),
                       int(values[2 * i]) if values else 0,
                       _day(values[2 * i + 1]) if values else None, holds)
                  for i, (low, high) in enumerate(AGE_BUCKETS)]
    return lines


def _applications(session: Session, now: datetime, purge_days: int) -> list[Line]:
    lines = _by_age(session, group="applications",
                    categories=[str(status) for status in ApplicationStatus],
                    category_column=Application.status, column=Application.created_at,
                    now=now, holds=HOLDS["applications"])
    due = (policy.count_applications_due(session, before=policy.purge_before(now, purge_days))
           if purge_days else 0)
    lines.append(Line("applications", "due_for_purge", ALL_AGES, due, None,
                      HOLDS["due_for_purge"]))
    checks, oldest = session.exec(select(func.count(), func.min(DocumentCheck.checked_at))).one()
    lines.append(Line("applications", "document_checks", ALL_AGES, checks, _day(oldest),
                      HOLDS["document_checks"]))
    return lines


def _logs(session: Session, now: datetime) -> list[Line]:
    lines = _by_age(session, group="verification_events", categories=["verification_events"],
                    category_column=None, column=VerificationEvent.at, now=now,
                    holds=HOLDS["verification_events"])
    for group, column in (("redemptions", Redemption.redeemed_at),
                          ("audit_events", AuditEvent.at)):
        count, oldest = session.exec(select(func.count(), func.min(column))).one()
        lines.append(Line(group, group, ALL_AGES, count, _day(oldest), HOLDS[group]))
    return lines


def _sessions(session: Session, now: datetime) -> list[Line]:
    lines = []
    for name, table in (("staff", StaffSession), ("partner_desk", PartnerSession),
                        ("resident", ResidentSession)):
        open_, expired = session.exec(select(_count(table.expires_at >= now),
                                             _count(table.expires_at < now))).one()
        lines.append(Line("sessions", f"{name}_open", ALL_AGES, int(open_), None,
                          HOLDS["sessions"]))
        lines.append(Line("sessions", f"{name}_expired_awaiting_purge", ALL_AGES,
                          int(expired), None, HOLDS["sessions"]))
    return lines


def build_report(session: Session, *, now: datetime, today: date, shred_after_years: int,
                 purge_after_days: int, verification_retention_days: int) -> MinimisationReport:
    """The whole report as of `now` (`today`: the city's date, which card expiry uses)."""
    cutoff = policy.expiry_cutoff(today, shred_after_years) if shred_after_years else None
    lines = (_residents(session, today, cutoff) + _applications(session, now, purge_after_days)
             + _logs(session, now) + _sessions(session, now))
    return MinimisationReport(now, shred_after_years, purge_after_days,
                              verification_retention_days, lines)


def audited_report(session: Session, *, settings: Settings,
                   actor: Actor) -> MinimisationReport:
    """The report under the deployment's settings, as of now; the reading is audited."""
    now = utcnow()
    result = build_report(session, now=now, today=local_date(now, settings.timezone),
                          shred_after_years=settings.shred_after_expired_years,
                          purge_after_days=settings.purge_applications_after_days,
                          verification_retention_days=settings.verification_retention_days)
    record(session, actor=actor, action="retention.report", subject_type="retention",
           subject_id="report")
    return result


def as_dict(report: MinimisationReport) -> dict[str, Any]:
    return {
        "generated_at": iso(report.generated_at),
        "policy": {"shred_after_expired_years": report.shred_after_expired_years,
                   "purge_applications_after_days": report.purge_applications_after_days,
                   "verification_retention_days": report.verification_retention_days},
        "lines": [{**asdict(line), "oldest": line.oldest.isoformat() if line.oldest else None}
                  for line in report.lines],
    }


def as_json(report: MinimisationReport) -> str:
    return json.dumps(as_dict(report), indent=1) + "\n"


def as_csv(report: MinimisationReport) -> str:
    return csv_text(FIELDS, as_dict(report)["lines"])


def as_text(report: MinimisationReport) -> str:
    """A table for the terminal: one line per category and age."""
    head = (f"Personal data held, {iso(report.generated_at)}; shred "
            f"{report.shred_after_expired_years or 'never'} years after the last card "
            f"expired; purge applications after {report.purge_applications_after_days or 'never'}"
            f" days; verification events kept {report.verification_retention_days} days\n")
    rows = [f"{'group':<20} {'category':<36} {'age':<12} {'count':>9}  oldest"]
    rows += [f"{line.group:<20} {line.category:<36} {line.age:<12} {line.count:>9}  "
             f"{line.oldest.isoformat() if line.oldest else '-'}" for line in report.lines]
    return head + "\n".join(rows) + "\n"
