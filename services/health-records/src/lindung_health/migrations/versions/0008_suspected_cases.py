"""Suspected cases (PDP): one per provisional COVID-19 Condition, with its state (suspected,
confirmed by a case, ruled out). See docs/suspects.md.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_UP = (
    """
    CREATE TABLE suspected_cases (
        id uuid PRIMARY KEY,
        suspect_ref text NOT NULL CONSTRAINT uq_suspected_cases_suspect_ref UNIQUE,
        person_id uuid NOT NULL
            CONSTRAINT fk_suspected_cases_person_id_people REFERENCES people (id)
            ON DELETE CASCADE,
        record_id uuid NOT NULL
            CONSTRAINT fk_suspected_cases_record_id_health_records REFERENCES health_records (id)
            ON DELETE CASCADE,
        suspected_at timestamptz NOT NULL,
        traced_from timestamptz NOT NULL,
        traced_until timestamptz NOT NULL,
        flagged_at timestamptz NOT NULL,
        state text NOT NULL DEFAULT 'suspected'
            CONSTRAINT ck_suspected_cases_state
            CHECK (state IN ('suspected', 'confirmed', 'ruled_out')),
        -- Deferred: a batch may write the suspicion before the case that confirms it.
        case_id uuid CONSTRAINT fk_suspected_cases_case_id_cases REFERENCES cases (id)
            ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED,
        resolved_at timestamptz,
        resolution text
    )
    """,
    "CREATE INDEX ix_suspected_cases_person_id ON suspected_cases (person_id)",
    "CREATE UNIQUE INDEX uq_suspected_cases_open_record ON suspected_cases (record_id) "
    "WHERE state = 'suspected'",
    "COMMENT ON TABLE suspected_cases IS 'Suspected cases (PDP): a provisional COVID-19 "
    "Condition each; not a screening colour (docs/suspects.md).'",
)


def upgrade() -> None:
    for statement in _UP:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE suspected_cases")
