"""shred ledger

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 01:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('shred_ledger',
    sa.Column('resident_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('shredded_on', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('resident_id', name=op.f('pk_shred_ledger'))
    )
    with op.batch_alter_table('shred_ledger', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shred_ledger_shredded_on'), ['shredded_on'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('shred_ledger', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shred_ledger_shredded_on'))

    op.drop_table('shred_ledger')
