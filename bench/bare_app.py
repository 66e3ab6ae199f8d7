"""The baseline: a bare FastAPI JSON endpoint with the same request and response shapes."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

app = FastAPI()


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    qr: str | None = None
    card_number: str | None = None


@app.post("/api/v1/verify")
async def verify(body: Body) -> dict[str, object]:
    return {"result": "valid", "checked_at": datetime.now(UTC).isoformat(), "card": None}
