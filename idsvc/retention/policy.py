"""Who is due for shredding under the retention rules, found in SQL.

Two rules, each switched off by a setting of 0:
- **Expired cards** (`IDSVC_SHRED_AFTER_EXPIRED_YEARS`, N): a resident is shredded when
  every card they ever held expired more than N years ago. A card is valid through its
  expiry date E, so it is due from the day after E + N years; a card that never expires
  keeps its holder's record. Revoked cards count by their expiry date too.
- **Applications never approved** (`IDSVC_PURGE_APPLICATIONS_AFTER_DAYS`, D): a rejected
  application D days after its rejection, and an *abandoned* one, meaning still pending
  and untouched for D days: not created, corrected, photographed, nor a document
  recorded since. Its applicant (who has no card: each application enrolls its own
  record) is shredded with it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, exists, func, or_
from sqlmodel import Session, select
from sqlmodel.sql.expression import Select

from idsvc.cards.models import Card
from idsvc.enrollment.models import Application, DocumentCheck
from idsvc.enrollment.service import ApplicationStatus
from idsvc.residents.models import Resident
from idsvc.retention.models import ShredRecord


def years_before(day: date, years: int) -> date:
    """`day` moved back `years` years; 29 February becomes 1 March in a common year, so
    that 'E + N years < today' and 'E < years_before(today, N)' always agree."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return date(day.year - years, 3, 1)


def expiry_cutoff(today: date, years: int) -> date:
    """Residents whose every card expired before this day are due."""
    return years_before(today, years)


def _not_shredded(resident_id: object) -> object:
    return ~exists().where(ShredRecord.resident_id == resident_id)


def _residents_due(cutoff: date) -> Select[tuple[str]]:
    kept = func.sum(case((or_(Card.expires_on.is_(None),  # type: ignore[union-attr]
                              Card.expires_on >= cutoff), 1), else_=0))  # type: ignore[operator]
    return (select(Card.resident_id)
            .where(_not_shredded(Card.resident_id))
            .group_by(Card.resident_id)
            .having(kept == 0))


def residents_due(session: Session, *, cutoff: date, limit: int | None = None) -> list[str]:
    """Ids of residents not yet shredded whose every card expired before `cutoff`."""
    return list(session.exec(_residents_due(cutoff).order_by(Card.resident_id).limit(limit)))


def count_residents_due(session: Session, *, cutoff: date) -> int:
    return session.exec(select(func.count()).select_from(_residents_due(cutoff).subquery())).one()


def _abandoned(before: datetime) -> object:
    """Pending, and nothing done to it or its applicant's record since `before`."""
    return and_(
        Application.status == ApplicationStatus.PENDING,
        Application.created_at < before,
        Resident.updated_at < before,
        ~exists().where(DocumentCheck.application_id == Application.id,
                        DocumentCheck.checked_at >= before))


def _applications_due(before: datetime) -> Select[tuple[str, str]]:
    rejected = and_(Application.status == ApplicationStatus.REJECTED,
                    Application.decided_at < before)  # type: ignore[operator]
    return (select(Application.id, Application.resident_id)
            .join(Resident, Resident.id == Application.resident_id)
            .where(or_(rejected, _abandoned(before)),
                   ~exists().where(Card.resident_id == Application.resident_id)))


def applications_due(session: Session, *, before: datetime,
                     limit: int | None = None) -> list[tuple[str, str]]:
    """(application id, applicant id) of rejected applications decided, and abandoned
    ones last touched, before `before`; never one whose applicant holds a card."""
    statement = _applications_due(before).order_by(Application.id).limit(limit)
    return [(app_id, resident_id) for app_id, resident_id in session.exec(statement)]


def count_applications_due(session: Session, *, before: datetime) -> int:
    return session.exec(select(func.count())
                        .select_from(_applications_due(before).subquery())).one()


def purge_before(now: datetime, days: int) -> datetime:
    """Applications last touched before this instant are due (exactly D days: kept)."""
    return now - timedelta(days=days)
