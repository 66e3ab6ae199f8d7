"""Service centre rules."""

from __future__ import annotations

from sqlmodel import Session, select

from idsvc.audit.service import Actor, record
from idsvc.centres.models import ServiceCentre
from idsvc.clock import utcnow
from idsvc.errors import Conflict, NotFound


def create_centre(session: Session, *, code: str, name: str, address: str,
                  actor: Actor) -> ServiceCentre:
    if find_centre(session, code=code) is not None:
        raise Conflict(f"A service centre with code {code!r} exists.", code="centre_exists")
    centre = ServiceCentre(code=code, name=name, address=address, created_at=utcnow())
    session.add(centre)
    session.flush()
    record(session, actor=actor, action="centre.create", subject_type="centre",
           subject_id=str(centre.id), details={"code": code})
    return centre


def find_centre(session: Session, *, code: str) -> ServiceCentre | None:
    return session.exec(select(ServiceCentre).where(ServiceCentre.code == code)).first()


def get_centre(session: Session, centre_id: int) -> ServiceCentre:
    centre = session.get(ServiceCentre, centre_id)
    if centre is None:
        raise NotFound(f"No service centre {centre_id}.", code="centre_not_found")
    return centre


def list_centres(session: Session) -> list[ServiceCentre]:
    return list(session.exec(select(ServiceCentre).order_by(ServiceCentre.code)))
