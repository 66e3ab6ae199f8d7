"""Signed status list tokens for GET /status/{id}, re-signed only when needed."""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

from idsvc.crypto.keyring import Signer
from idsvc.status.mirror import StatusMirror
from idsvc.status.service import status_uri
from idsvc.status.token import sign_token


@dataclass(frozen=True)
class SignedList:
    token: str
    etag: str
    issued_at: float
    content: bytes


class StatusPublisher:
    """Keeps each list's last token; signs again when the list or key changed, or at half TTL.

    Verifiers that poll with If-None-Match get 304 until something changed.
    """

    def __init__(self, statuses: StatusMirror) -> None:
        self._statuses = statuses
        self._signed: dict[int, SignedList] = {}
        self._lock = threading.Lock()

    def token(self, list_id: int, *, signer: Signer, issuer: str, ttl: int) -> SignedList | None:
        packed = self._statuses.packed(list_id)
        if packed is None:
            return None
        content = hashlib.sha256(packed + signer.kid.encode()).digest()
        now = time.time()
        with self._lock:
            cached = self._signed.get(list_id)
            if cached and cached.content == content and now - cached.issued_at < ttl / 2:
                return cached
            token = sign_token(uri=status_uri(issuer, list_id), packed=packed,
                               issued_at=int(now), expires_at=None, ttl=ttl,
                               private_key=signer.private_key, kid=signer.kid, issuer=issuer)
            # The ETag names this token, not just the list: a re-signed (fresher) token is
            # new to a device polling with If-None-Match, so its copy never grows stale.
            etag = f'"{hashlib.sha256(token.encode()).hexdigest()[:32]}"'
            signed = self._signed[list_id] = SignedList(token, etag, now, content)
            return signed
