"""Scans in groups: many check-ins, one transaction, one WAL flush.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

A venue's occupancy row stays locked from the conditional update until the commit has been
flushed to disk, so one scan at a time per venue can commit: a venue's throughput is bounded
by the WAL flush latency. The API therefore groups the scans that arrive while earlier ones
are in flight and sends them as ONE statement, ``checkin_scan_batch``, which runs
``checkin_scan`` for each in order inside one transaction: one flush (and one hold of each
venue row) for the whole group, and every answer still sent only after that commit.

Deadlock freedom: before any per-scan work the batch takes, in a global order, first the
persons' advisory locks (by lock key), then their open-visit rows, then every occupancy row it
may touch (by venue id): the same order as a single scan, the explicit check-out and the
sweeper (which never waits for open-visit rows: SKIP LOCKED).
"""

from alembic import op

from lindung_checkin import sql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCAN_BATCH = sql.version("checkin_scan_batch", "0003")


def upgrade() -> None:
    op.execute(SCAN_BATCH)


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION IF EXISTS checkin_scan_batch(uuid[], uuid[], uuid[], text[], "
        "timestamptz[], text[], text[], boolean[], text, uuid[])"
    )
