"""Initial check-in schema: visits (partitioned by day), local copies, occupancy, rules.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

The visits table is range-partitioned by ``checked_in_at`` with one partition per UTC day and
NO default partition: retention drops whole partitions, and a row for a day without a
partition is an error the API answers by creating the partition (``checkin_ensure_partitions``)
and retrying. Partitions from today-22 to today+3 are created here; the worker keeps creating
them ahead and drops those older than the retention.
"""

from alembic import op

from lindung_shared.outbox import create_plumbing, drop_plumbing

from lindung_checkin import sql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TABLES = """
CREATE TABLE visits (
    visit_id uuid NOT NULL,
    person_id uuid NOT NULL,
    venue_id uuid NOT NULL,
    qr_id uuid NULL,
    entrance text NULL,
    checked_in_at timestamptz NOT NULL,
    checked_out_at timestamptz NULL,
    auto_checkout_at timestamptz NOT NULL,
    checkout_method text NULL CHECK (checkout_method IN
        ('explicit', 'rescan', 'elsewhere', 'max_stay', 'closing', 'venue_closed')),
    client_id text NULL,
    source text NOT NULL CHECK (source IN ('online', 'offline')),
    colour text NOT NULL CHECK (colour IN ('black', 'red', 'yellow', 'green')),
    rule_version text NULL,
    counted boolean NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_visits PRIMARY KEY (visit_id, checked_in_at)
) PARTITION BY RANGE (checked_in_at);

CREATE INDEX ix_visits_person_checked_in ON visits (person_id, checked_in_at);
CREATE INDEX ix_visits_venue_checked_in ON visits (venue_id, checked_in_at)
    INCLUDE (person_id, checked_out_at, auto_checkout_at);

-- Refused attempts: statistics only (never presence); partitioned and retained like visits.
-- No person id is kept: a refusal is counted, not traced.
CREATE TABLE refused_attempts (
    attempt_id uuid NOT NULL,
    venue_id uuid NOT NULL,
    attempted_at timestamptz NOT NULL,
    colour text NOT NULL,
    reason text NOT NULL,
    rule_version text NULL,
    source text NOT NULL,
    CONSTRAINT pk_refused_attempts PRIMARY KEY (attempt_id, attempted_at)
) PARTITION BY RANGE (attempted_at);
CREATE INDEX ix_refused_attempts_venue ON refused_attempts (venue_id, attempted_at);

-- The person's current open visit (at most one): a primary-key look-up on the hot path, and
-- the sweeper's queue of automatic check-outs.
CREATE TABLE open_visits (
    person_id uuid PRIMARY KEY,
    visit_id uuid NOT NULL,
    venue_id uuid NOT NULL,
    checked_in_at timestamptz NOT NULL,
    auto_checkout_at timestamptz NOT NULL,
    auto_checkout_method text NOT NULL CHECK (auto_checkout_method IN ('max_stay', 'closing')),
    counted boolean NOT NULL
);
CREATE INDEX ix_open_visits_auto_checkout_at ON open_visits (auto_checkout_at);
CREATE INDEX ix_open_visits_venue_id ON open_visits (venue_id);

-- Idempotency of scans that carry a client id (offline batches, retried online scans).
CREATE TABLE client_ids (
    person_id uuid NOT NULL,
    client_id text NOT NULL,
    visit_id uuid NULL,
    venue_id uuid NOT NULL,
    scanned_at timestamptz NOT NULL,
    outcome text NOT NULL,
    reason text NULL,
    colour text NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_client_ids PRIMARY KEY (person_id, client_id)
);
CREATE INDEX ix_client_ids_recorded_at ON client_ids (recorded_at);

-- Local copy of the registry's venues (lindung.venues).
CREATE TABLE venues (
    venue_id uuid PRIMARY KEY,
    manager_id text NOT NULL,
    name text NOT NULL,
    category text NOT NULL,
    regency_code text NOT NULL,
    timezone text NOT NULL,
    capacity integer NOT NULL CHECK (capacity > 0),
    effective_capacity integer NOT NULL CHECK (effective_capacity > 0),
    max_stay_minutes integer NOT NULL CHECK (max_stay_minutes > 0),
    opening_hours jsonb NOT NULL DEFAULT '[]'::jsonb,
    status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),
    updated_at timestamptz NOT NULL
);
CREATE INDEX ix_venues_regency_code ON venues (regency_code);
CREATE INDEX ix_venues_manager_id ON venues (manager_id);

-- Present count per venue: the ONLY place capacity is enforced (conditional update).
-- peak/peak_day: the day's peak (venue-local date), kept in the same row update for free.
CREATE TABLE venue_occupancy (
    venue_id uuid PRIMARY KEY,
    present integer NOT NULL DEFAULT 0 CHECK (present >= 0),
    peak integer NOT NULL DEFAULT 0,
    peak_day date NULL
);

-- What the worker last published per venue (coalesced occupancy.changed, crowding crossings).
CREATE TABLE occupancy_published (
    venue_id uuid PRIMARY KEY,
    present integer NOT NULL,
    crowding_level integer NOT NULL DEFAULT 0,
    published_at timestamptz NOT NULL DEFAULT now()
);

-- Daily peaks of past days (copied by the worker when a venue's peak_day moves on).
CREATE TABLE occupancy_peaks (
    venue_id uuid NOT NULL,
    day date NOT NULL,
    peak integer NOT NULL,
    CONSTRAINT pk_occupancy_peaks PRIMARY KEY (venue_id, day)
);

-- Local copy of each person's colour (lindung.health-status). A person without a row is
-- screened as red: nothing is known of a vaccination.
CREATE TABLE person_status (
    person_id uuid PRIMARY KEY,
    colour text NOT NULL CHECK (colour IN ('black', 'red', 'yellow', 'green')),
    valid_until timestamptz NULL,
    rule_version text NOT NULL,
    changed_at timestamptz NOT NULL
);

-- Trusted QR signing keys (lindung.qr-keys) and revoked codes (lindung.venues).
CREATE TABLE qr_keys (
    key_id text PRIMARY KEY,
    jwk jsonb NOT NULL,
    status text NOT NULL CHECK (status IN ('active', 'retiring', 'retired')),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE revoked_qr_codes (
    qr_id uuid PRIMARY KEY,
    venue_id uuid NOT NULL,
    revoked_at timestamptz NOT NULL
);

-- Zone levels per regency (lindung.zones).
CREATE TABLE zones (
    regency_code text PRIMARY KEY,
    level integer NOT NULL CHECK (level BETWEEN 1 AND 4),
    colour text NOT NULL,
    changed_at timestamptz NOT NULL
);

-- Sector rules: data, versioned, each with a validity period. Every decision records the
-- version that made it (visits.rule_version, refused_attempts.rule_version).
CREATE TABLE sector_rule_sets (
    version text PRIMARY KEY,
    valid_from timestamptz NOT NULL,
    valid_until timestamptz NULL,
    description text NOT NULL
);
CREATE TABLE sector_rules (
    version text NOT NULL REFERENCES sector_rule_sets (version),
    category text NOT NULL,
    colour text NOT NULL CHECK (colour IN ('black', 'red', 'yellow', 'green')),
    decision text NOT NULL CHECK (decision IN ('admit', 'admit_with_check', 'refuse')),
    CONSTRAINT pk_sector_rules PRIMARY KEY (version, category, colour)
);
"""

