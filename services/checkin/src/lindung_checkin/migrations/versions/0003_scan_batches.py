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

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCAN_BATCH = """
CREATE FUNCTION checkin_scan_batch(
    p_persons uuid[],
    p_venues uuid[],
    p_qrs uuid[],
    p_entrances text[],
    p_ats timestamptz[],
    p_client_ids text[],
    p_sources text[],
    p_lives boolean[],
    p_rule_version text,
    p_visit_ids uuid[]
)
RETURNS TABLE (
    o_index integer,
    o_outcome text,
    o_visit_id uuid,
    o_reason text,
    o_colour text,
    o_present integer,
    o_capacity integer,
    o_venue_name text,
    o_zone_level integer,
    o_checked_in_at timestamptz,
    o_auto_checkout_at timestamptz,
    o_replayed boolean,
    o_closed_visit_id uuid,
    o_closed_venue_id uuid
)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    i integer;
BEGIN
    PERFORM pg_advisory_xact_lock(k)
    FROM (SELECT DISTINCT hashtextextended(p::text, 7) AS k FROM unnest(p_persons) AS p) AS keys
    ORDER BY k;
    PERFORM 1 FROM open_visits ov WHERE ov.person_id = ANY(p_persons)
    ORDER BY ov.person_id FOR UPDATE;
    PERFORM 1 FROM venue_occupancy vo
    WHERE vo.venue_id IN (
        SELECT unnest(p_venues)
        UNION
        SELECT ov.venue_id FROM open_visits ov WHERE ov.person_id = ANY(p_persons)
    )
    ORDER BY vo.venue_id FOR UPDATE;
    FOR i IN 1 .. coalesce(array_length(p_persons, 1), 0) LOOP
        RETURN QUERY SELECT i, s.* FROM checkin_scan(
            p_persons[i], p_venues[i], p_qrs[i], p_entrances[i], p_ats[i], p_client_ids[i],
            p_sources[i], p_lives[i], p_rule_version, p_visit_ids[i]) AS s;
    END LOOP;
END $$
"""


def upgrade() -> None:
    op.execute(SCAN_BATCH)


def downgrade() -> None:
    op.execute(
        "DROP FUNCTION IF EXISTS checkin_scan_batch(uuid[], uuid[], uuid[], text[], "
        "timestamptz[], text[], text[], boolean[], text, uuid[])"
    )
