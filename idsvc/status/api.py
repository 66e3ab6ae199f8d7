"""GET /status/{list_id}: the signed status list, public and cacheable (DESIGN §4)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from idsvc.crypto.keyring import active_signer
from idsvc.db import ReadSessionDep, RowId
from idsvc.errors import NotFound
from idsvc.runtime import RuntimeDep

public_router = APIRouter(tags=["status"])
MEDIA_TYPE = "application/statuslist+jwt"


@public_router.get("/status/{list_id}", response_class=Response,
                   responses={200: {"content": {MEDIA_TYPE: {}}}, 304: {}})
def status_list(list_id: RowId, request: Request, session: ReadSessionDep,
                runtime: RuntimeDep) -> Response:
    settings, mirrors = runtime.settings, runtime.mirrors
    mirrors.follower.catch_up_if_due(runtime.read_sessions)  # the feed: always the primary
    signed = mirrors.publisher.token(
        list_id, signer=active_signer(session, keys_dir=settings.keys_dir),
        issuer=settings.issuer, ttl=settings.status_ttl_seconds)
    if signed is None:
        raise NotFound(f"No status list {list_id}.", code="status_list_not_found")
    headers = {"ETag": signed.etag,
               "Cache-Control": f"public, max-age={settings.status_ttl_seconds // 2}"}
    if request.headers.get("if-none-match") == signed.etag:
        return Response(status_code=304, headers=headers)
    return Response(signed.token, media_type=MEDIA_TYPE, headers=headers)
