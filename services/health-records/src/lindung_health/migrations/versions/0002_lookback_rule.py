"""The seed's 14-day look-back becomes the default rule; earlier rule versions keep their
meaning.

Rule parameters gained ``contact_window`` (``lookback`` | ``infectious_period``) and
``lookback_days``. Every version stored before this migration traced from the infectious
period (``infectious_days_before_sample`` before the sample): that is written into its
parameters explicitly, so reading it with the new defaults does not change what it decides.
Then ``2020-01-v2`` (the seed: contacts of the last 14 days before the sample) takes over from
the seeded ``2020-01-v1`` one second after it started; a version an officer published later
still wins by its ``valid_from``. Statuses are made due so each records the version in force.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

RULE_ID = "2020-01-v2"
# Frozen here on purpose, like 0001's: later defaults are new rule versions.
RULE_PARAMETERS = {
    "isolation_days": 10,
    "isolation_ends_with_negative_pcr": True,
    "contact_window": "lookback",
    "lookback_days": 14,
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


def upgrade() -> None:
    op.execute(
        "UPDATE screening_rules SET parameters = parameters "
        "|| '{\"contact_window\": \"infectious_period\", \"lookback_days\": 14}'::jsonb "
        "WHERE NOT parameters ? 'contact_window'"
    )
    op.execute(
        sa.text(
            "INSERT INTO screening_rules (id, valid_from, valid_to, parameters, description, "
            "created_by) VALUES (:id, '2020-01-01T00:00:01Z', NULL, CAST(:parameters AS jsonb), "
            ":description, 'migration') ON CONFLICT (id) DO NOTHING"
        ).bindparams(
            id=RULE_ID,
            parameters=json.dumps(RULE_PARAMETERS),
            description=(
                "The seed: close contacts of the last 14 days before the sample "
                "(2020-01-v1 traced only the infectious period, 2 days before it)"
            ),
        )
    )
    op.execute("UPDATE person_status SET due_at = now() WHERE due_at IS NULL OR due_at > now()")


def downgrade() -> None:
    op.execute(f"DELETE FROM screening_rules WHERE id = '{RULE_ID}' AND created_by = 'migration'")
    op.execute(
        "UPDATE screening_rules SET parameters = parameters - 'contact_window' - 'lookback_days' "
        "WHERE parameters->>'contact_window' = 'infectious_period'"
    )
