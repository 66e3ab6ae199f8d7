"""The shred ledger: which residents were shredded, and on which day.

It outlives the records it names so that a restored backup, taken before a shred,
can be shredded again (`idsvc.retention.ledger.reapply_ledger`). It holds the opaque
resident id and a date only: nothing that says who the person was.
"""

from __future__ import annotations

from datetime import date

from sqlmodel import Field, SQLModel


class ShredRecord(SQLModel, table=True):
    __tablename__ = "shred_ledger"

    resident_id: str = Field(primary_key=True, max_length=32)
    shredded_on: date = Field(index=True)
