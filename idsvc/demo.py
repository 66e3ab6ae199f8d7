"""Demo data for `idsvc demo`: a service centre, staff to log in with, one sample card.

The sample resident is fictional and the photo a drawn silhouette, so a first run shows
a real printed card without anyone's personal data.
"""

from __future__ import annotations

import io
import secrets
from datetime import date

from PIL import Image, ImageDraw
from sqlmodel import Session

from idsvc.audit.service import Actor
from idsvc.cards import service as cards
from idsvc.centres import service as centres
from idsvc.centres.models import ServiceCentre
from idsvc.config import Settings
from idsvc.crypto.envelope import MasterKey
from idsvc.enrollment.photo import normalise_portrait
from idsvc.enrollment.policy import Policy
from idsvc.residents import service as residents
from idsvc.residents.schemas import PersonalData
from idsvc.staff import service as staff_service
from idsvc.staff.roles import Role

DEMO_CENTRE = "CENTRAL"
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
