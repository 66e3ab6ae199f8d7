"""The `idsvc` command: demo, serve, database, keys, staff, centres, cards, audit."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, TextIO

import typer
import uvicorn
from sqlmodel import Session

from idsvc import demo as demo_data
from idsvc import migrations
from idsvc.app import create_app
from idsvc.appointments.cli import appointments_app, purge_appointments
from idsvc.audit.service import (
    Actor,
    ExportFormat,
    ExportRange,
    export_header,
    export_line,
    export_rows,
    record_export,
    verify_log,
)
from idsvc.backup.cli import backup, restore_command
from idsvc.bulk import cli as bulk_cli
from idsvc.cards import lifecycle, mailing_cli
from idsvc.cards import service as cards
from idsvc.centres import service as centres
from idsvc.changes import service as changes
from idsvc.clock import utcnow
from idsvc.commands import checked_settings, database, master_key, transaction
from idsvc.config import Settings, get_settings
from idsvc.crypto import keyring, keystore, rotation
from idsvc.crypto.keyfiles import KeyFileError
from idsvc.db import make_engine, make_sessionmaker
from idsvc.enrollment.policy import PolicyError, load_policy
from idsvc.errors import DomainError
from idsvc.observability.logs import server_options
from idsvc.observability.workers import server_folder
from idsvc.partners import service as partners
from idsvc.partners import users as partner_users
from idsvc.partners.models import PartnerSession
from idsvc.partners.scopes import DEFAULT_SCOPES, PartnerKind
from idsvc.residents.models import ResidentSession
from idsvc.retention.cli import retention_app, run_policy
from idsvc.runtime import Mirrors
from idsvc.sessions import purge_expired
from idsvc.staff import service as staff_service
from idsvc.staff.models import StaffSession
from idsvc.staff.roles import Role
from idsvc.status.token import StatusListError
from idsvc.verification import service as verification
from idsvc.verification.checker import SHOWS_CARD, Result
from idsvc.verification.disclosure import disclose
from idsvc.verification.offline import (
    OfflineTrust,
    TrustError,
    keys_from_jwks,
    load_json,
    status_lists,
    trust_from_bundle,
    verify_offline,
)
from idsvc.verification.sources import SourceError, credential_text, read_text

app = typer.Typer(help="idsvc: municipal ID cards.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
keys_app = typer.Typer(help="Signing and data-encryption keys.", no_args_is_help=True)
staff_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
centre_app = typer.Typer(help="Service centres.", no_args_is_help=True)
card_app = typer.Typer(help="Cards.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
partner_app = typer.Typer(help="Partner institutions.", no_args_is_help=True)
for sub, name in ((db_app, "db"), (keys_app, "keys"), (staff_app, "staff"),
                  (centre_app, "centre"), (card_app, "card"), (audit_app, "audit"),
                  (partner_app, "partner"), (retention_app, "retention"),
                  (appointments_app, "appointments")):
    app.add_typer(sub, name=name)
app.command()(backup)
app.command("restore")(restore_command)

CLI_ACTOR = Actor("system", "cli")
app.command("import")(bulk_cli.import_csv)
card_app.command("print-batch")(bulk_cli.print_batch)
card_app.command("mailers")(mailing_cli.mailers_command)
card_app.command("posted")(mailing_cli.posted_command)
card_app.command("suspend-unactivated")(mailing_cli.suspend_unactivated_command)


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    """One transaction for the whole command."""
    with database(settings) as sessions, transaction(sessions) as session:
        yield session


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply schema migrations (creates the SQLite file on first run)."""
    settings = checked_settings()
    migrations.upgrade(settings.database_url, revision)
    typer.echo(f"database at {revision}")


@keys_app.command("generate")
def keys_generate() -> None:
    """Create the data-encryption key and a signing key, where none exists yet."""
    settings = checked_settings()
    master_key(settings, create=True)
    with _session(settings) as session:
        key = keyring.ensure_signing_key(session, keys_dir=settings.keys_dir)
        typer.echo(f"active signing key {key.kid}")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """A new active signing key; the old one retires and keeps verifying its cards."""
    settings = checked_settings()
    with _session(settings) as session:
        key = keyring.rotate(session, keys_dir=settings.keys_dir, actor=CLI_ACTOR)
        typer.echo(f"active signing key {key.kid}")


