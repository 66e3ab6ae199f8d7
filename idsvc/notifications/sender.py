"""A background thread in each app process that drains the outbox every few seconds."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from idsvc.crypto.envelope import MasterKey
from idsvc.notifications.outbox import drain
from idsvc.notifications.smtp import Mailer

log = logging.getLogger("idsvc.notifications")


class OutboxSender:
    """Started with the app when an SMTP host is set; several workers may run one each
    (the outbox's claims keep each message to one sender)."""

    def __init__(self, sessions: sessionmaker[Session], keys: MasterKey, mailer: Mailer | None,
                 *, poll_seconds: float) -> None:
        self.sessions, self.keys, self.mailer = sessions, keys, mailer
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.mailer is None or self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="idsvc-outbox", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        assert self.mailer is not None
        while not self._stop.is_set():
            try:
                drain(self.sessions, self.keys, self.mailer)
            except SQLAlchemyError as exc:  # the database is away: try again next round
                log.warning("outbox not drained: %s", type(exc).__name__)
            self._stop.wait(self.poll_seconds)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
