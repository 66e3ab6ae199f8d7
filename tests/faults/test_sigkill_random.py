"""Approvals and redemptions under way, SIGKILL at random moments, restart, retry.

Whatever moment the kill lands on (before, inside or after a transaction, during its
commit, while the answer is on its way), afterwards: every approved application has
exactly one complete card and no card lacks one; every redemption the client was
answered 2xx for is stored, once, under the id it was given; a retry of one that got no
answer stores it at most once; status lists and the audit chain hold.
"""

from __future__ import annotations

import os
import random
import threading
import uuid
from dataclasses import dataclass, field

import httpx
import pytest

from tests.faults.conftest import Running
from tests.faults.invariants import all_problems, stored_redemptions
from tests.faults.seed import Partner, approved_card, partner, ready_application

pytestmark = pytest.mark.slow

ROUNDS = int(os.environ.get("IDSVC_FAULT_ROUNDS", "3"))  # more for a soak run
APPLICATIONS = 4 * ROUNDS
SEED = int(os.environ.get("IDSVC_FAULT_SEED", "0")) or random.SystemRandom().randrange(2**32)


@dataclass
class Ledger:
    """What the clients were told, and what they sent without hearing back."""

    pending: list[str]
    approved: set[str] = field(default_factory=set)
    approvals_unanswered: list[str] = field(default_factory=list)
    redeemed: dict[str, int] = field(default_factory=dict)  # idempotency key -> id
    redemptions_unanswered: list[tuple[str, str]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)  # answers that should not happen
    retried: int = 0  # requests cut off by a kill, sent again
    lock: threading.Lock = field(default_factory=threading.Lock)


def _approver(running: Running, ledger: Ledger, stop: threading.Event) -> None:
    with running.client() as client:
        while not stop.is_set() and ledger.pending:
            app_id = ledger.pending.pop(0)
            try:
                r = client.post(f"/api/v1/applications/{app_id}/approve",
                                headers=running.clerk)
            except httpx.TransportError:
                ledger.approvals_unanswered.append(app_id)
                return
            if r.status_code != 201:
                ledger.refusals.append(r.text)
                return
            ledger.approved.add(app_id)


def _redeemer(running: Running, museum: Partner, numbers: list[str], ledger: Ledger,
              stop: threading.Event, rng: random.Random) -> None:
    with running.client() as client:
        while not stop.is_set():
            key, number = uuid.uuid4().hex, rng.choice(numbers)
            try:
                r = museum.redeem(client, number, key)
            except httpx.TransportError:
                with ledger.lock:
                    ledger.redemptions_unanswered.append((key, number))
                return
            with ledger.lock:
                if r.status_code != 201:
                    ledger.refusals.append(r.text)
                    return
                ledger.redeemed[key] = r.json()["id"]


def _retry(running: Running, museum: Partner, ledger: Ledger) -> None:
    """What a client does after a dropped connection: send the same request again."""
    with running.client() as client:
        for app_id in ledger.approvals_unanswered:
            r = client.post(f"/api/v1/applications/{app_id}/approve", headers=running.clerk)
            assert r.status_code == 201 or r.json()["error"] == "application_closed", r.text
            ledger.approved.add(app_id)
        for key, number in ledger.redemptions_unanswered:
            r = museum.redeem(client, number, key)
            assert r.status_code == 201, r.text
            ledger.redeemed[key] = r.json()["id"]
    ledger.retried += len(ledger.approvals_unanswered) + len(ledger.redemptions_unanswered)
    ledger.approvals_unanswered.clear()
    ledger.redemptions_unanswered.clear()


def test_random_sigkills_leave_no_half_issued_card_and_lose_no_redemption(running):
    rng = random.Random(SEED)
    print(f"IDSVC_FAULT_SEED={SEED}")
    with running.client() as client:
        numbers = [approved_card(client, running.clerk, n) for n in range(3)]
        museum = partner(client, running.admin)
        ledger = Ledger([ready_application(client, running.clerk, n)
                         for n in range(10, 10 + APPLICATIONS)])
    for _ in range(ROUNDS):
        stop = threading.Event()
        workers = [threading.Thread(target=_approver, args=(running, ledger, stop))]
        workers += [threading.Thread(target=_redeemer, args=(
            running, museum, numbers, ledger, stop, random.Random(rng.random())))
            for _ in range(2)]
        for worker in workers:
            worker.start()
        stop.wait(rng.uniform(0.05, 1.5))
        running.server.kill()
        stop.set()
        for worker in workers:
            worker.join(timeout=60)
        assert ledger.refusals == []
        assert all_problems(running.deployment.database_url) == []
        running.server.start()
        _retry(running, museum, ledger)
    print(f"{len(ledger.approved)} approved, {len(ledger.redeemed)} redeemed, "
          f"{ledger.retried} cut off by a kill and sent again")
    assert stored_redemptions(running.deployment.database_url) == ledger.redeemed
    with running.client() as client:
        for app_id in ledger.approved:
            view = client.get(f"/api/v1/applications/{app_id}", headers=running.clerk).json()
            assert view["status"] == "approved" and view["card_number"], view
    running.assert_consistent()
