"""The check-in as one database function: one round trip per scan.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

``checkin_scan`` does, in the single statement (and so the single transaction) the API
sends: idempotent replay by client id, venue and revocation checks, opening hours, screening
with the person's colour and the sector rules, checking the person out of an open visit
(same venue again = ``rescan``, another venue = ``elsewhere``), the exact capacity check as
ONE conditional update of ``venue_occupancy``, and the visit (or refused attempt) insert.

Row locks are always taken in the same order (the person's advisory lock, then occupancy rows
in venue id order) so concurrent scans never deadlock.
"""

from alembic import op

from lindung_checkin import sql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

OPEN_UNTIL = sql.current("checkin_open_until", "9ec90f60372b66fe")
SCAN = sql.version("checkin_scan", "0002")
CHECKOUT = sql.version("checkin_checkout", "0002")
# Partitions are created detached and then attached: ATTACH PARTITION takes only a SHARE
# UPDATE EXCLUSIVE lock on the parent, so creating tomorrow's partition never blocks check-ins.
ENSURE_PARTITIONS = sql.current("checkin_ensure_partitions", "461deb8499da0d2e")


def upgrade() -> None:
    op.execute(OPEN_UNTIL)
    op.execute(SCAN)
    op.execute(CHECKOUT)
    op.execute(ENSURE_PARTITIONS)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS checkin_checkout(uuid, uuid, timestamptz)")
    op.execute(
        "DROP FUNCTION IF EXISTS checkin_scan(uuid, uuid, uuid, text, timestamptz, text, text, "
        "boolean, text, uuid)"
    )
    op.execute("DROP FUNCTION IF EXISTS checkin_open_until(jsonb, text, timestamptz)")

