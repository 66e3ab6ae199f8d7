"""Status-list slots for a whole import batch (idsvc.status.service.SlotPool): the same
slots `allocate_slot` gives, one lock and a few queries per batch instead of per card."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from idsvc import migrations
from idsvc.db import make_engine, make_sessionmaker
from idsvc.status.models import StatusEntry, StatusList
from idsvc.status.service import FILL_LIMIT, Slot, SlotPool, allocate_slot

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


def test_a_batch_fills_lists_to_the_limit_and_counts_every_entry(session: Session) -> None:
    pool = SlotPool(session, size=SIZE)
    slots = []
    for _ in range(30):
        pool.prepare()
        slots.append(pool.take())
        session.flush()
    pool.settle()
    session.commit()
    assert len(set(slots)) == 30
    assert sorted(Counter(slot.list_id for slot in slots).values()) == [6, 12, 12]
    assert all(0 <= slot.idx < SIZE for slot in slots)
    assert _allocated(session) == _entries(session)
    assert max(_allocated(session).values()) <= SIZE * FILL_LIMIT
    # One at a time afterwards carries on where the batch left off.
    single = allocate_slot(session, size=SIZE)
    assert single not in slots and single.list_id == slots[-1].list_id
    session.commit()
    assert _allocated(session) == _entries(session)


def test_a_card_rolled_back_to_its_savepoint_leaves_its_slot_free(session: Session) -> None:
    pool = SlotPool(session, size=SIZE)
    kept: list[Slot] = []
    dropped: list[Slot] = []
    for i in range(8):
        pool.prepare()
        savepoint = session.begin_nested()
        slot = pool.take()
        session.flush()
        if i % 2:
            savepoint.rollback()
            dropped.append(slot)
        else:
            savepoint.commit()
            kept.append(slot)
    pool.settle()
    session.commit()
    assert _entries(session) == _allocated(session) == {kept[0].list_id: 4}
    stored = set(session.exec(select(StatusEntry.idx)))
    assert stored == {slot.idx for slot in kept}
    assert not stored & {slot.idx for slot in dropped}
