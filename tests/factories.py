"""Small builders of test data: applicants, photos, and a whole enrollment."""

from __future__ import annotations

import io
import random
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageDraw

if TYPE_CHECKING:
    from fastapi.testclient import TestClient


def years_ago(years: int, *, days: int = 0) -> date:
    today = date.today()
    try:
        born = today.replace(year=today.year - years)
    except ValueError:
        born = today.replace(year=today.year - years, day=28)
    return date.fromordinal(born.toordinal() - days)


def applicant(**overrides: Any) -> dict[str, Any]:
    """A valid adult application body; override any field."""
    body: dict[str, Any] = {
        "given_name": "Amaru",
        "family_name": "Quispe Mamani",
        "date_of_birth": "1988-04-17",
        "gender": "X",
        "address": {"line1": "41 Hudson Street", "line2": "Apt 3B", "city": "Riverton",
                    "postal_code": "10013"},
        "preferred_languages": ["spa", "eng"],
        "emergency_contact": {"name": "Rosa Quispe", "relationship": "sister",
                              "phone": "+1 555 010 2030"},
        "veteran": False,
        "organ_donor": True,
    }
    body.update(overrides)
    return body


@lru_cache(maxsize=16)
def portrait(fmt: str = "JPEG", size: tuple[int, int] = (900, 1200), seed: int = 7) -> bytes:
    """A photo-like image (gradient, noise, a face-ish oval) so encoders see real content."""
    rng = random.Random(seed)
    image = Image.new("RGB", size)
    pixels = image.load()
    for y in range(0, size[1], 4):
        for x in range(0, size[0], 4):
            value = (x * 255 // size[0], y * 255 // size[1], rng.randrange(256))
            for dy in range(4):
                for dx in range(4):
                    if x + dx < size[0] and y + dy < size[1]:
                        pixels[x + dx, y + dy] = value
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.ellipse((w * 0.3, h * 0.2, w * 0.7, h * 0.65), fill=(224, 172, 105))
    draw.ellipse((w * 0.4, h * 0.35, w * 0.45, h * 0.4), fill=(40, 30, 20))
    draw.ellipse((w * 0.55, h * 0.35, w * 0.6, h * 0.4), fill=(40, 30, 20))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


GOOD_DOCUMENTS = ("passport", "utility_bill")


def enroll(client: TestClient, headers: dict[str, str], *, documents: tuple[str, ...] =
           GOOD_DOCUMENTS, photo: bytes | None = None, **fields: Any) -> dict[str, Any]:
    """Create an application with documents and a photo; return the application JSON."""
    response = client.post("/api/v1/applications", json=applicant(**fields), headers=headers)
    assert response.status_code == 201, response.text
    application = response.json()
    for code in documents:
        r = client.post(f"/api/v1/applications/{application['id']}/documents",
                        json={"document_type": code}, headers=headers)
        assert r.status_code == 201, r.text
    r = client.put(f"/api/v1/applications/{application['id']}/photo",
                   files={"file": ("me.jpg", photo or portrait(), "image/jpeg")},
                   headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def enroll_and_approve(client: TestClient, headers: dict[str, str],
                       **fields: Any) -> dict[str, Any]:
    application = enroll(client, headers, **fields)
    r = client.post(f"/api/v1/applications/{application['id']}/approve", headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def partner_headers(client: TestClient, admin: dict[str, str], kind: str = "law_enforcement",
                    name: str | None = None) -> dict[str, str]:
    """Create a partner of `kind` with one API key; return its Authorization header."""
    r = client.post("/api/v1/partners", json={"name": name or f"{kind} partner", "kind": kind},
                    headers=admin)
    assert r.status_code == 201, r.text
    key = client.post(f"/api/v1/partners/{r.json()['id']}/keys", headers=admin)
    assert key.status_code == 201, key.text
    return {"Authorization": f"Bearer {key.json()['api_key']}"}


def card_qr(client: TestClient, staff: dict[str, str], number: str) -> str:
    r = client.get(f"/api/v1/cards/{number}/qr", headers=staff)
    assert r.status_code == 200, r.text
    return r.json()["qr"]
