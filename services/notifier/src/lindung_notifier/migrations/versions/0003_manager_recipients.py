"""Venue managers' notifications move to their own namespace (``manager:<id>``), apart from
people's ids (lindung_notifier.recipients.identity).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 14:20:00
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_MANAGER_KINDS = "('venue_case', 'venue_case_correction', 'crowding')"


def upgrade() -> None:
    op.execute(
        "UPDATE notifications SET recipient = 'manager:' || recipient "
        f"WHERE kind IN {_MANAGER_KINDS} AND recipient NOT LIKE 'manager:%'"
    )


def downgrade() -> None:
    op.execute(
        "UPDATE notifications SET recipient = substr(recipient, 9) "
        f"WHERE kind IN {_MANAGER_KINDS} AND recipient LIKE 'manager:%'"
    )
