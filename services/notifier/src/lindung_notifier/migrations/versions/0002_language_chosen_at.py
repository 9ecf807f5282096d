"""Recipients: when the language was last chosen, apart from when the phone changed.

Also converges databases created by the first draft of 0001 (two indexes since dropped).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 21:55:00
"""

from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        'recipients',
        sa.Column(
            'language_updated_at',
            sa.DateTime(timezone=True),
            server_default=sa.text('now()'),
            nullable=False,
        ),
    )
    op.execute("UPDATE recipients SET language_updated_at = updated_at")
    op.execute("DROP INDEX IF EXISTS ix_deliveries_notification")
    op.execute("ALTER TABLE notifications DROP CONSTRAINT IF EXISTS uq_notifications_seq")


def downgrade() -> None:
    op.drop_column('recipients', 'language_updated_at')
