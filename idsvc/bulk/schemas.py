"""API shapes of print batches; input models refuse unknown fields."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from idsvc.bulk.printing import DEFAULT_CARDS, MAX_CARDS, Selection


class PrintBatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    centre: str | None = Field(default=None, max_length=32,
                               description="Service centre code; every centre when left out "
                                           "(clerks: their own centre).")
    status: Selection = Field(default=Selection.NOT_YET_PRINTED,
                              description="approved: every card in use; not-yet-printed: "
                                          "those in no batch yet.")
    limit: int = Field(default=DEFAULT_CARDS, ge=1, le=MAX_CARDS)


class PrintBatchPublic(BaseModel):
    id: int
    centre: str | None
    status: Selection
    created_at: datetime
    card_count: int
    printed_at: datetime | None
    card_numbers: list[str]


class PrintBatchPosted(BaseModel):
    id: int
    posted: int = Field(description="Mailed cards whose activation clock started now.")
