"""Status-list slots for cards signed before they are stored (idsvc.status.service.
SlotReserver, used by imports): the slots `allocate_slot` gives, never one twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from idsvc import migrations
from idsvc.db import make_engine, make_sessionmaker
from idsvc.status.models import StatusEntry, StatusList
from idsvc.status.service import FILL_LIMIT, Slot, SlotReserver, allocate_slot, settle

SIZE = 16  # a tiny list fills after 12 cards, so a batch spans several lists


@pytest.fixture
def session(scratch_url: str) -> Iterator[Session]:
    migrations.upgrade(scratch_url)
    engine = make_engine(scratch_url)
    with make_sessionmaker(engine)() as session:
        yield session
    engine.dispose()


def _entries(session: Session) -> dict[int, int]:
    statement = select(StatusEntry.list_id, func.count()).group_by(StatusEntry.list_id)
    return dict(session.exec(statement).all())  # type: ignore[arg-type]


def _allocated(session: Session) -> dict[int, int]:
    return {row.id: row.allocated for row in session.exec(select(StatusList))
            if row.id is not None}


def _store(session: Session, slots: list[Slot]) -> None:
    session.add_all(StatusEntry(list_id=s.list_id, idx=s.idx, status=0) for s in slots)
    settle(session, {s.list_id for s in slots})
    session.commit()


def test_reserved_slots_fill_lists_to_the_limit_and_are_counted_once_stored(
        session: Session) -> None:
    reserver = SlotReserver(size=SIZE)
    slots = reserver.reserve(session, 30)
    session.commit()
    assert len(set(slots)) == 30 and all(0 <= slot.idx < SIZE for slot in slots)
    assert sorted(Counter(slot.list_id for slot in slots).values()) == [6, 12, 12]
    _store(session, slots)
    reserver.forget(slots)
    assert _allocated(session) == _entries(session)
    assert max(_allocated(session).values()) <= SIZE * FILL_LIMIT
    # One at a time afterwards carries on where the batch left off.
    single = allocate_slot(session, size=SIZE)
    assert single not in slots and single.list_id == slots[-1].list_id
    session.commit()
    assert _allocated(session) == _entries(session)


def test_slots_still_being_signed_are_never_handed_out_again(session: Session) -> None:
    reserver = SlotReserver(size=SIZE)
    first = reserver.reserve(session, 8)
    second = reserver.reserve(session, 8)  # the next batch, drawn before the first is stored
    session.commit()
    assert not set(first) & set(second)
    assert len({slot.list_id for slot in first + second}) == 2  # 12 fit in the first list
    _store(session, first + second)
    assert sum(_entries(session).values()) == 16
