"""What a running app holds for its requests: settings, master key, policy.

Loaded once in create_app() and handed to handlers as typed dependencies,
so tests can build an app with their own settings and keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from idsvc.changes.follower import Follower
from idsvc.config import Settings
from idsvc.crypto.envelope import MasterKey
from idsvc.crypto.keyring import KeyMirror
from idsvc.enrollment.policy import Policy
from idsvc.partners.mirror import PartnerKeyMirror
from idsvc.status.mirror import StatusMirror
from idsvc.status.publisher import StatusPublisher
from idsvc.verification.events import EventSink
from idsvc.verification.ratelimit import RateLimiter


@dataclass(frozen=True)
class Mirrors:
    """In-memory copies that let verification read no database row."""

    statuses: StatusMirror
    keys: KeyMirror
    partners: PartnerKeyMirror
    follower: Follower
    publisher: StatusPublisher

    @classmethod
    def empty(cls, *, poll_seconds: float = 0.0) -> Mirrors:
        statuses, keys, partners = StatusMirror(), KeyMirror(), PartnerKeyMirror()
        return cls(statuses, keys, partners,
                   Follower([statuses, keys, partners], poll_seconds=poll_seconds),
                   StatusPublisher(statuses))


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    master_key: MasterKey
    policy: Policy
    mirrors: Mirrors
    events: EventSink
    limiter: RateLimiter
    read_sessions: sessionmaker[Session]  # the primary: the change feed, reads that decide
    replica_sessions: Callable[[], Session]  # display-only lookups (idsvc.changes.replica)


def runtime_of(request: Request) -> Runtime:
    return request.app.state.runtime


async def get_runtime(request: Request) -> Runtime:
    return runtime_of(request)


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
