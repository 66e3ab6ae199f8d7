"""Offline verification: no database, only a JWKS and signed status lists.

A partner's device syncs a bundle (JWKS + status lists + time) once a day
and checks cards with no connection. The rules are the online ones
(idsvc.verification.checker); the one difference is honest: with no status
list, or one older than the allowed age, the verdict is `status_unknown`,
never `valid`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from idsvc.crypto import es256
from idsvc.crypto.keyring import KeyState, TrustedKey
from idsvc.status.token import StatusListError, StatusListToken, parse_token
from idsvc.verification.checker import Check, StatusLookup, check_credential

BUNDLE_FORMAT = "idsvc-offline-bundle/1"


class TrustError(ValueError):
    """A JWKS or bundle that cannot be used at all."""


def keys_from_jwks(jwks: Mapping[str, Any]) -> dict[str, TrustedKey]:
    """The usable ES256 keys of a JWKS, with their published state."""
    entries = jwks.get("keys")
    if not isinstance(entries, list):
        raise TrustError("The JWKS has no `keys` list.")
    keys = {}
    for entry in entries:
        if not isinstance(entry, Mapping) or entry.get("alg", "ES256") != "ES256":
            continue
        try:
            public_key = es256.public_key_from_jwk(dict(entry))
        except (KeyError, ValueError):
            continue
        kid = str(entry.get("kid") or es256.jwk_thumbprint(dict(entry)))
        keys[kid] = TrustedKey(kid, public_key, str(entry.get("state", KeyState.ACTIVE)))
    if not keys:
        raise TrustError("The JWKS holds no usable ES256 key.")
    return keys


@dataclass(frozen=True)
class OfflineTrust:
    issuer: str
    keys: Mapping[str, TrustedKey]
    lists: Mapping[str, StatusListToken]
    max_age: timedelta

    def get(self, kid: str) -> TrustedKey | None:
        return self.keys.get(kid)

    def status_of(self, now: datetime) -> StatusLookup:
        # Epoch seconds once per check, not datetime arithmetic per lookup: this is on the hot path.
        moment, max_age, lists = now.timestamp(), self.max_age.total_seconds(), self.lists

        def lookup(uri: str, idx: int) -> int | None:
            token = lists.get(uri)
            if token is None or moment - token.issued_at > max_age:
                return None
            if token.expires_at is not None and token.expires_at <= moment:
                return None
            try:
                return token.status(idx)
            except StatusListError:
                return None
        return lookup


def status_lists(tokens: list[str], keys: Mapping[str, TrustedKey]) -> dict[str, StatusListToken]:
    """Parse and check signed status lists. A list that fails its check (a compromised or
    unknown key, a bad signature, a damaged token) is left out, so its cards are
    `status_unknown`; the bundle's other lists still count."""
    trusted = {kid: k.public_key for kid, k in keys.items() if k.state != KeyState.COMPROMISED}
    parsed = {}
    for text in tokens:
        try:
            token = parse_token(text.strip(), public_keys=trusted)
        except StatusListError:
            continue
        parsed[token.uri] = token
    return parsed


def verify_offline(text: str, trust: OfflineTrust, *, now: datetime) -> Check:
    return check_credential(text, keys=trust, issuer=trust.issuer,
                            status_of=trust.status_of(now), now=now)


def make_bundle(*, issuer: str, jwks: Mapping[str, Any], status_tokens: Mapping[str, str],
                generated_at: datetime) -> dict[str, Any]:
    return {"format": BUNDLE_FORMAT, "issuer": issuer,
            "generated_at": generated_at.isoformat(), "jwks": dict(jwks),
            "status_lists": dict(status_tokens)}


def trust_from_bundle(bundle: Mapping[str, Any], *, max_age: timedelta) -> OfflineTrust:
    if bundle.get("format") != BUNDLE_FORMAT:
        raise TrustError(f"Not an offline bundle (expected format {BUNDLE_FORMAT}).")
    keys = keys_from_jwks(bundle.get("jwks") or {})
    lists = status_lists(list((bundle.get("status_lists") or {}).values()), keys)
    return OfflineTrust(str(bundle.get("issuer")), keys, lists, max_age)


def load_json(text: str, what: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TrustError(f"The {what} is not JSON.") from exc
    if not isinstance(data, dict):
        raise TrustError(f"The {what} is not a JSON object.")
    return data
