"""SIGKILL inside approval, replacement and redemption: nothing half-done, nothing lost.

Each request is held inside its transaction by a trigger (tests/faults/gates.py) after
its first writes, and the server is killed there; after a restart the request left no
trace and doing it again works once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.faults.conftest import Running
from tests.faults.gates import gate
from tests.faults.invariants import all_problems, stored_redemptions
from tests.faults.seed import approved_card, card_qr, partner, ready_application

pytestmark = pytest.mark.slow


def _kill_inside(running: Running, table: str,
                 send: Callable[[httpx.Client], httpx.Response]) -> None:
    """Send one request, SIGKILL the server while the request is held after inserting
    into `table`, check the database, start the server again."""
    url = running.deployment.database_url
    with gate(url, table) as held, ThreadPoolExecutor(1) as pool, running.client() as client:
        answer = pool.submit(send, client)
        held.wait_until_held()
        running.server.kill()
        with pytest.raises(httpx.TransportError):
            answer.result(timeout=30)
        assert held.leftovers() == 0
    assert all_problems(url) == []
    running.server.start()


def test_sigkill_inside_an_approval_issues_no_card(running):
    with running.client() as client:
        app_id = ready_application(client, running.clerk, 1)
    approve = f"/api/v1/applications/{app_id}/approve"
    _kill_inside(running, "cards", lambda client: client.post(approve, headers=running.clerk))
    with running.client() as client:
        view = client.get(f"/api/v1/applications/{app_id}", headers=running.clerk).json()
        assert (view["status"], view["card_number"]) == ("pending", None)
        again = client.post(approve, headers=running.clerk)
        assert again.status_code == 201, again.text
    running.assert_consistent()


def test_sigkill_inside_a_replacement_keeps_the_card_in_use(running):
    with running.client() as client:
        number = approved_card(client, running.clerk, 1)
        qr = card_qr(client, running.clerk, number)
        museum = partner(client, running.admin)
    replace = f"/api/v1/cards/{number}/replace"
    _kill_inside(running, "cards", lambda client: client.post(
        replace, json={"reason": "lost"}, headers=running.clerk))
    with running.client() as client:
        view = client.get(f"/api/v1/cards/{number}", headers=running.clerk).json()
        assert (view["version"], view["state"]) == (1, "active")
        assert museum.verify(client, qr).json()["result"] == "valid"
        again = client.post(replace, json={"reason": "lost"}, headers=running.clerk)
        assert (again.status_code, again.json()["version"]) == (201, 2)
        assert museum.verify(client, qr).json()["result"] == "revoked"
    running.assert_consistent()


def test_sigkill_inside_a_redemption_stores_it_once_when_retried(running):
    with running.client() as client:
        number = approved_card(client, running.clerk, 1)
        museum = partner(client, running.admin)
    key = uuid.uuid4().hex
    _kill_inside(running, "redemptions", lambda client: museum.redeem(client, number, key))
    assert stored_redemptions(running.deployment.database_url) == {}
    with running.client() as client:
        first, retry = museum.redeem(client, number, key), museum.redeem(client, number, key)
    assert (first.status_code, retry.status_code) == (201, 201), retry.text
    assert first.json()["id"] == retry.json()["id"]
    assert stored_redemptions(running.deployment.database_url) == {key: first.json()["id"]}
    running.assert_consistent()
