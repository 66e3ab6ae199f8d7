"""Settings, read once from `IDSVC_*` environment variables or a `.env` file."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from idsvc.crypto.strength import decode_data_key, weak_data_key, weak_secret, weak_url_password
from idsvc.web.i18n import LANGUAGES


class Settings(BaseSettings):
    """Everything a deployment may change; defaults run a local demo on SQLite."""

    model_config = SettingsConfigDict(env_prefix="IDSVC_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./var/idsvc.db"
    database_replica_url: str | None = Field(
        default=None, description="A PostgreSQL streaming replica for lookups that only "
                                  "display (see README, Deployment: replicas).")
    replica_max_lag_seconds: float = Field(
        default=2.0, gt=0, description="Older than this behind the primary (or down), the "
                                       "replica is skipped and the primary answers.")
    keys_dir: Path = Path("./keys")
    data_key: str | None = Field(
        default=None,
        description="Base64 data-encryption master key; when unset it is read from keys_dir.",
    )
    demo: bool = Field(
        default=False, description="Demo mode (`idsvc demo`, the test suite): allows the weak "
                                   "or default settings that start-up otherwise refuses.")
    key_passphrase: SecretStr | None = Field(
        default=None, description="Opens (and encrypts) the private key files in keys_dir.")
    key_passphrase_file: Path | None = Field(
        default=None, description="An owner-only file holding the key passphrase instead.")
    allow_unencrypted_keys: bool = Field(
        default=False, description="Start outside demo mode although private key files are "
                                   "not passphrase-encrypted (they are protected otherwise).")
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
    shred_after_expired_years: int = Field(
        default=2, ge=0, le=100, description="Shred a resident once every card expired more "
                                             "than this many years ago (0: never).")
    purge_applications_after_days: int = Field(
        default=90, ge=0, le=36_500, description="Purge rejected or abandoned applications "
                                                 "after this many days (0: never).")
    mailed_activation_days: int = Field(
        default=30, ge=1, le=365, description="A mailed card not activated this many days "
                                              "after posting is suspended (`idsvc purge`).")
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
    log_format: Literal["json", "text"] = Field(
        default="json", description="json: one object per line; text: for people (the demo).")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    access_log: bool = Field(default=True, description="A line per request: method, route "
                                                       "template, status, duration.")
    metrics_allow: str = Field(
        default="127.0.0.1/32,::1/128", description="Comma-separated networks that may read "
                                                    "/metrics without the token.")
    metrics_token: SecretStr | None = Field(
        default=None, description="`Authorization: Bearer` token that opens /metrics.")
    metrics_dir: Path | None = Field(
        default=None, description="Where each worker leaves its counts for /metrics to add "
                                  "up; `idsvc serve --workers N` makes one when unset.")
    appointment_release_weekday: int = Field(
        default=0, ge=0, le=6, description="The weekday slots are released (0 Monday); a "
                                           "centre's schedule may override it.")
    appointment_release_time: str = Field(
        default="09:00", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="City time of the weekly release, HH:MM.")
    appointment_release_weeks_ahead: int = Field(
        default=4, ge=0, le=52, description="Each release opens the week this many weeks "
                                            "ahead of the release's own week.")
    appointment_waitlist_days: int = Field(
        default=14, ge=0, le=365, description="A full slot puts the request on the waitlist "
                                              "from its day for this many more days.")
    appointment_purge_after_days: int = Field(
        default=2, ge=0, le=365, description="Appointment data is deleted this many days "
                                             "after the appointment (or the waitlist's end).")
    appointment_bookings_per_contact: int = Field(
        default=2, ge=1, le=20, description="Active bookings per email address or phone.")
    appointment_waitlist_per_contact: int = Field(
        default=1, ge=1, le=20, description="Waitlist places per email address or phone.")
    appointment_requests_per_address_per_hour: int = Field(
        default=30, ge=0, description="Public appointment requests (book, wait, look up, "
                                      "move, cancel) per client address per hour; 0: no limit.")
    smtp_host: str | None = Field(default=None, description="Unset: emails wait in the outbox.")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_sender: str = "Riverton ID <noreply@riverton.example>"
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    outbox_poll_seconds: float = Field(
        default=5, gt=0, description="How often each app process sends queued emails.")

    @field_validator("card_language")
    @classmethod
    def _page_language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"card_language must be one of {', '.join(LANGUAGES)}")
        return value

    @field_validator("metrics_allow")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            ipaddress.ip_network(part, strict=False)  # ValueError names the bad one
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("database_replica_url")
    @classmethod
    def _postgresql_replica(cls, value: str | None) -> str | None:
        # Freshness is measured with PostgreSQL's WAL positions: nothing else can be a replica.
        if not value:
            return None
        if not value.startswith("postgresql"):
            raise ValueError("database_replica_url must be a postgresql:// URL")
        return value


# Stricter than a login password: these open every record, and nobody types them daily.
SECRET_MIN_LENGTH = 16
DATABASE_PASSWORD_MIN_LENGTH = 12
_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def _env(field: str) -> str:
    return f"IDSVC_{field.upper()}"


def unsafe_settings(settings: Settings) -> list[str]:
    """Why these settings must not run, one line per setting (empty: they may).

    Outside demo mode default or weak secrets are refused, because a deployment that
    starts anyway keeps running on them; a malformed setting is refused in any mode.
    Secrets are checked by kind, so a new `*_url` or SecretStr setting is covered too.
    """
    problems = []
    if settings.data_key is not None:
        try:
            decode_data_key(settings.data_key)
        except ValueError as exc:
            problems.append(f"IDSVC_DATA_KEY {exc}: it must be 32 random bytes in base64.")
    if settings.key_passphrase is not None and settings.key_passphrase_file is not None:
        problems.append("IDSVC_KEY_PASSPHRASE and IDSVC_KEY_PASSPHRASE_FILE are both set: "
                        "set one.")
    if settings.demo:
        return problems
    if settings.data_key is not None and not problems:
        reason = weak_data_key(settings.data_key)
        if reason:
            problems.append(f"IDSVC_DATA_KEY is {reason}: generate one with "
                            "`idsvc keys generate` (keys/data.key) or 32 bytes of os.urandom.")
    for name, value in settings:
        if isinstance(value, SecretStr):
            reason = weak_secret(value.get_secret_value(), min_length=SECRET_MIN_LENGTH)
            if reason:
                problems.append(f"{_env(name)} is {reason}: use a long random passphrase.")
        elif name.endswith("_url") and isinstance(value, str):
            reason = weak_url_password(value, min_length=DATABASE_PASSWORD_MIN_LENGTH)
            if reason:
                problems.append(f"{_env(name)} has a password that is {reason}: "
                                "set a long random one.")
    if not settings.cookie_secure:
        problems.append("IDSVC_COOKIE_SECURE is false: page cookies would also travel over "
                        "plain HTTP; serve behind TLS and keep it true.")
    issuer = urlsplit(settings.issuer)
    if issuer.scheme != "https" and issuer.hostname not in _LOOPBACK:
        problems.append("IDSVC_ISSUER is not an https:// address: cards would name an issuer "
                        "anyone on the network path can impersonate.")
    return problems


@lru_cache
def get_settings() -> Settings:
    return Settings()
