"""card mailing: delivery, mailer activation codes, and a unique index that lets a mailed
renewal wait beside the card it replaces

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 04:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


import idsvc.db

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_IN_USE = "state <> 'revoked'"
NEW_IN_USE = "state NOT IN ('revoked', 'mailed')"


def upgrade() -> None:
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivery', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False, server_default='desk'))
        batch_op.add_column(sa.Column('mailed_at', idsvc.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('activation_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.add_column(sa.Column('activation_failures', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('activation_locked_until', idsvc.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('activated_at', idsvc.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.drop_index('uq_cards_number_in_use', postgresql_where=sa.text(OLD_IN_USE), sqlite_where=sa.text(OLD_IN_USE))
        batch_op.create_index('uq_cards_number_in_use', ['number'], unique=True, postgresql_where=sa.text(NEW_IN_USE), sqlite_where=sa.text(NEW_IN_USE))


def downgrade() -> None:
    with op.batch_alter_table('cards', schema=None) as batch_op:
        batch_op.drop_index('uq_cards_number_in_use', postgresql_where=sa.text(NEW_IN_USE), sqlite_where=sa.text(NEW_IN_USE))
        batch_op.create_index('uq_cards_number_in_use', ['number'], unique=True, postgresql_where=sa.text(OLD_IN_USE), sqlite_where=sa.text(OLD_IN_USE))
        batch_op.drop_column('activated_at')
        batch_op.drop_column('activation_locked_until')
        batch_op.drop_column('activation_failures')
        batch_op.drop_column('activation_hash')
        batch_op.drop_column('mailed_at')
        batch_op.drop_column('delivery')
