"""Health records: people, sign-in codes, FHIR records, cases, exposures, status, rules,
the append-only officer audit log, and the outbox plumbing.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 21:01:55
"""

import json

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from lindung_shared.outbox import create_plumbing, drop_plumbing

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


# The rule version in force until an officer publishes another (frozen here on purpose:
# later defaults are new rule versions, not edits of this migration).
DEFAULT_RULE_ID = "2020-01-v1"
DEFAULT_RULE_PARAMETERS = {
    "isolation_days": 10,
    "isolation_ends_with_negative_pcr": True,
    "infectious_days_before_sample": 2,
    "infectious_days_after_sample": 10,
    "quarantine_days": 14,
    "quarantine_release_test_min_day": 5,
    "quarantine_release_test_types": ["pcr", "antigen"],
    "pcr_valid_hours": 72,
    "antigen_valid_hours": 24,
    "negative_test_gives_green": True,
    "doses_for_full": 2,
    "full_protection_after_days": 0,
    "booster_dose_number": 3,
    "child_age_years": 12,
    "children_exempt_from_vaccination": True,
}

APPEND_ONLY_SQL = (
    """
    CREATE OR REPLACE FUNCTION lindung_refuse_change() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'table % is append-only', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER officer_audit_append_only BEFORE UPDATE OR DELETE ON officer_audit
    FOR EACH ROW EXECUTE FUNCTION lindung_refuse_change()
    """,
    """
    CREATE TRIGGER officer_audit_no_truncate BEFORE TRUNCATE ON officer_audit
    FOR EACH STATEMENT EXECUTE FUNCTION lindung_refuse_change()
    """,
)


