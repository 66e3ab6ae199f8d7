"""The `idsvc` command: demo, serve, database, keys, staff, centres, cards, audit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from sqlmodel import Session

from idsvc import demo as demo_data
from idsvc import migrations
from idsvc.audit.service import Actor, verify_log
from idsvc.cards import service as cards
from idsvc.centres import service as centres
from idsvc.config import Settings, get_settings
from idsvc.crypto import keyring
from idsvc.crypto.envelope import load_master_key
from idsvc.db import make_engine, make_sessionmaker
from idsvc.enrollment.policy import PolicyError, load_policy
from idsvc.errors import DomainError
from idsvc.staff import service as staff_service
from idsvc.staff.roles import Role

app = typer.Typer(help="idsvc: municipal ID cards.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="Signing and data-encryption keys.", no_args_is_help=True)
staff_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
centre_app = typer.Typer(help="Service centres.", no_args_is_help=True)
card_app = typer.Typer(help="Cards.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
for sub, name in ((db_app, "db"), (keys_app, "keys"), (staff_app, "staff"),
                  (centre_app, "centre"), (card_app, "card"), (audit_app, "audit")):
    app.add_typer(sub, name=name)

CLI_ACTOR = Actor("system", "cli")


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    """One transaction for the whole command; a domain error rolls it back and exits 1."""
    engine = make_engine(settings.database_url)
    try:
        with make_sessionmaker(engine)() as session:
            try:
                yield session
                session.commit()
            except DomainError as exc:
                session.rollback()
                typer.secho(f"error: {exc.message} ({exc.code})", fg="red", err=True)
                raise typer.Exit(1) from exc
    finally:
        engine.dispose()


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply schema migrations (creates the SQLite file on first run)."""
    settings = get_settings()
    migrations.upgrade(settings.database_url, revision)
    typer.echo(f"database at {revision}")


@keys_app.command("generate")
def keys_generate() -> None:
    """Create the data-encryption key and a signing key, where none exists yet."""
    settings = get_settings()
    load_master_key(keys_dir=settings.keys_dir, encoded=settings.data_key, create=True)
    with _session(settings) as session:
        key = keyring.ensure_signing_key(session, keys_dir=settings.keys_dir)
        typer.echo(f"active signing key {key.kid}")


@keys_app.command("list")
def keys_list() -> None:
    """Signing keys with their state."""
    settings = get_settings()
    with _session(settings) as session:
        for key in keyring.list_keys(session):
            typer.echo(f"{key.kid}  {key.state:<12} created {key.created_at:%Y-%m-%d %H:%M}Z")


@staff_app.command("create")
def staff_create(
    username: str,
    role: Annotated[Role, typer.Option(help="admin, supervisor, clerk or auditor")],
    password: Annotated[str | None, typer.Option(help="Prompted for when not given.")] = None,
    centre: Annotated[str | None, typer.Option(help="Service centre code.")] = None,
) -> None:
    """Create a staff account."""
    settings = get_settings()
    password = password or typer.prompt("Password", hide_input=True,
                                        confirmation_prompt=True)
    with _session(settings) as session:
        centre_id = None
        if centre is not None:
            found = centres.find_centre(session, code=centre)
            if found is None:
                typer.secho(f"error: no service centre {centre!r}", fg="red", err=True)
                raise typer.Exit(1)
            centre_id = found.id
        staff = staff_service.create_staff(session, username=username, password=password,
                                           role=role, centre_id=centre_id, actor=CLI_ACTOR)
        typer.echo(f"created {staff.role} {staff.username}")


@centre_app.command("create")
def centre_create(code: str, name: str, address: str = "") -> None:
    """Create a service centre."""
    with _session(get_settings()) as session:
        centre = centres.create_centre(session, code=code, name=name, address=address,
                                       actor=CLI_ACTOR)
        typer.echo(f"created centre {centre.code} (id {centre.id})")


@card_app.command("render")
def card_render(number: str, out: Annotated[Path, typer.Option(help="Folder.")] = Path(".")
                ) -> None:
    """Write the card's front.png, back.png and card.pdf (300 dpi, CR80)."""
    settings = get_settings()
    keys = load_master_key(keys_dir=settings.keys_dir, encoded=settings.data_key)
    with _session(settings) as session:
        card, files = cards.print_card(session, number=number, keys=keys, actor=CLI_ACTOR,
                                       layout=cards.PrintLayout.from_settings(settings),
                                       files=tuple(cards.PRINTERS))
    out.mkdir(parents=True, exist_ok=True)
    stem = f"card-{card.number}-v{card.version}"
    for name, data in files.items():
        (out / f"{stem}-{name}").write_bytes(data)
    typer.echo(f"wrote {stem}-front.png, -back.png and -card.pdf to {out}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain; exit 1 if any row was changed, inserted or deleted."""
    with _session(get_settings()) as session:
        report = verify_log(session)
    if report.ok:
        typer.echo(f"ok: {report.events} events, head {report.head}")
        return
    typer.secho(f"BROKEN at event {report.broken_at}: {report.problem}", fg="red", err=True)
    raise typer.Exit(1)


def _check_policy(settings: Settings) -> None:
    try:
        load_policy(settings.policy_file)
    except PolicyError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Run the service (schema must be current: `idsvc db upgrade`)."""
    _check_policy(get_settings())
    uvicorn.run("idsvc.app:create_app", factory=True, host=host, port=port, workers=workers)


@app.command()
def demo(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Database, keys, a service centre, demo staff and a sample card on SQLite, then serve."""
    settings = get_settings()
    _check_policy(settings)
    migrations.upgrade(settings.database_url)
    keys = load_master_key(keys_dir=settings.keys_dir, encoded=settings.data_key, create=True)
    with _session(settings) as session:
        key = keyring.ensure_signing_key(session, keys_dir=settings.keys_dir)
        centre = demo_data.ensure_centre(session, CLI_ACTOR)
        passwords = demo_data.reset_demo_staff(session, centre_id=centre.id, actor=CLI_ACTOR)
        sample = demo_data.ensure_sample_card(session, settings=settings, keys=keys,
                                              policy=load_policy(settings.policy_file),
                                              centre_id=centre.id, actor=CLI_ACTOR)
    base = f"http://{host}:{port}"
    typer.echo(f"signing key {key.kid}; service centre {centre.code}; sample card {sample}")
    typer.echo("Demo logins (new passwords on every run):")
    for username, password in passwords.items():
        typer.echo(f"  {username:<6} {password}")
    typer.echo(f"Get a token:  curl -d 'username=clerk&password=<above>' "
               f"{base}/api/v1/auth/token")
    typer.echo(f"Sample card:  {base}/api/v1/cards/{sample}/card.pdf (with the token)")
    typer.echo(f"API docs:     {base}/docs")
    uvicorn.run("idsvc.app:create_app", factory=True, host=host, port=port)
