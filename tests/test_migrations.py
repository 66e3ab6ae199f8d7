"""Tables come only from Alembic migrations, and the migrations match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from idsvc import migrations
from idsvc.db import make_engine, metadata


def test_migrations_match_models(scratch_url):
    migrations.upgrade(scratch_url)
    engine = make_engine(scratch_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    engine.dispose()


def test_upgrade_is_repeatable(scratch_url):
    migrations.upgrade(scratch_url)
    migrations.upgrade(scratch_url)
