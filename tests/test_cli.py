"""The `idsvc` command as an operator uses it."""

from __future__ import annotations

import json
import re
import stat

import pytest
from fastapi.testclient import TestClient

from idsvc.app import create_app
from idsvc.config import get_settings
from idsvc.db import make_engine
from tests.commands import idsvc_commands
from tests.factories import enroll_and_approve
from tests.pages import post_form


@pytest.fixture
def run(scratch_url, tmp_path, monkeypatch):
    yield idsvc_commands(monkeypatch, database_url=scratch_url, keys_dir=str(tmp_path / "keys"))
    get_settings.cache_clear()


def test_operator_sets_up_and_prints_a_card(run, tmp_path):
    run("db", "upgrade")
    assert "active signing key" in run("keys", "generate").output
    keys = tmp_path / "keys"
    private = [p for p in keys.iterdir() if p.name.startswith("signing-")]
    assert len(private) == 1
    for path in (*private, keys / "data.key"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "active" in run("keys", "list").output
    run("keys", "generate")  # idempotent: still one key
    assert len([p for p in keys.iterdir() if p.name.startswith("signing-")]) == 1

    run("centre", "create", "NORTH", "North Centre", "--address", "1 North Road")
    run("staff", "create", "alice", "--role", "clerk", "--centre", "NORTH",
        input="a long enough passphrase\na long enough passphrase\n")
    run("staff", "create", "bob", "--role", "admin", "--password", "short", code=1)

    with TestClient(create_app(get_settings())) as client:
        token = client.post("/api/v1/auth/token", data={
            "username": "alice", "password": "a long enough passphrase"}).json()["access_token"]
        card = enroll_and_approve(client, {"Authorization": f"Bearer {token}"})

    out = tmp_path / "print"
    run("card", "render", card["card_number"], "--out", str(out))
    names = sorted(p.name for p in out.iterdir())
    stem = f"card-{card['card_number']}-v1"
    assert names == [f"{stem}-back.png", f"{stem}-card.pdf", f"{stem}-front.png"]
    assert "ok:" in run("audit", "verify").output


def test_audit_verify_fails_on_tampering(run):
    run("db", "upgrade")
    run("centre", "create", "EAST", "East Centre")
    run("centre", "create", "WEST", "West Centre")
    with make_engine(get_settings().database_url).begin() as conn:
        conn.exec_driver_sql("UPDATE audit_events SET details = '{}' WHERE action = "
                             "'centre.create' AND id = (SELECT min(id) FROM audit_events)")
    result = run("audit", "verify", code=1)
    assert "BROKEN" in result.output


def test_unknown_card_number_is_a_clear_error(run):
    run("db", "upgrade")
    run("keys", "generate")
    result = run("card", "render", "123412341234", code=1)
    assert "card_not_found" in result.output


def test_demo_sets_everything_up_once_and_serves(run, monkeypatch):
    served = []
    monkeypatch.delenv("IDSVC_COOKIE_SECURE", raising=False)
    monkeypatch.setattr("idsvc.cli.uvicorn.run",
                        lambda app, **k: served.append({"app": app, **k}))
    first = run("demo").output
    second = run("demo").output
    assert len(served) == 2 and served[0]["port"] == 8000
    sample = re.search(r"sample card (\d{12})", first).group(1)
    assert f"sample card {sample}" in second  # issued once, not on every run
    passwords = [re.findall(r"^\s+clerk\s+(\S+)\s", out, re.M)[0] for out in (first, second)]
    assert passwords[0] != passwords[1]
    desk = re.findall(r"^\s+museum-desk\s+(\S+)\s", second, re.M)[0]
    code = re.search(r"activation code (\S+)", second).group(1)

    assert served[1]["app"].state.runtime.settings.cookie_secure is False  # plain-http demo
    with TestClient(served[1]["app"]) as client:
        token = client.post("/api/v1/auth/token", data={
            "username": "clerk", "password": passwords[1]}).json()["access_token"]
        pdf = client.get(f"/api/v1/cards/{sample}/card.pdf",
                         headers={"Authorization": f"Bearer {token}"})
        desk_login = post_form(client, "/partner/login",
                               {"username": "museum-desk", "password": desk},
                               page="/partner/login")
        activated = client.post("/api/v1/residents/activate", json={
            "card_number": sample, "code": code, "secret": "24681357"})
        offers = client.get("/api/v1/benefits").json()
        centres = client.get("/api/v1/appointments/centres").json()
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert desk_login.status_code == 303 and desk_login.headers["location"] == "/partner/"
    assert activated.status_code == 204
    assert [o["name"] for o in offers] == ["Free admission"]  # created once
    assert [c["languages"] for c in centres] == [["eng", "spa", "zho"]]
    assert sum(day["free"] for day in centres[0]["days"]) > 0  # released times to book


def test_partner_keys_offline_bundle_and_verify(run, tmp_path):
    run("db", "upgrade")
    run("keys", "generate")
    created = run("partner", "create", "Riverton Police", "--kind", "law_enforcement").output
    assert re.search(r"API key \(shown once\): idsvc_[0-9a-f]{10}_\S+", created)
    run("staff", "create", "clerk1", "--role", "clerk", "--password", "a long passphrase!")

    with TestClient(create_app(get_settings())) as client:
        token = client.post("/api/v1/auth/token", data={
            "username": "clerk1", "password": "a long passphrase!"}).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        card = enroll_and_approve(client, headers)
        back = client.get(f"/api/v1/cards/{card['card_number']}/back.png", headers=headers)
    photo = tmp_path / "card.png"
    photo.write_bytes(back.content)
    bundle = tmp_path / "bundle.json"
    assert "1 status lists" in run("offline-bundle", "--out", str(bundle)).output

    ok = run("verify", str(photo), "--bundle", str(bundle))
    assert ok.output.splitlines()[0] == "valid"
    assert f"card_number: {card['card_number']}" in ok.output
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps(json.loads(bundle.read_text())["jwks"]))
    no_status = run("verify", str(photo), "--jwks", str(jwks), code=1)
    assert no_status.output.splitlines()[0] == "status_unknown"
    assert run("verify", "NOT A CARD", "--bundle", str(bundle), code=1).output.startswith(
        "invalid")
    assert "error:" in run("verify", "X", code=2).output


def test_key_compromise_and_reissue_from_the_command_line(run):
    run("db", "upgrade")
    old = re.search(r"active signing key (\S+)", run("keys", "generate").output).group(1)
    run("staff", "create", "clerk1", "--role", "clerk", "--password", "a long passphrase!")
    with TestClient(create_app(get_settings())) as client:
        token = client.post("/api/v1/auth/token", data={
            "username": "clerk1", "password": "a long passphrase!"}).json()["access_token"]
        card = enroll_and_approve(client, {"Authorization": f"Bearer {token}"})
    out = run("keys", "compromised", old).output
    assert "1 cards in use" in out and "new active signing key" in out
    assert card["card_number"] in run("keys", "affected", old).output
    assert f"{card['card_number']} v2 active" in run("keys", "reissue", old).output
    assert run("keys", "affected", old).output.strip() == ""
    listed = run("keys", "list").output
    assert f"{old}  compromised" in listed and "active" in listed
    run("keys", "retire", old, code=1)  # a compromised key stays compromised


def test_purge_forgets_old_verification_events(run):
    run("db", "upgrade")
    assert "purged 0 verification events" in run("purge").output
