"""People: when the phone was proven (a NIK is bound to a phone only then), and the token
generation (raising it revokes every token issued before).

People registered before this revision proved nothing but kept their accounts: they count as
verified from their registration (officers re-bind a stolen NIK with the recovery route).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("people", sa.Column("phone_verified_at", sa.DateTime(timezone=True)))
    op.add_column(
        "people",
        sa.Column("token_generation", sa.Integer(), nullable=False, server_default="0"),
    )
    op.execute("UPDATE people SET phone_verified_at = created_at")


def downgrade() -> None:
    op.drop_column("people", "token_generation")
    op.drop_column("people", "phone_verified_at")
