"""Offline visits signed with a QR key not known here yet are held until the key arrives.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25

The registry announces each QR signing key (``qr_key.published``); a phone can upload an
offline visit scanned from a poster signed with a key whose event has not reached this service
yet (a new key, or a freshly started suite). The signature cannot be checked without the key,
so the item was rejected (``qr-unknown-key``) and the visit lost. It is now kept, unverified,
in ``unverified_offline_scans`` (the payload as scanned) and answered ``pending``; the worker
verifies it once the key is known and records it like any late visit (or drops it when the
signature does not hold). A key id this service knows as retired is still refused at once.
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE unverified_offline_scans (
            person_id uuid NOT NULL,
            client_id text NOT NULL,
            visit_id uuid NOT NULL,
            key_id text NOT NULL,
            qr text NOT NULL,
            scanned_at timestamptz NOT NULL,
            rule_version text NULL,
            received_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_unverified_offline_scans PRIMARY KEY (person_id, client_id)
        )
        """
    )
    op.execute(
        "CREATE INDEX ix_unverified_offline_scans_key ON unverified_offline_scans (key_id)"
    )


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS unverified_offline_scans")
