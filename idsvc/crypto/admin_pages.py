"""Administrator pages for signing keys: list, rotate, retire, mark compromised, reissue.

Marking a key compromised is the one step that makes every card it signed verify as
invalid, so it sits behind a page that says so; afterwards the page shows how many
cards in use it signed and reissues them, 100 per click (each chunk its own
transaction, as `idsvc keys reissue` does, so revocations never queue behind it).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from sqlmodel import Session
from starlette.responses import RedirectResponse, Response

from idsvc.cards import lifecycle
from idsvc.cards.service import issue_context, kids_in_circulation
from idsvc.crypto import keyring
from idsvc.db import SessionDep
from idsvc.errors import DomainError
from idsvc.runtime import RuntimeDep
from idsvc.staff.models import Staff
from idsvc.staff.pages import page_require
from idsvc.staff.roles import Permission
from idsvc.staff.service import actor_of
from idsvc.web.admin_home import Link
from idsvc.web.csrf import check_csrf
from idsvc.web.templating import gettext_for, render

router = APIRouter(include_in_schema=False)
KeyAdmin = Annotated[Staff, Depends(page_require(Permission.MANAGE_KEYS))]
Kid = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
CSRF = [Depends(check_csrf)]
REISSUE_CHUNK = 100


def _list(request: Request, session: Session, staff: Staff, *, error: str | None = None,
          status_code: int = 200) -> Response:
    _ = gettext_for(request)
    done = {"rotated": _("A new signing key is active; the previous one keeps verifying "
                         "its cards."),
            "retired": _("The key was retired: it signs no new card, and its cards keep "
                         "verifying until they expire.")}
    return render(request, "admin/keys.html", {
        "staff": staff, "keys": keyring.list_keys(session),
        "in_use": kids_in_circulation(session), "error": error,
        "done": done.get(request.query_params.get("done", ""))}, status_code=status_code)


@router.get("/admin/keys")
def keys_page(request: Request, session: SessionDep, staff: KeyAdmin) -> Response:
    return _list(request, session, staff)


@router.post("/admin/keys/rotate", dependencies=CSRF)
def rotate(session: SessionDep, runtime: RuntimeDep, staff: KeyAdmin) -> Response:
    keyring.rotate(session, keys_dir=runtime.settings.keys_dir, actor=actor_of(staff))
    return RedirectResponse("/admin/keys?done=rotated", status_code=303)


@router.post("/admin/keys/{kid}/retire", dependencies=CSRF)
def retire(request: Request, session: SessionDep, staff: KeyAdmin, kid: Kid) -> Response:
    _ = gettext_for(request)
    try:
        keyring.retire(session, kid=kid, actor=actor_of(staff))
    except DomainError as exc:
        messages = {"last_active_key": _("This is the only key that signs new cards: "
                                         "rotate to make a new one first."),
                    "key_compromised": _("A compromised key stays compromised.")}
        if exc.code not in messages:
            raise
        return _list(request, session, staff, error=messages[exc.code],
                     status_code=exc.status_code)
    return RedirectResponse("/admin/keys?done=retired", status_code=303)


def _trail(request: Request) -> list[Link]:
    _ = gettext_for(request)
    return [Link("/admin/keys", _("Signing keys"))]


@router.get("/admin/keys/{kid}/compromised")
def confirm_compromised(request: Request, session: SessionDep, staff: KeyAdmin,
                        kid: Kid) -> Response:
    key = keyring.get_key(session, kid)
    return render(request, "admin/key_compromised.html", {
        "staff": staff, "key": key, "affected": len(lifecycle.cards_signed_by(session, kid)),
        "trail": _trail(request)})


@router.post("/admin/keys/{kid}/compromised", dependencies=CSRF)
def compromised(session: SessionDep, runtime: RuntimeDep, staff: KeyAdmin,
                kid: Kid) -> Response:
    keyring.mark_compromised(session, kid=kid, keys_dir=runtime.settings.keys_dir,
                             actor=actor_of(staff))
    return RedirectResponse(f"/admin/keys/{kid}/affected", status_code=303)


@router.get("/admin/keys/{kid}/affected")
def affected(request: Request, session: SessionDep, staff: KeyAdmin, kid: Kid) -> Response:
    key = keyring.get_key(session, kid)
    reissued = request.query_params.get("reissued", "")
    return render(request, "admin/key_affected.html", {
        "staff": staff, "key": key, "affected": len(lifecycle.cards_signed_by(session, kid)),
        "reissued": int(reissued) if reissued.isdigit() else None, "chunk": REISSUE_CHUNK,
        "trail": _trail(request)})


@router.post("/admin/keys/{kid}/reissue", dependencies=CSRF)
def reissue(session: SessionDep, runtime: RuntimeDep, staff: KeyAdmin, kid: Kid) -> Response:
    """New versions, signed by the active key, of the next chunk of cards `kid` signed."""
    keyring.get_key(session, kid)
    context = issue_context(session, settings=runtime.settings, keys=runtime.master_key,
                            policy=runtime.policy, actor=actor_of(staff), issued_by=staff.id,
                            centre_id=None)
    done = lifecycle.reissue_signed_by(session, kid=kid, context=context, limit=REISSUE_CHUNK)
    return RedirectResponse(f"/admin/keys/{kid}/affected?reissued={len(done)}",
                            status_code=303)
