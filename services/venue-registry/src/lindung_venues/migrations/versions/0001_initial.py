"""venues, QR codes and keys, zones, capacity rules

Revision ID: 0001
Revises:
Create Date: 2026-11-25 21:02:01.885938
"""

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from lindung_shared.outbox import create_plumbing, drop_plumbing

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('capacity_rules',
    sa.Column('category', sa.Text(), nullable=False),
    sa.Column('level_1', sa.SmallInteger(), nullable=False),
    sa.Column('level_2', sa.SmallInteger(), nullable=False),
    sa.Column('level_3', sa.SmallInteger(), nullable=False),
    sa.Column('level_4', sa.SmallInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_by', sa.Text(), nullable=False),
    sa.CheckConstraint('level_1 BETWEEN 1 AND 100', name=op.f('ck_capacity_rules_level_1_percent')),
    sa.CheckConstraint('level_2 BETWEEN 1 AND 100', name=op.f('ck_capacity_rules_level_2_percent')),
    sa.CheckConstraint('level_3 BETWEEN 1 AND 100', name=op.f('ck_capacity_rules_level_3_percent')),
    sa.CheckConstraint('level_4 BETWEEN 1 AND 100', name=op.f('ck_capacity_rules_level_4_percent')),
    sa.PrimaryKeyConstraint('category', name=op.f('pk_capacity_rules'))
    )
    create_plumbing(op)
    op.create_table('qr_signing_keys',
    sa.Column('key_id', sa.Text(), nullable=False),
    sa.Column('public_key', sa.LargeBinary(), nullable=False),
    sa.Column('private_key_encrypted', sa.LargeBinary(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retiring_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('active', 'retiring', 'retired')", name=op.f('ck_qr_signing_keys_status_known')),
    sa.PrimaryKeyConstraint('key_id', name=op.f('pk_qr_signing_keys'))
    )
    op.create_index('uq_qr_signing_keys_one_active', 'qr_signing_keys', ['status'], unique=True, postgresql_where=sa.text("status = 'active'"))
    op.create_table('venues',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('manager_id', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('category', sa.Text(), nullable=False),
    sa.Column('address', sa.Text(), nullable=False),
    sa.Column('regency_code', sa.Text(), nullable=False),
    sa.Column('timezone', sa.Text(), nullable=False),
    sa.Column('latitude', sa.Double(), nullable=False),
    sa.Column('longitude', sa.Double(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('effective_capacity', sa.Integer(), nullable=False),
    sa.Column('max_stay_minutes', sa.Integer(), nullable=False),
    sa.Column('opening_hours', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('entrances', postgresql.ARRAY(sa.Text()), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('active', 'closed')", name=op.f('ck_venues_status_known')),
    sa.CheckConstraint('capacity > 0', name=op.f('ck_venues_capacity_positive')),
    sa.CheckConstraint('effective_capacity > 0', name=op.f('ck_venues_effective_capacity_positive')),
    sa.CheckConstraint('latitude BETWEEN -90 AND 90', name=op.f('ck_venues_latitude_range')),
    sa.CheckConstraint('longitude BETWEEN -180 AND 180', name=op.f('ck_venues_longitude_range')),
    sa.CheckConstraint('max_stay_minutes > 0', name=op.f('ck_venues_max_stay_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_venues'))
    )
    op.create_index('ix_venues_category', 'venues', ['category'], unique=False)
    op.create_index('ix_venues_manager_created', 'venues', ['manager_id', 'created_at'], unique=False)
    op.create_index('ix_venues_regency_code', 'venues', ['regency_code'], unique=False)
    op.create_table('zone_history',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('regency_code', sa.Text(), nullable=False),
    sa.Column('level', sa.SmallInteger(), nullable=False),
    sa.Column('previous_level', sa.SmallInteger(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_by', sa.Text(), nullable=False),
    sa.CheckConstraint('level BETWEEN 1 AND 4', name=op.f('ck_zone_history_level_range')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_zone_history'))
    )
    op.create_index('ix_zone_history_regency_changed', 'zone_history', ['regency_code', 'changed_at'], unique=False)
    op.create_table('zones',
    sa.Column('regency_code', sa.Text(), nullable=False),
    sa.Column('level', sa.SmallInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.Text(), nullable=False),
    sa.CheckConstraint('level BETWEEN 1 AND 4', name=op.f('ck_zones_level_range')),
    sa.PrimaryKeyConstraint('regency_code', name=op.f('pk_zones'))
    )
    op.create_table('qr_codes',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('venue_id', sa.UUID(), nullable=False),
    sa.Column('entrance', sa.Text(), nullable=False),
    sa.Column('key_id', sa.Text(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['key_id'], ['qr_signing_keys.key_id'], name=op.f('fk_qr_codes_key_id_qr_signing_keys')),
    sa.ForeignKeyConstraint(['venue_id'], ['venues.id'], name=op.f('fk_qr_codes_venue_id_venues')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qr_codes'))
    )
    op.create_index(op.f('ix_qr_codes_venue_id'), 'qr_codes', ['venue_id'], unique=False)
    op.create_index('uq_qr_codes_live_entrance', 'qr_codes', ['venue_id', 'entrance'], unique=True, postgresql_where=sa.text('revoked_at IS NULL'))


def downgrade() -> None:
    op.drop_index('uq_qr_codes_live_entrance', table_name='qr_codes', postgresql_where=sa.text('revoked_at IS NULL'))
    op.drop_index(op.f('ix_qr_codes_venue_id'), table_name='qr_codes')
    op.drop_table('qr_codes')
    op.drop_table('zones')
    op.drop_index('ix_zone_history_regency_changed', table_name='zone_history')
    op.drop_table('zone_history')
    op.drop_index('ix_venues_regency_code', table_name='venues')
    op.drop_index('ix_venues_manager_created', table_name='venues')
    op.drop_index('ix_venues_category', table_name='venues')
    op.drop_table('venues')
    op.drop_index('uq_qr_signing_keys_one_active', table_name='qr_signing_keys', postgresql_where=sa.text("status = 'active'"))
    op.drop_table('qr_signing_keys')
    drop_plumbing(op)
    op.drop_table('capacity_rules')
