"""Exposure matching: rules, the case ledger and the (case, contact) ledger.

A separate branch of the check-in migrations (label "exposure"), applied after "0001", which
creates the visits and venues tables this branch reads.

Revision ID: e0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

from alembic import op

revision = "e0001"
down_revision = None
branch_labels = ("exposure",)
depends_on = "0001"

_UP = (
    """
    CREATE TABLE exposure_rules (
        category text PRIMARY KEY,
        margin_before_minutes integer NOT NULL DEFAULT 0
            CONSTRAINT ck_exposure_rules_margin_before CHECK (margin_before_minutes >= 0),
        margin_after_minutes integer NOT NULL DEFAULT 0
            CONSTRAINT ck_exposure_rules_margin_after CHECK (margin_after_minutes >= 0),
        min_overlap_minutes numeric NOT NULL DEFAULT 0
            CONSTRAINT ck_exposure_rules_min_overlap CHECK (min_overlap_minutes >= 0),
        updated_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "COMMENT ON TABLE exposure_rules IS "
    "'Close-contact rule per venue category; the row ''*'' applies to every other category.'",
    "INSERT INTO exposure_rules (category) VALUES ('*')",
    """
    CREATE TABLE exposure_cases (
        case_id uuid PRIMARY KEY,
        case_ref text NOT NULL,
        person_id uuid NOT NULL,
        infectious_from timestamptz,
        infectious_until timestamptz,
        confirmed_at timestamptz,
        retracted_at timestamptz
    )
    """,
    """
    CREATE TABLE reported_exposures (
        case_id uuid NOT NULL,
        contact_person_id uuid NOT NULL,
        exposure_id uuid NOT NULL,
        case_ref text NOT NULL,
        venue_id uuid NOT NULL,
        case_visit_id uuid NOT NULL,
        overlap_start timestamptz NOT NULL,
        overlap_end timestamptz NOT NULL,
        overlap_minutes double precision NOT NULL,
        reported_at timestamptz NOT NULL DEFAULT now(),
        retracted_at timestamptz,
        CONSTRAINT pk_reported_exposures PRIMARY KEY (case_id, contact_person_id)
    )
    """,
    """
    CREATE TABLE reported_case_visits (
        case_id uuid NOT NULL,
        visit_id uuid NOT NULL,
        venue_id uuid NOT NULL,
        visit_start timestamptz NOT NULL,
        visit_end timestamptz NOT NULL,
        reported_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_reported_case_visits PRIMARY KEY (case_id, visit_id)
    )
    """,
)

_DOWN = (
    "DROP TABLE reported_case_visits",
    "DROP TABLE reported_exposures",
    "DROP TABLE exposure_cases",
    "DROP TABLE exposure_rules",
)


def upgrade() -> None:
    for statement in _UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in _DOWN:
        op.execute(statement)
