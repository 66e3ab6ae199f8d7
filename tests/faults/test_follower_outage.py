"""The change-feed follower through a database outage: a failed read is tried again on
the next request, so a worker's own last write is not hidden by a long poll interval."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from idsvc import migrations
from idsvc.changes.follower import Follower
from idsvc.db import make_engine, make_sessionmaker
from idsvc.status.mirror import StatusMirror


def test_a_failed_read_of_the_feed_is_tried_again_at_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'idsvc.db'}"
    migrations.upgrade(url)
    follower = Follower([StatusMirror()], poll_seconds=3600)
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        follower.catch_up(session)
    assert not follower.due()
    follower.mark_stale()  # this worker committed a change of its own
    (tmp_path / "idsvc.db").rename(tmp_path / "gone.db")
    (tmp_path / "idsvc.db").mkdir()  # the database cannot be opened: as if it were down
    engine.dispose()
    with make_sessionmaker(engine)() as session, pytest.raises(OperationalError):
        follower.catch_up(session)
    assert follower.due()
    engine.dispose()
