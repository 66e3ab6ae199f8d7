"""walk-in queue: numbered tickets of a centre's waiting room

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 04:25:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


import idsvc.db

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('queue_tickets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('centre_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('issued_at', idsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('due_at', idsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('called_at', idsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('called_by', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('desk', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
    sa.Column('finished_at', idsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'], name=op.f('fk_queue_tickets_appointment_id_appointments'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['called_by'], ['staff.id'], name=op.f('fk_queue_tickets_called_by_staff')),
    sa.ForeignKeyConstraint(['centre_id'], ['service_centres.id'], name=op.f('fk_queue_tickets_centre_id_service_centres')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queue_tickets')),
    sa.UniqueConstraint('appointment_id', name=op.f('uq_queue_tickets_appointment_id')),
    sa.UniqueConstraint('centre_id', 'day', 'kind', 'number', name='uq_queue_tickets_centre_day_kind_number')
    )
    with op.batch_alter_table('queue_tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_queue_tickets_centre_id'), ['centre_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_queue_tickets_day'), ['day'], unique=False)
        batch_op.create_index(batch_op.f('ix_queue_tickets_state'), ['state'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('queue_tickets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_queue_tickets_state'))
        batch_op.drop_index(batch_op.f('ix_queue_tickets_day'))
        batch_op.drop_index(batch_op.f('ix_queue_tickets_centre_id'))

    op.drop_table('queue_tickets')
