"""Suspected cases (PDP): the advisory ledger, as the case ledgers of e0001.

Revision ID: e0003
Revises: e0002
Create Date: 2026-12-03

``exposure_suspects`` is a suspicion as the matcher saw it (``suspect.flagged``), locked per
suspect while it is matched, ruled out or confirmed; ``reported_advisories`` holds one advisory
per (suspect, contact), marked withdrawn (ruled out) or upgraded (to the exposure of the case
that confirmed the suspect); ``reported_suspect_visits`` one venue alert per suspect visit.
"""

from __future__ import annotations

from alembic import op

revision = "e0003"
down_revision = "e0002"
branch_labels = None
depends_on = None

_UP = (
    """
    CREATE TABLE exposure_suspects (
        suspect_id uuid PRIMARY KEY,
        suspect_ref text NOT NULL,
        person_id uuid NOT NULL,
        traced_from timestamptz,
        traced_until timestamptz,
        flagged_at timestamptz,
        ruled_out_at timestamptz,
        confirmed_case_id uuid,
        confirmed_at timestamptz
    )
    """,
    """
    CREATE TABLE reported_advisories (
        suspect_id uuid NOT NULL,
        contact_person_id uuid NOT NULL,
        advisory_id uuid NOT NULL,
        suspect_ref text NOT NULL,
        venue_id uuid NOT NULL,
        case_visit_id uuid NOT NULL,
        overlap_start timestamptz NOT NULL,
        overlap_end timestamptz NOT NULL,
        overlap_minutes double precision NOT NULL,
        reported_at timestamptz NOT NULL DEFAULT now(),
        withdrawn_at timestamptz,
        upgraded_at timestamptz,
        exposure_id uuid,
        CONSTRAINT pk_reported_advisories PRIMARY KEY (suspect_id, contact_person_id)
    )
    """,
    """
    CREATE TABLE reported_suspect_visits (
        suspect_id uuid NOT NULL,
        visit_id uuid NOT NULL,
        venue_id uuid NOT NULL,
        visit_start timestamptz NOT NULL,
        visit_end timestamptz NOT NULL,
        reported_at timestamptz NOT NULL DEFAULT now(),
        withdrawn_at timestamptz,
        CONSTRAINT pk_reported_suspect_visits PRIMARY KEY (suspect_id, visit_id)
    )
    """,
)

_DOWN = (
    "DROP TABLE reported_suspect_visits",
    "DROP TABLE reported_advisories",
    "DROP TABLE exposure_suspects",
)


def upgrade() -> None:
    for statement in _UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in _DOWN:
        op.execute(statement)
