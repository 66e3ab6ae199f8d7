"""The change-feed follower: its polling thread, and requests that arrive together."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

from idsvc import migrations
from idsvc.changes.follower import Follower
from idsvc.changes.service import Topic, publish
from idsvc.db import make_engine, make_sessionmaker, read_only
from idsvc.status.mirror import StatusMirror


def _feed(url: str):
    """The engine and the read-only sessions the app follows the feed with."""
    migrations.upgrade(url)
    engine = make_engine(url)
    return engine, make_sessionmaker(read_only(engine))


def _publish(engine, ref: str, value: int) -> None:
    """What another worker's commit leaves in the feed."""
    with make_sessionmaker(engine)() as session:
        publish(session, topic=Topic.STATUS, ref=ref, value=value)
        session.commit()


@contextmanager
def _polling(url: str, poll_seconds: float):
    """A follower reading the feed from its thread, once it has loaded the mirrors."""
    engine, sessions = _feed(url)
    statuses = StatusMirror()
    follower = Follower([statuses], poll_seconds=poll_seconds)
    follower.start_polling(sessions)
    try:
        deadline = time.monotonic() + 10
        while follower.due() and time.monotonic() < deadline:  # the first read, at start
            time.sleep(0.01)
        assert not follower.due()
        yield follower, statuses, sessions, engine
    finally:
        follower.stop_polling()
        engine.dispose()


def test_the_polling_thread_brings_other_workers_changes_without_requests_waiting(scratch_url):
    with _polling(scratch_url, 0.2) as (follower, statuses, _, engine):
        _publish(engine, "7:new", 16)
        _publish(engine, "7:3", 1)  # revoked by another worker
        waited_for = []
        deadline = time.monotonic() + 10
        while statuses.status(7, 3) != 1 and time.monotonic() < deadline:
            waited_for.append(follower.due())
            time.sleep(0.01)
        assert statuses.status(7, 3) == 1
        assert not any(waited_for)  # no request would have had to read the feed itself


def test_without_the_thread_a_request_reads_the_feed_once_its_interval_passed(scratch_url):
    engine, sessions = _feed(scratch_url)
    statuses = StatusMirror()
    follower = Follower([statuses], poll_seconds=0.05)
    follower.catch_up_if_due(sessions)
    _publish(engine, "2:new", 8)
    assert not follower.due() and statuses.status(2, 0) is None
    time.sleep(0.06)
    assert follower.due()
    follower.catch_up_if_due(sessions)
    assert statuses.status(2, 0) == 0
    engine.dispose()


def test_a_worker_s_own_write_is_read_at_once_even_while_the_thread_polls(scratch_url):
    with _polling(scratch_url, 3600) as (follower, statuses, sessions, engine):
        _publish(engine, "4:new", 8)
        follower.mark_stale()  # the commit hook of this worker's own sessions
        assert follower.due()
        follower.catch_up_if_due(sessions)
        assert statuses.status(4, 0) == 0 and not follower.due()


def test_requests_arriving_together_read_the_feed_once(tmp_path):
    engine, sessions = _feed(f"sqlite:///{tmp_path / 'idsvc.db'}")
    opened = []

    def counting_sessions():
        opened.append(1)
        return sessions()

    follower = Follower([StatusMirror()], poll_seconds=3600)
    start = threading.Barrier(8)

    def request() -> None:
        start.wait()
        follower.catch_up_if_due(counting_sessions)

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(opened) == 1 and not follower.due()
    engine.dispose()


def test_requests_read_the_feed_themselves_when_the_thread_falls_behind(tmp_path):
    engine, sessions = _feed(f"sqlite:///{tmp_path / 'idsvc.db'}")
    follower = Follower([StatusMirror()], poll_seconds=0.5)
    follower.catch_up_if_due(sessions)
    stuck, release = threading.Event(), threading.Event()

    def hanging_sessions():  # a database that stopped answering
        stuck.set()
        release.wait(10)
        return sessions()

    follower.start_polling(hanging_sessions)
    try:
        assert stuck.wait(5)
        assert not follower.due()  # read a moment ago
        time.sleep(0.6)  # past the bound, and the thread is stuck
        assert follower.due()
    finally:
        release.set()
        follower.stop_polling()
        engine.dispose()
