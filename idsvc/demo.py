"""Demo data for `idsvc demo`: a service centre taking appointments, staff to log in
with, one sample card, a museum partner with an offer and a desk login, and an activation
code for the sample resident, so every page can be tried at once.

The sample resident is fictional and the photo a drawn silhouette, so a first run shows
a real printed card without anyone's personal data.
"""

from __future__ import annotations

import io
import secrets
from datetime import date, time

from PIL import Image, ImageDraw
from sqlmodel import Session

from idsvc.appointments import releases
from idsvc.appointments import schedule as schedules
from idsvc.appointments.context import Context
from idsvc.appointments.schemas import Hours, ReleaseReport, ScheduleUpdate
from idsvc.audit.service import Actor
from idsvc.benefits import service as benefits
from idsvc.benefits.schemas import BenefitCreate
from idsvc.cards import service as cards
from idsvc.centres import service as centres
from idsvc.centres.models import ServiceCentre
from idsvc.clock import utcnow
from idsvc.config import Settings
from idsvc.crypto.envelope import MasterKey
from idsvc.enrollment.photo import normalise_portrait
from idsvc.enrollment.policy import Policy
from idsvc.partners import service as partners
from idsvc.partners import users as partner_users
from idsvc.partners.models import Partner
from idsvc.partners.scopes import PartnerKind
from idsvc.residents import accounts
from idsvc.residents import service as residents
from idsvc.residents.schemas import PersonalData
from idsvc.staff import service as staff_service
from idsvc.staff.roles import Role

DEMO_CENTRE = "CENTRAL"
DEMO_MUSEUM = "Riverton Museum of Art"
DEMO_DESK_USER = "museum-desk"
SAMPLE_RESIDENT = PersonalData(
    given_name="Alex", family_name="Sample", date_of_birth=date(1990, 6, 15), gender="X",
    address={"line1": "1 Example Street", "city": "Riverton", "postal_code": "10001"},
    preferred_languages=["eng", "spa"], organ_donor=True,
    emergency_contact={"name": "Sam Sample", "relationship": "friend",
                       "phone": "+1 555 0100"})


def silhouette_jpeg() -> bytes:
    """A drawn head-and-shoulders figure: obviously not a person."""
    image = Image.new("RGB", (600, 800), (214, 226, 236))
    draw = ImageDraw.Draw(image)
    draw.ellipse((190, 150, 410, 400), fill=(96, 112, 128))
    draw.ellipse((90, 430, 510, 900), fill=(96, 112, 128))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def ensure_centre(session: Session, actor: Actor) -> ServiceCentre:
    return centres.find_centre(session, code=DEMO_CENTRE) or centres.create_centre(
        session, code=DEMO_CENTRE, name="Central Service Centre", address="100 Main Street",
        actor=actor)


# Weekdays 9:00-12:30 and 13:30-17:00, Saturday mornings; two desks; three languages.
DEMO_SCHEDULE = ScheduleUpdate(
    languages=["eng", "spa", "zho"], slot_minutes=15, capacity=2,
    hours=[Hours(weekday=day, opens=opens, closes=closes) for day in range(5)
           for opens, closes in ((time(9), time(12, 30)), (time(13, 30), time(17)))]
    + [Hours(weekday=5, opens=time(10), closes=time(13))])


def ensure_schedule(session: Session, *, centre_id: int, settings: Settings, keys: MasterKey,
                    actor: Actor) -> ReleaseReport:
    """An appointment schedule for the centre (kept if an administrator changed it), and
    its slots released up to today's boundary, so the booking pages have times to offer."""
    if schedules.find_schedule(session, centre_id) is None:
        schedules.set_schedule(session, centre_id=centre_id, update=DEMO_SCHEDULE,
                               actor=actor)
    return releases.release(session, Context(keys=keys, settings=settings, actor=actor,
                                             now=utcnow()))


def reset_demo_staff(session: Session, *, centre_id: int | None,
                     actor: Actor) -> dict[str, str]:
    """Demo accounts with fresh random passwords on every run, to print to the terminal."""
    passwords = {}
    for username, role in (("admin", Role.ADMIN), ("clerk", Role.CLERK)):
        password = secrets.token_urlsafe(12)
        existing = staff_service.find_staff(session, username)
        if existing is None:
            staff_service.create_staff(session, username=username, password=password,
                                       role=role, centre_id=centre_id, actor=actor)
        else:
            staff_service.set_password(session, staff=existing, password=password, actor=actor)
        passwords[username] = password
    return passwords


def ensure_sample_card(session: Session, *, settings: Settings, keys: MasterKey,
                       policy: Policy, centre_id: int | None, actor: Actor) -> str:
    """The sample resident's card number, issuing it on the first run."""
    match_key = residents.match_key_for(keys, SAMPLE_RESIDENT)
    for existing in residents.residents_matching(session, match_key=match_key):
        numbers = cards.card_numbers_of(session, existing.id)
        if numbers:
            return numbers[0]
    resident = residents.create_resident(session, data=SAMPLE_RESIDENT, keys=keys)
    residents.set_photo(resident, portrait_jpeg=normalise_portrait(silhouette_jpeg()),
                        keys=keys)
    context = cards.issue_context(session, settings=settings, keys=keys, policy=policy,
                                  actor=actor, issued_by=None, centre_id=centre_id)
    return cards.issue_card(session, resident=resident, application_id=None,
                            context=context).number


def ensure_museum(session: Session, actor: Actor) -> Partner:
    """A cultural partner with one free-admission offer, created on the first run."""
    museum = next((p for p in partners.list_partners(session) if p.name == DEMO_MUSEUM), None)
    if museum is not None:
        return museum
    museum = partners.create_partner(session, name=DEMO_MUSEUM, kind=PartnerKind.CULTURAL,
                                     actor=actor)
    offer = BenefitCreate(name="Free admission", category="museum",
                          description="One free visit a month for cardholders.",
                          limit={"count": 1, "period": "month"})
    benefits.create_benefit(session, partner=museum, fields=offer.model_dump(), actor=actor)
    return museum


def reset_desk_user(session: Session, *, partner: Partner, actor: Actor) -> str:
    """The museum's desk login, with a fresh password on every run (printed once)."""
    password = secrets.token_urlsafe(12)
    user = partner_users.find_user(session, DEMO_DESK_USER)
    if user is None:
        partner_users.create_partner_user(session, partner=partner, username=DEMO_DESK_USER,
                                          password=password, actor=actor)
    else:
        partner_users.set_password(session, user=user, password=password, actor=actor)
    return password


def sample_activation_code(session: Session, *, card_number: str, actor: Actor) -> str:
    """A new one-time code for the sample resident's pages (it also unlocks the account)."""
    card = cards.find_card(session, card_number)
    return accounts.issue_activation_code(session, resident_id=card.resident_id, actor=actor)
