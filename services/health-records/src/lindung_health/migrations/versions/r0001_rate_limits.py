"""Rate-limit counters (lindung_shared.ratelimit): one row per limit, key and window.

Revision ID: r0001
Revises:
Create Date: 2026-12-03 14:00:00
"""

from alembic import op
from lindung_shared import ratelimit

revision = "r0001"
down_revision = None
branch_labels = ("ratelimit",)
depends_on = "0001"


def upgrade() -> None:
    ratelimit.create_table(op)


def downgrade() -> None:
    op.drop_table(ratelimit.TABLE)