PARTITION_FUNCTIONS = (
    sql.version("checkin_ensure_partitions", "0001"),
    sql.current("checkin_drop_partitions_before", "70af10f72441f304"),
)

SEED_RULES = """
INSERT INTO sector_rule_sets (version, valid_from, description) VALUES
    ('sector-2021-09', '2021-09-01T00:00:00+07:00',
     'PeduliLindungi sectors, September 2021. Black refused everywhere. Red refused where the '
     'sector requires vaccination. Yellow admitted with a check (refused at events). Green admitted.');

INSERT INTO sector_rules (version, category, colour, decision)
SELECT 'sector-2021-09', c.category, k.colour,
    CASE
        WHEN k.colour = 'black' THEN 'refuse'
        WHEN k.colour = 'green' THEN 'admit'
        WHEN k.colour = 'yellow' AND c.category = 'event' THEN 'refuse'
        WHEN k.colour = 'yellow' THEN 'admit_with_check'
        WHEN c.category IN ('healthcare', 'public_service') THEN 'admit_with_check'
        ELSE 'refuse'
    END
FROM unnest(ARRAY['mall', 'office', 'restaurant', 'worship', 'transport_hub', 'hotel', 'sport',
                  'tourism', 'school', 'healthcare', 'public_service', 'event', 'other'])
        AS c(category)
CROSS JOIN unnest(ARRAY['black', 'red', 'yellow', 'green']) AS k(colour);
"""


def _statements(script: str) -> list[str]:
    """Split a script of plain statements (no function bodies) for the prepared protocol."""
    without_comments = "\n".join(
        line for line in script.splitlines() if not line.lstrip().startswith("--")
    )
    return [s.strip() for s in without_comments.split(";") if s.strip()]


def upgrade() -> None:
    create_plumbing(op)
    for statement in _statements(TABLES):
        op.execute(statement)
    for statement in PARTITION_FUNCTIONS:
        op.execute(statement)
    op.execute(
        "SELECT checkin_ensure_partitions(d::date) FROM generate_series("
        "(now() AT TIME ZONE 'UTC')::date - 22, (now() AT TIME ZONE 'UTC')::date + 3, "
        "interval '1 day') AS d"
    )
    for statement in _statements(SEED_RULES):
        op.execute(statement)


def downgrade() -> None:
    op.execute(
        "DROP TABLE IF EXISTS sector_rules, sector_rule_sets, zones, revoked_qr_codes, qr_keys, "
        "person_status, occupancy_peaks, occupancy_published, venue_occupancy, venues, "
        "client_ids, open_visits, refused_attempts, visits CASCADE"
    )
    op.execute("DROP FUNCTION IF EXISTS checkin_drop_partitions_before(date)")
    op.execute("DROP FUNCTION IF EXISTS checkin_ensure_partitions(date)")
    drop_plumbing(op)
