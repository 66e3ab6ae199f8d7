"""Photo intake for the rows ahead, in other processes, while this one writes a batch.

Turning an upload into a card portrait (decode, turn upright, crop, resize, encode) is
the largest cost of an imported row and needs no database, so worker processes run the
enrollment's photo intake (`card_portrait`) on the next rows' photos. The importer then
passes the row's portrait through `card_portrait` again, so what it stores is checked in
its own process; a portrait made already is recognised and kept, so that second pass
costs a header walk and a 1/8-scale decode. A photo the intake refuses is refused with
the same code as through the API.
"""

from __future__ import annotations

import multiprocessing
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import replace
from multiprocessing.pool import AsyncResult
from pathlib import Path

from idsvc.bulk.columns import PHOTO, Rejection
from idsvc.bulk.source import SourceRow
from idsvc.enrollment.photo import PhotoLimits, card_portrait
from idsvc.errors import DomainError

AHEAD = 64  # rows whose portraits may wait, done, for the database: bounds the memory

_Outcome = tuple[bytes | None, tuple[str, str] | None]


def _portrait(path: str, max_bytes: int) -> _Outcome:
    """Runs in a worker process: the portrait, or the intake's refusal (code, message)."""
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None, ("photo_unreadable", "The photo file cannot be read.")
    try:
        return card_portrait(data, PhotoLimits(max_bytes=max_bytes)), None
    except DomainError as exc:
        return None, (exc.code, exc.message)


def _ready(row: SourceRow, pending: AsyncResult[_Outcome] | None) -> SourceRow:
    if pending is None:
        return row
    portrait, refusal = pending.get()
    if refusal is not None:
        return replace(row, problem=Rejection(row.line, PHOTO, *refusal))
    return replace(row, portrait=portrait)


def with_portraits(rows: Iterable[SourceRow], *, workers: int,
                   max_bytes: int) -> Iterator[SourceRow]:
    """`rows` in order, each with its portrait made by one of `workers` processes
    (0: none, the photo is read when its row is imported)."""
    if workers < 1:
        yield from rows
        return
    # spawn: a fresh interpreter, not a copy of this one's database connections
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        window: deque[tuple[SourceRow, AsyncResult[_Outcome] | None]] = deque()
        for row in rows:
            pending = (None if row.photo is None or row.problem is not None
                       else pool.apply_async(_portrait, (str(row.photo), max_bytes)))
            window.append((row, pending))
            if len(window) > AHEAD:
                yield _ready(*window.popleft())
        while window:
            yield _ready(*window.popleft())