@keys_app.command("retire")
def keys_retire(kid: str) -> None:
    """Stop signing with KID; its cards keep verifying until they expire."""
    with _session(checked_settings()) as session:
        keyring.retire(session, kid=kid, actor=CLI_ACTOR)
        typer.echo(f"retired {kid}")


@keys_app.command("compromised")
def keys_compromised(kid: str) -> None:
    """Distrust everything KID signed (its cards verify as invalid); then run `keys reissue`."""
    settings = checked_settings()
    with _session(settings) as session:
        rotated = keyring.mark_compromised(session, kid=kid, keys_dir=settings.keys_dir,
                                           actor=CLI_ACTOR)
        affected = lifecycle.cards_signed_by(session, kid)
    typer.echo(f"{kid} is compromised; {len(affected)} cards in use were signed by it")
    if rotated is not None:
        typer.echo(f"new active signing key {rotated.kid}")
    typer.echo(f"list them: idsvc keys affected {kid}; reissue them: idsvc keys reissue {kid}")


@keys_app.command("affected")
def keys_affected(kid: str) -> None:
    """Card numbers in use whose credential KID signed."""
    with _session(checked_settings()) as session:
        for card in lifecycle.cards_signed_by(session, kid):
            typer.echo(f"{card.number} v{card.version} {card.state}")


@keys_app.command("reissue")
def keys_reissue(kid: str) -> None:
    """New versions, signed by the active key, of every card KID signed."""
    settings = checked_settings()
    keys = master_key(settings)
    total = 0
    while True:  # chunks of 100, each its own transaction
        with _session(settings) as session:
            context = cards.issue_context(session, settings=settings, keys=keys,
                                          policy=load_policy(settings.policy_file),
                                          actor=CLI_ACTOR, issued_by=None, centre_id=None)
            reissued = lifecycle.reissue_signed_by(session, kid=kid, context=context, limit=100)
            lines = [f"{card.number} v{card.version} {card.state}" for card in reissued]
        for line in lines:
            typer.echo(line)
        total += len(lines)
        if len(lines) < 100:
            break
    typer.echo(f"reissued {total} cards; print and hand them out again")


@keys_app.command("list")
def keys_list() -> None:
    """Signing keys with their state."""
    settings = checked_settings()
    with _session(settings) as session:
        for key in keyring.list_keys(session):
            typer.echo(f"{key.kid}  {key.state:<12} created {key.created_at:%Y-%m-%d %H:%M}Z")


@keys_app.command("encrypt")
def keys_encrypt() -> None:
    """Encrypt every plain private key file in place with the key passphrase
    (IDSVC_KEY_PASSPHRASE or IDSVC_KEY_PASSPHRASE_FILE); run it again after an interruption."""
    settings = checked_settings(require_encrypted_keys=False)
    try:
        done = keystore.encrypt_all(settings.keys_dir)
    except (KeyFileError, OSError) as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    for path in done:
        typer.echo(f"encrypted {path.name}")
    typer.echo(f"{len(done)} key files encrypted; every private key file is encrypted now")


@keys_app.command("rotate-data-key")
def keys_rotate_data_key(
        batch_size: Annotated[int, typer.Option(min=1, help="Residents per transaction.")]
        = rotation.DEFAULT_BATCH) -> None:
    """A new data-encryption master key: every resident's data key is re-wrapped in
    batches, then the old key file is removed. Run it again if it is interrupted."""
    settings = checked_settings()
    if settings.data_key:
        typer.secho("error: IDSVC_DATA_KEY is set; rotation replaces the key file in "
                    "IDSVC_KEYS_DIR: put the key there as data.key and unset the variable",
                    fg="red", err=True)
        raise typer.Exit(1)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    try:
        keys = rotation.begin(settings.keys_dir)
        with sessions.begin() as session:
            todo = rotation.remaining(session, keys)
        with typer.progressbar(length=todo, label="Re-wrapping data keys", file=sys.stderr
                               ) as bar:
            count = rotation.complete(sessions, keys, keys_dir=settings.keys_dir,
                                      actor=CLI_ACTOR, size=batch_size, done=bar.update)
    except KeyFileError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc
    finally:
        engine.dispose()
    typer.echo(f"data-encryption key {keys.key_id.hex()} in use; {count} data keys re-wrapped; "
               "the old key file is gone (restart the service to drop it from memory)")


