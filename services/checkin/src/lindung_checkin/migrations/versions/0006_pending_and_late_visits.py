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

``checkin_scan`` gains the hold and the queueing (``sql/checkin_scan.sql``; the text before is
``sql/versions/checkin_scan.0005.sql``).
"""

from alembic import op

from lindung_checkin import sql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

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

SCAN = sql.version("checkin_scan", "0006")
REPLAY = sql.version("checkin_replay_pending", "0006")


def upgrade() -> None:
    for statement in TABLES:
        op.execute(statement)
    op.execute(SCAN)
    op.execute(REPLAY)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS checkin_replay_pending(uuid, integer)")
    op.execute(sql.version("checkin_scan", "0005"))
    op.execute("DROP TABLE IF EXISTS late_visits")
    op.execute("DROP TABLE IF EXISTS pending_offline_visits")
