"""Settings, read once from `IDSVC_*` environment variables or a `.env` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from idsvc.web.i18n import LANGUAGES


class Settings(BaseSettings):
    """Everything a deployment may change; defaults run a local demo on SQLite."""

    model_config = SettingsConfigDict(env_prefix="IDSVC_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./var/idsvc.db"
    keys_dir: Path = Path("./keys")
    data_key: str | None = Field(
        default=None,
        description="Base64 data-encryption master key; when unset it is read from keys_dir.",
    )
    issuer: str = "http://127.0.0.1:8000"
    city_name: str = "City of Riverton"
    return_address: str = "Riverton ID Office\n100 Main Street\nRiverton, RV 10001"
    policy_file: Path | None = None
    card_language: str = Field(
        default="en", description="The language of printed card captions (a page language); "
                                  "the holder's own language is added for 'if found'.")
    session_hours: float = Field(default=8.0, gt=0, description="Staff token lifetime.")
    page_idle_minutes: float = Field(
        default=30, gt=0, description="Page sessions (cookies) end after this long unused.")
    cookie_secure: bool = True
    photo_max_bytes: int = 10 * 1024 * 1024
    qr_max_version: int = Field(default=20, ge=1, le=40)
    status_list_size: int = Field(default=131_072, ge=131_072)
    verification_events: Literal["batched", "inline"] = Field(
        default="batched", description="batched: written off the request path.")
    verification_retention_days: int = Field(default=30, ge=1)
    change_poll_seconds: float = Field(
        default=0.25, ge=0, description="How stale another worker's revocation may be "
                                        "(0: check on every verification).")
    status_ttl_seconds: int = Field(default=300, ge=10,
                                    description="How long verifiers may cache a status list.")
    offline_status_max_age_hours: float = Field(
        default=48, gt=0, description="Offline: older status lists give 'status_unknown'.")
    login_failures_per_address_per_hour: int = Field(
        default=50, ge=0, description="Failed logins (all accounts together) one client "
                                      "address may make per hour before 429; 0: no limit.")
    partner_requests_per_address_per_minute: int = Field(
        default=3000, ge=0, description="Verification and redemption requests per client "
                                        "address per minute before 429; 0: no limit.")
    timezone: str = Field(default="America/New_York",
                          description="The city's time zone: ages and expiry dates use it.")

    @field_validator("card_language")
    @classmethod
    def _page_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"card_language must be one of {', '.join(LANGUAGES)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


@lru_cache
def get_settings() -> Settings:
    return Settings()