@staff_app.command("create")
def staff_create(
    username: str,
    role: Annotated[Role, typer.Option(help="admin, supervisor, clerk or auditor")],
    password: Annotated[str | None, typer.Option(help="Prompted for when not given.")] = None,
    centre: Annotated[str | None, typer.Option(help="Service centre code.")] = None,
) -> None:
    """Create a staff account."""
    settings = checked_settings()
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
    with _session(checked_settings()) as session:
        centre = centres.create_centre(session, code=code, name=name, address=address,
                                       actor=CLI_ACTOR)
        typer.echo(f"created centre {centre.code} (id {centre.id})")


@card_app.command("render")
def card_render(number: str, out: Annotated[Path, typer.Option(help="Folder.")] = Path(".")
                ) -> None:
    """Write the card's front.png, back.png and card.pdf (300 dpi, CR80)."""
    settings = checked_settings()
    keys = master_key(settings)
    with _session(settings) as session:
        card, files = cards.print_card(session, number=number, keys=keys, actor=CLI_ACTOR,
                                       layout=cards.PrintLayout.from_settings(settings),
                                       files=tuple(cards.PRINTERS))
    out.mkdir(parents=True, exist_ok=True)
    stem = f"card-{card.number}-v{card.version}"
    for name, data in files.items():
        (out / f"{stem}-{name}").write_bytes(data)
    typer.echo(f"wrote {stem}-front.png, -back.png and -card.pdf to {out}")


@partner_app.command("create")
def partner_create(name: str,
                   kind: Annotated[PartnerKind, typer.Option(help="What the partner is.")],
                   label: str = "") -> None:
    """Create a partner and print its first API key (shown once, never stored)."""
    with _session(checked_settings()) as session:
        partner = partners.create_partner(session, name=name, kind=kind, actor=CLI_ACTOR)
        _, api_key = partners.issue_key(session, partner=partner, label=label, actor=CLI_ACTOR)
    typer.echo(f"partner {partner.id} {partner.name} ({partner.kind})")
    typer.echo(f"API key (shown once): {api_key}")


@partner_app.command("user-create")
def partner_user_create(
    partner_id: int, username: str,
    password: Annotated[str | None, typer.Option(help="Prompted for when not given.")] = None,
) -> None:
    """Create a desk login for a partner's staff (they check cards at /partner/)."""
    settings = checked_settings()
    password = password or typer.prompt("Password", hide_input=True,
                                        confirmation_prompt=True)
    with _session(settings) as session:
        partner = partners.get_partner(session, partner_id)
        user = partner_users.create_partner_user(session, partner=partner, username=username,
                                                 password=password, actor=CLI_ACTOR)
        typer.echo(f"created desk user {user.username} for partner {partner.id} {partner.name}")


@app.command("offline-bundle")
def offline_bundle(out: Annotated[Path | None, typer.Option(help="File; stdout if unset.")]
                   = None) -> None:
    """JWKS + every signed status list + time, for devices that verify offline."""
    settings = checked_settings()
    with _session(settings) as session:
        mirrors = Mirrors.empty()
        mirrors.follower.refresh(session)
        bundle = verification.offline_bundle(session, settings=settings, mirrors=mirrors)
    text = json.dumps(bundle, indent=1)
    if out is None:
        typer.echo(text)
    else:
        out.write_text(text)
        typer.echo(f"wrote {out} ({len(bundle['status_lists'])} status lists)")


def _trust(bundle: str | None, jwks_source: str | None, status_sources: list[str],
           issuer: str, max_age: timedelta) -> OfflineTrust:
    if bundle is not None:
        return trust_from_bundle(load_json(read_text(bundle), "bundle"), max_age=max_age)
    if jwks_source is None:
        raise SourceError("Give --bundle, or --jwks (and --status for revocations).")
    keys = keys_from_jwks(load_json(read_text(jwks_source), "JWKS"))
    lists = status_lists([read_text(s) for s in status_sources], keys)
    return OfflineTrust(issuer, keys, lists, max_age)


