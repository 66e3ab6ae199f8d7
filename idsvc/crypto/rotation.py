"""Rotating the data-encryption master key: a new wrapping key, every data key re-wrapped.

The steps, each safe to interrupt and simply run again:

1. `begin` writes `data-next.key`: a new wrapping key with the same index keys
   (idsvc/crypto/envelope.py says why those stay). From then on every process wraps new
   data keys with it and opens data keys wrapped by either key.
2. `complete` re-wraps, in batches of one transaction each, the data keys still wrapped
   by the old key: residents', appointments' and queued emails' (`HOLDERS`); a row names
   its wrapping key (a key-id prefix), so a resumed run picks up exactly the rows left.
3. When a pass finds no row left, `complete` renames `data-next.key` over `data.key`: the
   old key is gone at that moment, and not before.

Records themselves are never re-encrypted: each stays sealed under its own data key,
which does not change. Shredded residents and wiped appointments (an empty wrapped key)
have nothing to re-wrap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, func, update
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, col, select

from idsvc.appointments.models import Appointment
from idsvc.appointments.personal import owner_for_code_hash
from idsvc.audit.service import Actor, record
from idsvc.crypto.envelope import (
    DATA_KEY_FILE,
    KEY_ID_BYTES,
    NEXT_DATA_KEY_FILE,
    WRAPPED_WITH_ID,
    DecryptionFailed,
    MasterKey,
    key_file_content,
    read_key_file,
)
from idsvc.crypto.keyfiles import KeyFileError, move_secret, replace_secret
from idsvc.notifications.models import OutboxMessage
from idsvc.notifications.outbox import OWNER as OUTBOX_OWNER
from idsvc.residents.models import Resident

DEFAULT_BATCH = 500
_PASSES = 3


def begin(keys_dir: Path) -> MasterKey:
    """Both keys of the rotation, writing the new one first unless a rotation is under way."""
    following = keys_dir / NEXT_DATA_KEY_FILE
    if not following.exists():
        current = read_key_file(keys_dir / DATA_KEY_FILE)
        replace_secret(following, key_file_content(current.successor(), keys_dir))
    return MasterKey.from_files(keys_dir)


@dataclass(frozen=True)
class Holder:
    """A table whose rows carry a data key wrapped by the master key, and the owner each
    wrapped key is bound to (the `owner` of `MasterKey.unwrap`)."""

    table: Any
    owner_column: Any
    owner: Callable[[Any], str]

    @property
    def name(self) -> str:
        return str(self.table.__tablename__)


HOLDERS = (
    Holder(Resident, Resident.id, str),
    Holder(Appointment, Appointment.code_hash, owner_for_code_hash),
    Holder(OutboxMessage, OutboxMessage.id, lambda _: OUTBOX_OWNER),
)


def _stale(holder: Holder, keys: MasterKey) -> ColumnElement[bool]:
    """Rows whose data key is not wrapped by the new key (shredded or wiped rows excluded)."""
    prefix = WRAPPED_WITH_ID + keys.key_id
    wrapped = col(holder.table.wrapped_key)
    return (func.length(wrapped) > 0) & (func.substr(wrapped, 1, 1 + KEY_ID_BYTES) != prefix)


def remaining(session: Session, keys: MasterKey) -> int:
    return sum(session.exec(select(func.count()).select_from(holder.table)
                            .where(_stale(holder, keys))).one() for holder in HOLDERS)


def rewrap_batch(session: Session, keys: MasterKey, holder: Holder, *, after: Any,
                 size: int) -> list[Any]:
    """Re-wrap up to `size` stale rows of `holder` with ids after `after` (None: from the
    first); their ids, in order."""
    row_id = col(holder.table.id)
    statement = select(row_id, holder.table.wrapped_key, holder.owner_column).where(
        _stale(holder, keys))
    if after is not None:
        statement = statement.where(row_id > after)
    rows = session.exec(statement.order_by(row_id).limit(size).with_for_update()).all()
    for key, wrapped, owner in rows:
        try:
            rewrapped = keys.rewrap(wrapped, owner=holder.owner(owner))
        except DecryptionFailed as exc:
            raise KeyFileError(f"A data key in {holder.name} (row {key}) opens with neither "
                               "master key; this batch was rolled back.") from exc
        session.execute(update(holder.table).where(row_id == key)
                        .values(wrapped_key=rewrapped))
    return [key for key, _, _ in rows]


def rewrap_all(sessions: sessionmaker[Session], keys: MasterKey, *, size: int = DEFAULT_BATCH,
               done: Callable[[int], None] = lambda rows: None) -> int:
    """Every stale row, one committed transaction per batch; `done` hears each batch's size."""
    total = 0
    for holder in HOLDERS:
        after = None
        while True:
            with sessions.begin() as session:
                ids = rewrap_batch(session, keys, holder, after=after, size=size)
            if not ids:
                break
            total += len(ids)
            done(len(ids))
            after = ids[-1]
    return total


def complete(sessions: sessionmaker[Session], keys: MasterKey, *, keys_dir: Path,
             actor: Actor, size: int = DEFAULT_BATCH,
             done: Callable[[int], None] = lambda rows: None) -> int:
    """Re-wrap every stale row, then retire the old key; the number of rows re-wrapped.

    A worker that has not yet noticed the rotation may add a row under the old key while
    a pass runs: the next pass takes it. The old key goes only after a pass finds no row.
    """
    total = 0
    for _ in range(_PASSES):
        total += rewrap_all(sessions, keys, size=size, done=done)
        with sessions.begin() as session:
            if remaining(session, keys):
                continue
            record(session, actor=actor, action="data_key.rotate", subject_type="data_key",
                   subject_id=keys.key_id.hex(), details={"rewrapped": total})
            move_secret(keys_dir / NEXT_DATA_KEY_FILE, keys_dir / DATA_KEY_FILE)
        return total
    raise KeyFileError("Data keys are still being wrapped by the old master key: a worker "
                       "keeps using it; restart the service and run the rotation again.")
