"""Offline visits carry their check-out.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

A phone that checked in and out while offline uploads both: a batch item may carry
``checked_out_at``. ``checkin_scan`` gains ``p_checked_out_at``: a late offline visit is
recorded with it (``explicit``), or with its automatic check-out when that came first, and is
queued for re-matching with that end; ``checkin_scan_batch`` passes one per scan; held items
keep it (``pending_offline_visits`` / ``unverified_offline_scans``) until they are recorded.
The texts are ``sql/checkin_scan.sql``, ``sql/checkin_scan_batch.sql`` (now
``sql/versions/checkin_scan_batch.0008.sql``) and
``sql/checkin_replay_pending.sql`` (before: ``sql/versions/*.0006.sql`` / ``.0003.sql``).
"""

from alembic import op

from lindung_checkin import sql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_OLD_SCAN = (
    "checkin_scan(uuid, uuid, uuid, text, timestamptz, text, text, boolean, text, uuid)"
)
_OLD_BATCH = (
    "checkin_scan_batch(uuid[], uuid[], uuid[], text[], timestamptz[], text[], text[], "
    "boolean[], text, uuid[])"
)
_NEW_SCAN = (
    "checkin_scan(uuid, uuid, uuid, text, timestamptz, text, text, boolean, text, uuid, "
    "timestamptz)"
)
_NEW_BATCH = (
    "checkin_scan_batch(uuid[], uuid[], uuid[], text[], timestamptz[], text[], text[], "
    "boolean[], text, uuid[], timestamptz[])"
)


def upgrade() -> None:
    op.execute("ALTER TABLE pending_offline_visits ADD COLUMN checked_out_at timestamptz NULL")
    op.execute("ALTER TABLE unverified_offline_scans ADD COLUMN checked_out_at timestamptz NULL")
    op.execute(f"DROP FUNCTION {_OLD_BATCH}")
    op.execute(f"DROP FUNCTION {_OLD_SCAN}")
    op.execute(sql.version("checkin_scan", "0008"))
    op.execute(sql.version("checkin_scan_batch", "0008"))
    op.execute(sql.current("checkin_replay_pending", "9e43457899f2466f"))


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {_NEW_BATCH}")
    op.execute(f"DROP FUNCTION {_NEW_SCAN}")
    op.execute(sql.version("checkin_scan", "0006"))
    op.execute(sql.version("checkin_scan_batch", "0003"))
    op.execute(sql.version("checkin_replay_pending", "0006"))
    op.execute("ALTER TABLE unverified_offline_scans DROP COLUMN checked_out_at")
    op.execute("ALTER TABLE pending_offline_visits DROP COLUMN checked_out_at")
