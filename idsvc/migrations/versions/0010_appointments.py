"""appointments: centre schedules, slots, bookings and the waitlist; the email outbox

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 01:20:57.144240
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op


import idsvc.db

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('wrapped_key', sa.LargeBinary(), nullable=False),
    sa.Column('sealed', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', idsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', idsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', idsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_next_attempt_at'), ['next_attempt_at'], unique=False)

    op.create_table('appointment_slots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('centre_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('starts_at', idsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', idsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('booked', sa.Integer(), nullable=False),
    sa.Column('released_at', idsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['centre_id'], ['service_centres.id'], name=op.f('fk_appointment_slots_centre_id_service_centres')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_slots')),
    sa.UniqueConstraint('centre_id', 'starts_at', name='uq_appointment_slots_centre_start')
    )
    with op.batch_alter_table('appointment_slots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appointment_slots_centre_id'), ['centre_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointment_slots_day'), ['day'], unique=False)

    op.create_table('centre_closures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('centre_id', sa.Integer(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', idsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['centre_id'], ['service_centres.id'], name=op.f('fk_centre_closures_centre_id_service_centres')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_centre_closures'))
    )
    with op.batch_alter_table('centre_closures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_centre_closures_centre_id'), ['centre_id'], unique=False)

    op.create_table('centre_schedules',
    sa.Column('centre_id', sa.Integer(), nullable=False),
    sa.Column('languages', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('slot_minutes', sa.Integer(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('release_weekday', sa.Integer(), nullable=True),
    sa.Column('release_time', sa.Time(), nullable=True),
    sa.Column('release_weeks_ahead', sa.Integer(), nullable=True),
    sa.Column('updated_at', idsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['centre_id'], ['service_centres.id'], name=op.f('fk_centre_schedules_centre_id_service_centres')),
    sa.PrimaryKeyConstraint('centre_id', name=op.f('pk_centre_schedules'))
    )
    op.create_table('opening_hours',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('centre_id', sa.Integer(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('opens', sa.Time(), nullable=False),
    sa.Column('closes', sa.Time(), nullable=False),
    sa.ForeignKeyConstraint(['centre_id'], ['service_centres.id'], name=op.f('fk_opening_hours_centre_id_service_centres')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_opening_hours'))
    )
    with op.batch_alter_table('opening_hours', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opening_hours_centre_id'), ['centre_id'], unique=False)

    op.create_table('appointments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('centre_id', sa.Integer(), nullable=True),
    sa.Column('slot_id', sa.Integer(), nullable=True),
    sa.Column('language', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('requested_at', idsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('wait_from', sa.Date(), nullable=True),
    sa.Column('wait_until', sa.Date(), nullable=True),
    sa.Column('email_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('phone_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('wrapped_key', sa.LargeBinary(), nullable=False),
    sa.Column('personal', sa.LargeBinary(), nullable=True),
    sa.Column('reminded_at', idsvc.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', idsvc.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['centre_id'], ['service_centres.id'], name=op.f('fk_appointments_centre_id_service_centres')),
    sa.ForeignKeyConstraint(['slot_id'], ['appointment_slots.id'], name=op.f('fk_appointments_slot_id_appointment_slots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appointments')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_appointments_code_hash'))
    )
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_appointments_centre_id'), ['centre_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointments_email_key'), ['email_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointments_phone_key'), ['phone_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointments_slot_id'), ['slot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_appointments_state'), ['state'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('appointments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appointments_state'))
        batch_op.drop_index(batch_op.f('ix_appointments_slot_id'))
        batch_op.drop_index(batch_op.f('ix_appointments_phone_key'))
        batch_op.drop_index(batch_op.f('ix_appointments_email_key'))
        batch_op.drop_index(batch_op.f('ix_appointments_centre_id'))

    op.drop_table('appointments')
    with op.batch_alter_table('opening_hours', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opening_hours_centre_id'))

    op.drop_table('opening_hours')
    op.drop_table('centre_schedules')
    with op.batch_alter_table('centre_closures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_centre_closures_centre_id'))

    op.drop_table('centre_closures')
    with op.batch_alter_table('appointment_slots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_appointment_slots_day'))
        batch_op.drop_index(batch_op.f('ix_appointment_slots_centre_id'))

    op.drop_table('appointment_slots')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_next_attempt_at'))

    op.drop_table('outbox')