@app.command("verify")
def verify_offline_command(
    qr_text_or_image: Annotated[str, typer.Argument(help="QR text, or a PNG/JPEG of the card.")],
    jwks: Annotated[str | None, typer.Option(help="JWKS file or URL.")] = None,
    status: Annotated[list[str] | None, typer.Option(help="Status list file or URL; repeat.")]
    = None,
    bundle: Annotated[str | None, typer.Option(help="Offline bundle file or URL.")] = None,
    issuer: Annotated[str | None, typer.Option(help="Expected issuer (default IDSVC_ISSUER).")]
    = None,
) -> None:
    """Verify a card with no database; the verdict is on the first line. Exit 0 if valid."""
    settings = get_settings()
    max_age = timedelta(hours=settings.offline_status_max_age_hours)
    try:
        trust = _trust(bundle, jwks, status or [], issuer or settings.issuer, max_age)
        text = credential_text(qr_text_or_image)
    except (SourceError, TrustError, StatusListError) as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from exc
    check = verify_offline(text, trust, now=utcnow())
    typer.echo(check.result.value)
    typer.echo(f"reason: {check.reason}")
    if check.result in SHOWS_CARD and check.decoded is not None:
        scope = DEFAULT_SCOPES[PartnerKind.LAW_ENFORCEMENT]
        for field, value in disclose(check.decoded, scope, utcnow().date()).items():
            if field != "photo":
                typer.echo(f"{field}: {value}")
    raise typer.Exit(0 if check.result == Result.VALID else 1)


@app.command()
def purge(every: Annotated[float | None, typer.Option(
        help="Seconds between runs; runs once when unset.")] = None) -> None:
    """Forget verification events past retention, old change-feed entries, dead sessions;
    apply the retention rules (`idsvc retention apply` with the settings); suspend mailed
    cards never activated (`idsvc card suspend-unactivated`)."""
    settings = checked_settings()
    while True:
        with _session(settings) as session:
            events = verification.purge_events(
                session, retention_days=settings.verification_retention_days)
            feed = changes.purge_before(session, utcnow() - timedelta(days=1))
            sessions = sum(purge_expired(session, table, now=utcnow())
                           for table in (StaffSession, PartnerSession, ResidentSession))
        typer.echo(f"purged {events} verification events, {feed} feed entries, "
                   f"{sessions} expired sessions")
        shred = run_policy(settings, expired_years=settings.shred_after_expired_years,
                           applications_days=settings.purge_applications_after_days,
                           dry_run=False, echo=lambda _: None)
        typer.echo(f"shredded {shred.residents} residents with expired cards, "
                   f"{shred.applications} applicants never approved")
        typer.echo(f"purged {purge_appointments(settings)} past appointments")
        typer.echo(mailing_cli.describe(mailing_cli.run_upkeep(settings)))
        if every is None:
            return
        time.sleep(every)


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the audit log's hash chain; exit 1 if any row was changed, inserted or deleted."""
    with _session(checked_settings()) as session:
        report = verify_log(session)
    if report.ok:
        typer.echo(f"ok: {report.events} events, head {report.head}")
        return
    typer.secho(f"BROKEN at event {report.broken_at}: {report.problem}", fg="red", err=True)
    raise typer.Exit(1)


