"""Re-matching of late visits (the traced window is kept with each case); case visits are
retracted with their case.

Revision ID: e0002
Revises: e0001
Create Date: 2026-11-25

A visit uploaded from a phone after its person's (or a fellow visitor's) case was matched must
still be matched. The re-match job (``lindung_checkin.exposure.rematch``) drains the
``late_visits`` queue (main branch, 0006) against the cases already matched; to re-run a case it
needs the window the first match traced, which depended on the event's sample time. Cases
matched before this revision fall back to their infectious window.

``reported_case_visits.retracted_at``: a retracted case now withdraws the venue alerts it
raised (``venue.case_visit_retracted``, once per visit), as it already did its exposures.
"""

from __future__ import annotations

from alembic import op

revision = "e0002"
down_revision = "e0001"
branch_labels = None
depends_on = "0006"

_UP = (
    "ALTER TABLE exposure_cases ADD COLUMN traced_from timestamptz, "
    "ADD COLUMN traced_until timestamptz",
    "CREATE INDEX ix_exposure_cases_person ON exposure_cases (person_id)",
    "CREATE INDEX ix_reported_case_visits_venue ON reported_case_visits (venue_id, visit_start)",
    "ALTER TABLE reported_case_visits ADD COLUMN retracted_at timestamptz",
)

_DOWN = (
    "ALTER TABLE reported_case_visits DROP COLUMN retracted_at",
    "DROP INDEX ix_reported_case_visits_venue",
    "DROP INDEX ix_exposure_cases_person",
    "ALTER TABLE exposure_cases DROP COLUMN traced_until, DROP COLUMN traced_from",
)


def upgrade() -> None:
    for statement in _UP:
        op.execute(statement)


def downgrade() -> None:
    for statement in _DOWN:
        op.execute(statement)
