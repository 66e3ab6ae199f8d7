"""Staff roles and what each may do: the one table to read when asking 'who can'."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    CLERK = "clerk"
    AUDITOR = "auditor"


class Permission(StrEnum):
    ENROLL = "enroll"                          # create applications, record documents, photos
    APPROVE = "approve"                        # approve or reject applications, issue cards
    OVERRIDE_DUPLICATE = "override_duplicate"  # approve despite a duplicate warning
    READ_CARDS = "read_cards"                  # staff view and print of a card
    MANAGE_STAFF = "manage_staff"
    MANAGE_CENTRES = "manage_centres"
    MANAGE_KEYS = "manage_keys"
    MANAGE_PARTNERS = "manage_partners"
    MANAGE_CARDS = "manage_cards"              # revoke, suspend, reinstate, replace, renew
    READ_AUDIT = "read_audit"
    READ_REPORTS = "read_reports"              # aggregate counts, never a person


_CLERK = {Permission.ENROLL, Permission.APPROVE, Permission.READ_CARDS, Permission.MANAGE_CARDS}
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CLERK: frozenset(_CLERK),
    Role.SUPERVISOR: frozenset(_CLERK | {Permission.OVERRIDE_DUPLICATE}),
    Role.ADMIN: frozenset(Permission),
    Role.AUDITOR: frozenset({Permission.READ_AUDIT, Permission.READ_REPORTS}),
}


def can(role: str, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS.get(Role(role), frozenset())
