"""The append-only audit log (lindung_shared.audit): who did what, to what, when and why.

Its own branch ("audit"), so that it stands beside the service's other migrations.

Revision ID: a0001
Revises:
"""

from __future__ import annotations

from alembic import op
from lindung_shared.audit import create_audit_log, drop_audit_log

revision = "a0001"
down_revision = None
branch_labels = ("audit",)
depends_on = None


def upgrade() -> None:
    create_audit_log(op)


def downgrade() -> None:
    drop_audit_log(op)
