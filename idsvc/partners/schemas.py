"""API shapes of partners and their keys."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from idsvc.partners.scopes import Field as ScopeField
from idsvc.partners.scopes import PartnerKind
from idsvc.text import Text


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartnerCreate(_Strict):
    name: Text = Field(min_length=1, max_length=200)
    kind: PartnerKind


class PartnerUpdate(_Strict):
    scope: list[ScopeField] | None = Field(
        default=None, description="Narrow what this partner sees; null restores the default.")
    active: bool | None = None
    rate_limit_per_minute: int | None = Field(default=None, ge=1, le=100_000)


class PartnerPublic(BaseModel):
    id: int
    name: str
    kind: PartnerKind
    scope: list[ScopeField]
    scope_narrowed: bool
    rate_limit_per_minute: int
    active: bool
    created_at: datetime


class KeyCreate(_Strict):
    label: Text = Field(default="", max_length=100)


class KeyPublic(BaseModel):
    id: int
    prefix: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


class NewKey(KeyPublic):
    api_key: str = Field(description="Shown once: store it now, it cannot be read again.")


class PartnerUserCreate(_Strict):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=1, max_length=256)


class PartnerUserPassword(_Strict):
    password: str = Field(min_length=1, max_length=256)


class PartnerUserPublic(BaseModel):
    """A desk login as administrators see it: never its password or hash."""

    id: int
    partner_id: int
    username: str
    active: bool
    created_at: datetime
