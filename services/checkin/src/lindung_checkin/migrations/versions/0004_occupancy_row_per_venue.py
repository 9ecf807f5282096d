"""Every venue has its occupancy row, however the venue row was written.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

The capacity check is a conditional update of the venue's ``venue_occupancy`` row; a venue
without that row would look permanently full. The venue consumer creates it, and this trigger
guarantees it for any other writer (fixtures, backfills, the matcher's tests).
"""

from alembic import op

from lindung_checkin import sql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sql.current("checkin_venue_occupancy_row", "2fd0b9f15492fe79"))
    op.execute(
        "CREATE TRIGGER venues_occupancy_row AFTER INSERT ON venues "
        "FOR EACH ROW EXECUTE FUNCTION checkin_venue_occupancy_row()"
    )
    op.execute(
        "INSERT INTO venue_occupancy (venue_id) SELECT venue_id FROM venues "
        "ON CONFLICT DO NOTHING"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS venues_occupancy_row ON venues")
    op.execute("DROP FUNCTION IF EXISTS checkin_venue_occupancy_row()")
