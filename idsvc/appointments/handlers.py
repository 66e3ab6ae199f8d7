"""What the appointment routes and pages share: the request's rule context, and a
transaction committed before the handler returns (see `api`'s docstring for why)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from fastapi import Request
from sqlmodel import Session

from idsvc.appointments.context import PUBLIC, Context
from idsvc.audit.service import Actor
from idsvc.clock import utcnow
from idsvc.runtime import runtime_of


def context_of(request: Request, actor: Actor = PUBLIC) -> Context:
    runtime = runtime_of(request)
    return Context(keys=runtime.master_key, settings=runtime.settings, actor=actor,
                   now=utcnow())


@contextmanager
def writing(request: Request) -> Iterator[Session]:
    """One transaction of its own, committed before the handler returns."""
    with request.app.state.sessionmaker.begin() as session:
        yield session
