"""Every worker's copy of the usable API keys, so a verification reads no key row."""

from __future__ import annotations

from sqlmodel import Session

from idsvc.changes.models import Change
from idsvc.changes.service import Topic
from idsvc.partners.service import PartnerCredential, secret_matches, split_key, usable_keys


class PartnerKeyMirror:
    topic = Topic.PARTNERS

    def __init__(self) -> None:
        self._by_prefix: dict[str, PartnerCredential] = {}

    def reload(self, session: Session) -> None:
        self._by_prefix = {cred.prefix: cred for cred in usable_keys(session)}

    def apply(self, session: Session, change: Change) -> None:
        self.reload(session)

    def authenticate(self, api_key: str) -> PartnerCredential | None:
        parts = split_key(api_key)
        if parts is None:
            return None
        credential = self._by_prefix.get(parts[0])
        if credential is None or not secret_matches(parts[1], credential.secret_hash):
            return None
        return credential
