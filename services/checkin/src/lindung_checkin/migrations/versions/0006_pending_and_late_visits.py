"""Offline visits to a venue not known yet are held, not rejected; late visits are queued for
re-matching.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25

A phone can upload an offline visit to a venue whose registration has not reached this
service yet (the registry's ``venue.registered`` is still on its way). The QR code's signature
proves the venue exists, and the visit happened: rejecting it (``venue-not-found``) lost it for
tracing. Such a visit is now kept in ``pending_offline_visits`` and recorded by
``checkin_replay_pending`` as soon as the venue is known (the venues consumer calls it in the
transaction that stores the venue; a worker job catches any that slipped past).

Every visit that an offline upload records (directly or on replay) is also queued in
``late_visits``: a case may have been matched before the visit arrived, and the matcher's
re-match job (exposure branch) drains the queue against the cases it has already matched.

``checkin_scan`` is rebuilt from 0005's text with two more replacements, so the versions cannot
drift apart.
"""

import runpy
from pathlib import Path

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_V0005 = runpy.run_path(str(Path(__file__).with_name("0005_replay_under_person_lock.py")))

TABLES = (
    """
CREATE TABLE pending_offline_visits (
    person_id uuid NOT NULL,
    client_id text NOT NULL,
    visit_id uuid NOT NULL,
    venue_id uuid NOT NULL,
    qr_id uuid NULL,
    entrance text NULL,
    scanned_at timestamptz NOT NULL,
    rule_version text NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_pending_offline_visits PRIMARY KEY (person_id, client_id)
)""",
    "CREATE INDEX ix_pending_offline_visits_venue ON pending_offline_visits (venue_id)",
    """
CREATE TABLE late_visits (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    visit_id uuid NOT NULL,
    person_id uuid NOT NULL,
    venue_id uuid NOT NULL,
    stay_start timestamptz NOT NULL,
    stay_end timestamptz NOT NULL,
    queued_at timestamptz NOT NULL DEFAULT now()
)""",
)

_UNKNOWN_VENUE = """    SELECT * INTO v FROM venues vn WHERE vn.venue_id = p_venue;
    IF NOT FOUND THEN
        o_outcome := 'unknown_venue';
        RETURN;
    END IF;"""

_HOLD_PENDING = """    SELECT * INTO v FROM venues vn WHERE vn.venue_id = p_venue;
    IF NOT FOUND THEN
        IF p_source <> 'offline' OR p_client_id IS NULL THEN
            o_outcome := 'unknown_venue';
            RETURN;
        END IF;
        -- A signed code of a venue not known here yet: the visit is held until the venue's
        -- event arrives (checkin_replay_pending). A retry answers with the same visit id.
        INSERT INTO pending_offline_visits (person_id, client_id, visit_id, venue_id, qr_id,
                                            entrance, scanned_at, rule_version)
        VALUES (p_person, p_client_id, p_visit_id, p_venue, p_qr, p_entrance, p_at,
                p_rule_version)
        ON CONFLICT (person_id, client_id) DO NOTHING;
        SELECT pv.visit_id, pv.scanned_at INTO o_visit_id, o_checked_in_at
        FROM pending_offline_visits pv
        WHERE pv.person_id = p_person AND pv.client_id = p_client_id;
        o_outcome := 'pending';
        RETURN;
    END IF;"""

_CLIENT_IDS = """    IF p_client_id IS NOT NULL THEN
        INSERT INTO client_ids"""

_QUEUE_LATE = """    IF p_source = 'offline' AND o_outcome IN ('recorded', 'admitted') THEN
        INSERT INTO late_visits (visit_id, person_id, venue_id, stay_start, stay_end)
        VALUES (o_visit_id, p_person, p_venue, p_at, o_auto_checkout_at);
    END IF;
""" + _CLIENT_IDS

REPLAY = """
CREATE FUNCTION checkin_replay_pending(p_venue uuid, p_limit integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    r pending_offline_visits%ROWTYPE;
    n integer := 0;
    day date;
BEGIN
    FOR r IN
        SELECT pv.* FROM pending_offline_visits pv
        JOIN venues vn ON vn.venue_id = pv.venue_id
        WHERE p_venue IS NULL OR pv.venue_id = p_venue
        ORDER BY pv.person_id, pv.scanned_at
        LIMIT p_limit
        FOR UPDATE OF pv SKIP LOCKED
    LOOP
        day := (r.scanned_at AT TIME ZONE 'UTC')::date;
        IF to_regclass('visits_p' || to_char(day, 'YYYYMMDD')) IS NULL THEN
            PERFORM checkin_ensure_partitions(day);
        END IF;
        -- Late by now whatever it was at upload: occupancy and current visits stay untouched.
        PERFORM checkin_scan(r.person_id, r.venue_id, r.qr_id, r.entrance, r.scanned_at,
                             r.client_id, 'offline', false, r.rule_version, r.visit_id);
        DELETE FROM pending_offline_visits pv
        WHERE pv.person_id = r.person_id AND pv.client_id = r.client_id;
        n := n + 1;
    END LOOP;
    RETURN n;
END $$
"""


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"migration 0006 expected exactly one {old!r}"
    return text.replace(old, new)


def _scan(hold_pending: bool) -> str:
    sql: str = _V0005["_scan"](lock_first=True)
    if hold_pending:
        sql = _replace_once(sql, _UNKNOWN_VENUE, _HOLD_PENDING)
        sql = _replace_once(sql, _CLIENT_IDS, _QUEUE_LATE)
    return sql


def upgrade() -> None:
    for statement in TABLES:
        op.execute(statement)
    op.execute(_scan(hold_pending=True))
    op.execute(REPLAY)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS checkin_replay_pending(uuid, integer)")
    op.execute(_scan(hold_pending=False))
    op.execute("DROP TABLE IF EXISTS late_visits")
    op.execute("DROP TABLE IF EXISTS pending_offline_visits")