def upgrade() -> None:
    create_plumbing(op)
    op.create_table('officer_audit',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('officer_id', sa.Text(), nullable=False),
    sa.Column('person_id', sa.UUID(), nullable=True),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_officer_audit'))
    )
    op.create_index('ix_officer_audit_at', 'officer_audit', ['at'], unique=False)
    op.create_index('ix_officer_audit_person_id', 'officer_audit', ['person_id'], unique=False)
    op.create_table('people',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('nik_hash', sa.LargeBinary(), nullable=False),
    sa.Column('nik_ciphertext', sa.LargeBinary(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=False),
    sa.Column('sex', sa.Text(), nullable=False),
    sa.Column('regency_code', sa.Text(), nullable=False),
    sa.Column('phone_e164', sa.Text(), nullable=False),
    sa.Column('language', sa.Text(), server_default='id', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_people')),
    sa.UniqueConstraint('nik_hash', name=op.f('uq_people_nik_hash'))
    )
    op.create_index('ix_people_phone_e164', 'people', ['phone_e164'], unique=False)
    op.create_table('screening_rules',
    sa.Column('id', sa.Text(), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_to', sa.DateTime(timezone=True), nullable=True),
    sa.Column('parameters', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('created_by', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_screening_rules'))
    )
    op.create_table('exposures',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('person_id', sa.UUID(), nullable=False),
    sa.Column('case_ref', sa.Text(), nullable=False),
    sa.Column('venue_id', sa.UUID(), nullable=False),
    sa.Column('overlap_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('overlap_end', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('retracted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_exposures_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exposures'))
    )
    op.create_index('ix_exposures_person_id', 'exposures', ['person_id'], unique=False)
    op.create_table('health_records',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('source_key', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('resource_type', sa.Text(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('nik_hash', sa.LargeBinary(), nullable=False),
    sa.Column('person_id', sa.UUID(), nullable=True),
    sa.Column('fhir_status', sa.Text(), nullable=False),
    sa.Column('retracted', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('version_id', sa.Text(), nullable=True),
    sa.Column('last_updated', sa.DateTime(timezone=True), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('vaccine_system', sa.Text(), nullable=True),
    sa.Column('vaccine_code', sa.Text(), nullable=True),
    sa.Column('dose_number', sa.Integer(), nullable=True),
    sa.Column('test_type', sa.Text(), nullable=True),
    sa.Column('loinc_code', sa.Text(), nullable=True),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('resource', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_health_records_person_id_people'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_health_records')),
    sa.UniqueConstraint('source_key', name=op.f('uq_health_records_source_key'))
    )
    op.create_index('ix_health_records_nik_hash', 'health_records', ['nik_hash'], unique=False)
    op.create_index('ix_health_records_person_id', 'health_records', ['person_id'], unique=False)
    op.create_table('person_status',
    sa.Column('person_id', sa.UUID(), nullable=False),
    sa.Column('colour', sa.Text(), nullable=False),
    sa.Column('reasons', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rule_version', sa.Text(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_person_status_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_person_status'))
    )
    op.create_index('ix_person_status_due_at', 'person_status', ['due_at'], unique=False, postgresql_where=sa.text('due_at IS NOT NULL'))
    op.create_table('sign_in_codes',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('person_id', sa.UUID(), nullable=False),
    sa.Column('code_hash', sa.LargeBinary(), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('consumed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_sign_in_codes_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sign_in_codes'))
    )
    op.create_index('ix_sign_in_codes_person_id', 'sign_in_codes', ['person_id', 'created_at'], unique=False)
    op.create_table('status_history',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('person_id', sa.UUID(), nullable=False),
    sa.Column('colour', sa.Text(), nullable=False),
    sa.Column('previous_colour', sa.Text(), nullable=True),
    sa.Column('reasons', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rule_version', sa.Text(), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_status_history_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_history'))
    )
    op.create_index('ix_status_history_person_id', 'status_history', ['person_id', 'changed_at'], unique=False)
    op.create_table('cases',
    sa.Column('id', sa.UUID(), nullable=False),
    sa.Column('case_ref', sa.Text(), nullable=False),
    sa.Column('person_id', sa.UUID(), nullable=False),
    sa.Column('record_id', sa.UUID(), nullable=False),
    sa.Column('sample_taken_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('infectious_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('infectious_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retracted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_cases_person_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['record_id'], ['health_records.id'], name=op.f('fk_cases_record_id_health_records'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('case_ref', name=op.f('uq_cases_case_ref'))
    )
    op.create_index('ix_cases_person_id', 'cases', ['person_id'], unique=False)
    op.create_index('uq_cases_active_record', 'cases', ['record_id'], unique=True, postgresql_where=sa.text('retracted_at IS NULL'))
    for statement in APPEND_ONLY_SQL:
        op.execute(statement)
    op.execute(
        sa.text(
            "INSERT INTO screening_rules (id, valid_from, valid_to, parameters, description, created_by) "
            "VALUES (:id, '2020-01-01T00:00:00Z', NULL, CAST(:parameters AS jsonb), :description, 'migration')"
        ).bindparams(
            id=DEFAULT_RULE_ID,
            parameters=json.dumps(DEFAULT_RULE_PARAMETERS),
            description="Defaults of the domain brief",
        )
    )


def downgrade() -> None:
    op.drop_index('uq_cases_active_record', table_name='cases', postgresql_where=sa.text('retracted_at IS NULL'))
    op.drop_index('ix_cases_person_id', table_name='cases')
    op.drop_table('cases')
    op.drop_index('ix_status_history_person_id', table_name='status_history')
    op.drop_table('status_history')
    op.drop_index('ix_sign_in_codes_person_id', table_name='sign_in_codes')
    op.drop_table('sign_in_codes')
    op.drop_index('ix_person_status_due_at', table_name='person_status', postgresql_where=sa.text('due_at IS NOT NULL'))
    op.drop_table('person_status')
    op.drop_index('ix_health_records_person_id', table_name='health_records')
    op.drop_index('ix_health_records_nik_hash', table_name='health_records')
    op.drop_table('health_records')
    op.drop_index('ix_exposures_person_id', table_name='exposures')
    op.drop_table('exposures')
    op.drop_table('screening_rules')
    op.drop_index('ix_people_phone_e164', table_name='people')
    op.drop_table('people')
    op.drop_index('ix_officer_audit_person_id', table_name='officer_audit')
    op.drop_index('ix_officer_audit_at', table_name='officer_audit')
    op.drop_table('officer_audit')
    op.execute("DROP FUNCTION IF EXISTS lindung_refuse_change()")
    drop_plumbing(op)
