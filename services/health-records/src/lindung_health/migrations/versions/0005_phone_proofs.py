"""Sign-in codes also prove a new phone: a phone change by the person, or an officer's
recovery of a NIK bound to someone else's phone. The code row keeps why it was sent, the new
phone (sealed with AES-256-GCM, never in clear) and the officer who started a recovery.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "sign_in_codes",
        sa.Column("purpose", sa.Text(), nullable=False, server_default="sign-in"),
    )
    op.add_column("sign_in_codes", sa.Column("new_phone_ciphertext", sa.LargeBinary()))
    op.add_column("sign_in_codes", sa.Column("officer_id", sa.Text()))
    op.create_check_constraint(
        "purpose_known", "sign_in_codes", "purpose IN ('sign-in', 'phone-change', 'recovery')"
    )


def downgrade() -> None:
    op.drop_constraint("purpose_known", "sign_in_codes", type_="check")
    op.drop_column("sign_in_codes", "officer_id")
    op.drop_column("sign_in_codes", "new_phone_ciphertext")
    op.drop_column("sign_in_codes", "purpose")
