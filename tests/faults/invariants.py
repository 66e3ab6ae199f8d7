"""What must hold in the database however a server died: read straight from the tables.

Each check returns the problems it found (empty when all is well), so a failing test
says every broken rule at once. The audit chain is checked by `idsvc audit verify`.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Connection, text

from idsvc.db import make_engine, read_only
from idsvc.status.service import Status

# The status-list entry each card state must have.
STATUS_OF_STATE = {"active": Status.VALID, "suspended": Status.SUSPENDED,
                   "revoked": Status.INVALID}


def _rows(conn: Connection, sql: str) -> list[tuple]:
    return [tuple(row) for row in conn.execute(text(sql))]


def _audit_subjects(conn: Connection, action: str) -> Counter[str]:
    return Counter(row[0] for row in conn.execute(
        text("SELECT subject_id FROM audit_events WHERE action = :a"), {"a": action}))


def card_problems(conn: Connection) -> list[str]:
    """Every approved application has exactly one complete card; no card without one."""
    problems = []
    approved = {row[0] for row in _rows(conn, "SELECT id FROM applications "
                                              "WHERE status = 'approved'")}
    issued = Counter(row[0] for row in _rows(conn, "SELECT application_id FROM cards "
                                                   "WHERE application_id IS NOT NULL"))
    problems += [f"approved application {a} has {issued[a]} cards"
                 for a in approved if issued[a] != 1]
    problems += [f"card of application {a}, which is not approved"
                 for a in issued if a not in approved]
    first_versions = _rows(conn, "SELECT number, application_id FROM cards WHERE version = 1")
    problems += [f"card {number} began without an application"
                 for number, application in first_versions if application is None]
    approvals = _audit_subjects(conn, "application.approve")
    problems += [f"application {a} approved with {approvals[a]} audit events"
                 for a in approved if approvals[a] != 1]
    issues = _audit_subjects(conn, "card.issue")
    cards = _rows(conn, "SELECT id, number, version, state, length(credential) FROM cards")
    for card_id, number, version, _state, size in cards:
        if not size:
            problems.append(f"card {number} v{version} has no credential")
        if issues[card_id] != 1:
            problems.append(f"card {number} v{version} has {issues[card_id]} issue events")
    problems += [f"issue event for card {c}, which does not exist"
                 for c in set(issues) - {card[0] for card in cards}]
    in_use = Counter(row[0] for row in _rows(conn, "SELECT number FROM cards "
                                                   "WHERE state <> 'revoked'"))
    problems += [f"card {n} has {k} versions in use" for n, k in in_use.items() if k > 1]
    return problems


def status_problems(conn: Connection) -> list[str]:
    """Each card has its own status entry that says what its state says, and each list
    counts exactly the entries it gave out: no slot half-allocated by a dead request."""
    problems = []
    entries = {(lst, idx): status for lst, idx, status in
               _rows(conn, "SELECT list_id, idx, status FROM status_entries")}
    owners = Counter((lst, idx) for lst, idx in
                     _rows(conn, "SELECT status_list_id, status_idx FROM cards"))
    for number, version, state, lst, idx in _rows(
            conn, "SELECT number, version, state, status_list_id, status_idx FROM cards"):
        status = entries.get((lst, idx))
        if status != STATUS_OF_STATE[state]:
            problems.append(f"card {number} v{version} is {state}, its status entry {status}")
    problems += [f"status slot {slot} belongs to no card" for slot in entries
                 if owners[slot] == 0]
    problems += [f"status slot {slot} shared by {k} cards" for slot, k in owners.items()
                 if k > 1]
    for list_id, allocated in _rows(conn, "SELECT id, allocated FROM status_lists"):
        used = sum(1 for lst, _ in entries if lst == list_id)
        if allocated != used:
            problems.append(f"status list {list_id} counts {allocated}, has {used} entries")
    return problems


def redemption_problems(conn: Connection) -> list[str]:
    """Each benefit's counter matches its live redemptions; no idempotency key twice."""
    problems = []
    live = Counter(row[0] for row in _rows(conn, "SELECT benefit_id FROM redemptions "
                                                 "WHERE voided_at IS NULL"))
    for benefit_id, count in _rows(conn, "SELECT id, redeemed_count FROM benefits"):
        if count != live[benefit_id]:
            problems.append(f"benefit {benefit_id} counts {count}, has {live[benefit_id]}")
    keys = Counter(_rows(conn, "SELECT partner_id, idempotency_key FROM redemptions"))
    problems += [f"idempotency key {key} stored {k} times" for key, k in keys.items() if k > 1]
    return problems


def all_problems(database_url: str) -> list[str]:
    engine = make_engine(database_url)
    try:
        with read_only(engine).connect() as conn:  # takes no write lock on SQLite
            return card_problems(conn) + status_problems(conn) + redemption_problems(conn)
    finally:
        engine.dispose()


def stored_redemptions(database_url: str) -> dict[str, int]:
    """Idempotency key -> redemption id, of every redemption stored."""
    engine = make_engine(database_url)
    try:
        with read_only(engine).connect() as conn:
            return {key: rid for rid, key in
                    _rows(conn, "SELECT id, idempotency_key FROM redemptions")}
    finally:
        engine.dispose()