@audit_app.command("export")
def audit_export(
        since: Annotated[datetime, typer.Option("--from", formats=["%Y-%m-%d"],
                                                help="First UTC day, YYYY-MM-DD.")],
        until: Annotated[datetime, typer.Option("--to", formats=["%Y-%m-%d"],
                                                help="Last UTC day (included).")],
        out: Annotated[Path | None, typer.Option(
            help="File to write (owner-only); standard output when unset.")] = None,
        fmt: Annotated[ExportFormat, typer.Option(
            "--format", help="jsonl (one JSON object per line) or csv.")
        ] = ExportFormat.JSONL) -> None:
    """Export the audit events of a date range with their hashes; the export is audited."""
    settings = checked_settings()
    try:
        span = ExportRange.of(since.date(), until.date())
    except DomainError as exc:
        typer.secho(f"error: {exc.message}", fg="red", err=True)
        raise typer.Exit(2) from exc
    with _session(settings) as session:  # committed first: a failed write is still on record
        mark = record_export(session, actor=CLI_ACTOR, span=span, fmt=fmt)
        upto_id = mark.id or 0
    count = 0
    with _session(settings) as session, _export_target(out) as target:
        target.write(export_header(fmt))
        for row in export_rows(session, span=span, upto_id=upto_id):
            target.write(export_line(row, fmt))
            count += 1
    typer.secho(f"exported {count} events ({span.label()})", err=True)


@contextmanager
def _export_target(out: Path | None) -> Iterator[TextIO]:
    """Standard output, or a file only its owner may read: the log names staff and cards."""
    if out is None:
        yield sys.stdout
        return
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        yield handle


def _check_policy(settings: Settings) -> None:
    try:
        load_policy(settings.policy_file)
    except PolicyError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(1) from exc


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000,
          workers: Annotated[int, typer.Option(envvar="IDSVC_WORKERS", min=1)] = 1) -> None:
    """Run the service (schema must be current: `idsvc db upgrade`)."""
    settings = checked_settings()
    _check_policy(settings)
    with server_folder(settings.metrics_dir, workers):  # every worker counted in /metrics
        uvicorn.run("idsvc.app:create_app", factory=True, host=host, port=port,
                    workers=workers, **server_options(settings))


@app.command()
def demo(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Database, keys, a service centre, demo staff and a sample card on SQLite, then serve."""
    settings = checked_settings(get_settings().model_copy(update={"demo": True}))
    _check_policy(settings)
    migrations.upgrade(settings.database_url)
    keys = master_key(settings, create=True)
    with _session(settings) as session:
        key = keyring.ensure_signing_key(session, keys_dir=settings.keys_dir)
        centre = demo_data.ensure_centre(session, CLI_ACTOR)
        passwords = demo_data.reset_demo_staff(session, centre_id=centre.id, actor=CLI_ACTOR)
        sample = demo_data.ensure_sample_card(session, settings=settings, keys=keys,
                                              policy=load_policy(settings.policy_file),
                                              centre_id=centre.id, actor=CLI_ACTOR)
        demo_data.ensure_schedule(session, centre_id=centre.id, settings=settings, keys=keys,
                                  actor=CLI_ACTOR)
        museum = demo_data.ensure_museum(session, CLI_ACTOR)
        desk_password = demo_data.reset_desk_user(session, partner=museum, actor=CLI_ACTOR)
        code = demo_data.sample_activation_code(session, card_number=sample, actor=CLI_ACTOR)
    base = f"http://{host}:{port}"
    typer.echo(f"signing key {key.kid}; service centre {centre.code}; sample card {sample}")
    typer.echo("Demo logins (new passwords on every run):")
    for username, password in passwords.items():
        typer.echo(f"  {username:<6} {password}   staff pages: {base}/staff/login")
    typer.echo(f"  {demo_data.DEMO_DESK_USER} {desk_password}   partner desk: {base}/partner/login")
    typer.echo(f"  sample resident: card {sample}, activation code {code}   "
               f"{base}/resident/activate")
    typer.echo(f"Book a visit: {base}/appointments   (no account needed)")
    typer.echo(f"Get a token:  curl -d 'username=clerk&password=<above>' "
               f"{base}/api/v1/auth/token")
    typer.echo(f"Sample card:  {base}/api/v1/cards/{sample}/card.pdf (with the token)")
    typer.echo(f"API docs:     {base}/docs")
    # The demo serves plain http on this machine: cookies cannot be Secure-only there,
    # unless the operator said otherwise.
    if "IDSVC_COOKIE_SECURE" not in os.environ:
        settings = settings.model_copy(update={"cookie_secure": False})
    if "IDSVC_LOG_FORMAT" not in os.environ:  # people read the demo's log
        settings = settings.model_copy(update={"log_format": "text"})
    uvicorn.run(create_app(settings), host=host, port=port, **server_options(settings))
