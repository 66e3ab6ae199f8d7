"""Alembic environment: the URL comes from the caller's config, the tables from the domains."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, engine_from_config, pool

import idsvc.appointments.models
import idsvc.appointments.ticket_model
import idsvc.audit.models
import idsvc.benefits.models
import idsvc.bulk.models
import idsvc.cards.models
import idsvc.centres.models
import idsvc.changes.models
import idsvc.crypto.models
import idsvc.enrollment.models
import idsvc.notifications.models
import idsvc.partners.models
import idsvc.residents.models
import idsvc.retention.models
import idsvc.staff.models
import idsvc.status.models
import idsvc.verification.models  # noqa: F401  (the imports above register the tables)
from idsvc.db import metadata

config = context.config


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = engine_from_config(config.get_section(config.config_ini_section, {}),
                                prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)


def _run(connection: Connection) -> None:
    # Batch mode lets SQLite alter tables by copying them.
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
