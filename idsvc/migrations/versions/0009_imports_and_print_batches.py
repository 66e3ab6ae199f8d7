"""import runs and print batches

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 01:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


import idsvc.db

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('import_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('file_sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('centre_id', sa.Integer(), nullable=False),
    sa.Column('started_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('started_at', idsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', idsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=False),
    sa.Column('last_line', sa.Integer(), nullable=False),
    sa.Column('imported', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('allow_duplicates', sa.Boolean(), nullable=False),
    sa.Column('finished_at', idsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['centre_id'], ['service_centres.id'], name=op.f('fk_import_runs_centre_id_service_centres')),
    sa.ForeignKeyConstraint(['started_by'], ['staff.id'], name=op.f('fk_import_runs_started_by_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_runs')),
    sa.UniqueConstraint('file_sha256', name=op.f('uq_import_runs_file_sha256'))
    )
    op.create_table('import_rejections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('column_name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('code', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('message', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['import_runs.id'], name=op.f('fk_import_rejections_run_id_import_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_rejections'))
    )
    with op.batch_alter_table('import_rejections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_rejections_run_id'), ['run_id'], unique=False)

    op.create_table('print_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('centre_id', sa.Integer(), nullable=True),
    sa.Column('selection', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('created_at', idsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('card_count', sa.Integer(), nullable=False),
    sa.Column('printed_at', idsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['centre_id'], ['service_centres.id'], name=op.f('fk_print_batches_centre_id_service_centres')),
    sa.ForeignKeyConstraint(['created_by'], ['staff.id'], name=op.f('fk_print_batches_created_by_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_print_batches'))
    )
    with op.batch_alter_table('print_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_print_batches_centre_id'), ['centre_id'], unique=False)

    op.create_table('print_batch_cards',
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('card_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['print_batches.id'], name=op.f('fk_print_batch_cards_batch_id_print_batches')),
    sa.ForeignKeyConstraint(['card_id'], ['cards.id'], name=op.f('fk_print_batch_cards_card_id_cards')),
    sa.PrimaryKeyConstraint('batch_id', 'card_id', name=op.f('pk_print_batch_cards'))
    )
    with op.batch_alter_table('print_batch_cards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_print_batch_cards_card_id'), ['card_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('print_batch_cards', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_print_batch_cards_card_id'))

    op.drop_table('print_batch_cards')
    with op.batch_alter_table('print_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_print_batches_centre_id'))

    op.drop_table('print_batches')
    with op.batch_alter_table('import_rejections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_rejections_run_id'))

    op.drop_table('import_rejections')
    op.drop_table('import_runs')
