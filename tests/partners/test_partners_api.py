"""Partner administration: input limits and what an administrator sees."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/api/v1/partners/99999999999999999999",
                                  "/api/v1/partners/2147483648", "/api/v1/partners/0"])
def test_out_of_range_ids_are_422_not_500(client, admin, path):
    assert client.get(path, headers=admin).status_code == 422


def test_control_characters_in_names_are_refused(client, admin):
    r = client.post("/api/v1/partners", json={"name": "Bank\x00", "kind": "bank"},
                    headers=admin)
    assert r.status_code == 422


def test_partner_defaults_show_the_kind_scope(client, admin):
    r = client.post("/api/v1/partners", json={"name": "Clinic", "kind": "healthcare"},
                    headers=admin)
    assert r.status_code == 201
    assert r.json()["scope"] == ["date_of_birth", "full_name"]
    assert r.json()["scope_narrowed"] is False
    again = client.post("/api/v1/partners", json={"name": "Clinic", "kind": "bank"},
                        headers=admin)
    assert again.status_code == 409 and again.json()["error"] == "partner_exists"
