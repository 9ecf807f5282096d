"""The per-person check-in limit is counted inside the scan group's statement.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03

Each check-in used to count its hit against ``checkins-per-person`` in a transaction of its
own before the scan (``lindung_shared.ratelimit``): a second commit, and so a second WAL
flush, per check-in, outside the group commit of the scans. ``checkin_scan_batch`` now takes
each scan's bucket and window and counts them in the group's own transaction; a scan beyond
the limit answers ``rate_limited`` and records nothing (the hit still counts). The counters
are the same rows the shared limiter keeps (same buckets), so uploads of offline batches,
which count through the shared limiter, and scans share one budget per person.

Text: ``sql/checkin_scan_batch.sql`` (before: ``sql/versions/checkin_scan_batch.0008.sql``).
"""

from alembic import op

from lindung_checkin import sql

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = "r0001"

_OLD_BATCH = (
    "checkin_scan_batch(uuid[], uuid[], uuid[], text[], timestamptz[], text[], text[], "
    "boolean[], text, uuid[], timestamptz[])"
)
_NEW_BATCH = (
    "checkin_scan_batch(uuid[], uuid[], uuid[], text[], timestamptz[], text[], text[], "
    "boolean[], text, uuid[], timestamptz[], text[], timestamptz[], integer, integer)"
)


def upgrade() -> None:
    op.execute(f"DROP FUNCTION {_OLD_BATCH}")
    op.execute(sql.current("checkin_scan_batch", "d0893b8d693f2acc"))


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {_NEW_BATCH}")
    op.execute(sql.version("checkin_scan_batch", "0008"))
