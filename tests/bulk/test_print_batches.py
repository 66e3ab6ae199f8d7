"""Print batches: one PDF of many cards, grouped by service centre, for card printers."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from idsvc.bulk.sheet import CARD_MM
from idsvc.cards.numbers import display
from tests.bulk.conftest import Run, person, write_csv
from tests.factories import enroll_and_approve

POINTS_PER_MM = 72 / 25.4


def _pages_text(pdf: bytes) -> tuple[PdfReader, list[str]]:
    reader = PdfReader(io.BytesIO(pdf))
    return reader, [page.extract_text() for page in reader.pages]


@pytest.mark.slow
def test_sheet_groups_cards_by_centre_in_duplex_order(client: TestClient, admin, supervisor,
                                                      clerk) -> None:
    annex = client.post("/api/v1/centres", json={"code": "ANNEX", "name": "Harbor Annex"},
                        headers=admin).json()
    central = [enroll_and_approve(client, clerk, given_name=g)["card_number"]
               for g in ("Wayra", "Killa")]
    annexed = enroll_and_approve(client, admin, given_name="Inti",
                                 centre_id=annex["id"])["card_number"]

    made = client.post("/api/v1/print-batches", json={}, headers=supervisor)
    assert made.status_code == 201, made.text
    batch = made.json()
    assert batch["card_count"] == 3 and batch["printed_at"] is None
    assert batch["card_numbers"] == [annexed, *central]  # ANNEX before CENTRAL

    sheet = client.get(f"/api/v1/print-batches/{batch['id']}/sheet.pdf", headers=supervisor)
    assert sheet.status_code == 200
    assert sheet.headers["content-type"] == "application/pdf"
    reader, texts = _pages_text(sheet.content)
    # ANNEX: separator (2 pages, front and back) + 1 card x 2; CENTRAL: 2 + 2 cards x 2
    assert len(reader.pages) == 10
    for page in reader.pages:
        width, height = float(page.mediabox.width), float(page.mediabox.height)
        assert abs(width - CARD_MM[0] * POINTS_PER_MM) < 0.5
        assert abs(height - CARD_MM[1] * POINTS_PER_MM) < 0.5
    assert "Centre ANNEX" in texts[0] and display(annexed) in texts[0]
    assert "1 cards follow" in texts[0]
    assert "Centre CENTRAL" in texts[4] and "2 cards follow" in texts[4]
    assert texts[4].index(display(central[0])) < texts[4].index(display(central[1]))
    assert [item.title for item in reader.outline if not isinstance(item, list)] == [
        "ANNEX: 1 cards", "CENTRAL: 2 cards"]
    assert client.get(f"/api/v1/print-batches/{batch['id']}",
                      headers=supervisor).json()["printed_at"] is not None

    again = client.post("/api/v1/print-batches", json={}, headers=supervisor)
    assert again.status_code == 422 and again.json()["error"] == "nothing_to_print"
    reprint = client.post("/api/v1/print-batches", json={"status": "approved", "limit": 2},
                          headers=supervisor)
    assert reprint.status_code == 201 and reprint.json()["card_count"] == 2


def test_revoked_cards_are_left_out_of_the_sheet(client: TestClient, clerk) -> None:
    kept, revoked = (enroll_and_approve(client, clerk, given_name=g)["card_number"]
                     for g in ("Sisa", "Nina"))
    batch = client.post("/api/v1/print-batches", json={}, headers=clerk).json()
    r = client.post(f"/api/v1/cards/{revoked}/revoke", json={"reason": "lost"}, headers=clerk)
    assert r.status_code == 200, r.text
    reader, texts = _pages_text(
        client.get(f"/api/v1/print-batches/{batch['id']}/sheet.pdf", headers=clerk).content)
    assert len(reader.pages) == 4
    assert display(kept) in texts[0] and display(revoked) not in texts[0]
    assert "1 left out" in texts[0]


def test_clerks_print_their_own_centre_only(client: TestClient, admin, clerk, supervisor,
                                            auditor) -> None:
    client.post("/api/v1/centres", json={"code": "ANNEX", "name": "Annex"}, headers=admin)
    enroll_and_approve(client, clerk)
    other = client.post("/api/v1/print-batches", json={"centre": "ANNEX"}, headers=clerk)
    assert other.status_code == 403 and other.json()["error"] == "centre_not_yours"
    everywhere = client.post("/api/v1/print-batches", json={}, headers=supervisor).json()
    assert client.get(f"/api/v1/print-batches/{everywhere['id']}",
                      headers=clerk).status_code == 403
    assert client.get(f"/api/v1/print-batches/{everywhere['id']}/sheet.pdf",
                      headers=clerk).status_code == 403
    own = client.post("/api/v1/print-batches", json={"status": "approved"}, headers=clerk)
    assert own.status_code == 201 and own.json()["centre"] == "CENTRAL"
    assert client.post("/api/v1/print-batches", json={},
                       headers=auditor).status_code == 403
    assert client.post("/api/v1/print-batches", json={"limit": 0},
                       headers=supervisor).status_code == 422
    assert client.post("/api/v1/print-batches", json={"nationality": "x"},
                       headers=supervisor).json()["error"] == "unknown_field"


@pytest.mark.slow
def test_print_batch_command_writes_an_owner_only_sheet(run: Run, tmp_path: Path) -> None:
    north = write_csv(tmp_path / "north.csv", [person(i) for i in range(3)])
    run("import", str(north), "--centre", "NORTH", "--as", "sam", "--workers", "0")
    south = write_csv(tmp_path / "south.csv", [person(i) for i in range(10, 12)])
    run("import", str(south), "--centre", "SOUTH", "--as", "sam", "--workers", "0")

    out = tmp_path / "south.pdf"
    assert "2 cards" in run("card", "print-batch", "--centre", "SOUTH", "--out", str(out)).output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert len(PdfReader(out).pages) == 2 + 2 * 2

    rest = tmp_path / "rest.pdf"
    assert "3 cards" in run("card", "print-batch", "--out", str(rest)).output
    reader, texts = _pages_text(rest.read_bytes())
    assert len(reader.pages) == 2 + 3 * 2 and "Centre NORTH" in texts[0]
    result = run("card", "print-batch", "--out", str(tmp_path / "none.pdf"), code=1)
    assert "nothing_to_print" in result.output
