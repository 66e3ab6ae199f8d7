"""The weekly release: make the slots ahead, open those the rule says, waitlist first.

`release` may run any number of times (`idsvc appointments release`, by hand, from cron,
or `--every`): it makes the missing slots of the next `GENERATE_WEEKS` weeks (unreleased),
releases every slot before each centre's release boundary that is not released yet, and
hands the new seats to the waitlist in its order; only the seats left are bookable.
A second run at the same moment finds nothing to do.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from idsvc.appointments import queue
from idsvc.appointments import schedule as schedules
from idsvc.appointments.context import Context
from idsvc.appointments.models import Slot
from idsvc.appointments.schemas import ReleaseReport
from idsvc.audit.service import record

GENERATE_WEEKS = 8


def release(session: Session, ctx: Context) -> ReleaseReport:
    ctx = queue.serialise(session, ctx)
    created, released = 0, []
    zone = ctx.settings.timezone
    for schedule in schedules.all_schedules(session):
        boundary = schedules.ReleaseRule.for_centre(schedule, ctx.settings).released_before(
            ctx.now, zone)
        last = max(boundary - timedelta(days=1),
                   ctx.today + timedelta(weeks=GENERATE_WEEKS))
        created += schedules.generate(session, schedule=schedule, first=ctx.today, last=last,
                                      zone=zone, now=ctx.now)
        released += session.exec(select(Slot.id).where(
            Slot.centre_id == schedule.centre_id, col(Slot.released_at).is_(None),
            col(Slot.day) < boundary, col(Slot.starts_at) > ctx.now)).all()
    if released:
        session.execute(update(Slot).where(col(Slot.id).in_(released))
                        .values(released_at=ctx.now)
                        .execution_options(synchronize_session=False))
    assigned = queue.give_away(session, ctx, released)
    report = ReleaseReport(created=created, released=len(released), assigned=assigned)
    if created or released:
        record(session, actor=ctx.actor, action="appointment.release",
               subject_type="appointments", subject_id="slots", details=report.model_dump())
    return report
