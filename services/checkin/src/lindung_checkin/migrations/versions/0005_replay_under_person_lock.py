"""Retries of one scan that arrive together answer alike.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25

``checkin_scan`` looked up the client id before taking the person's lock, so two copies of a
retried scan arriving at the same moment could both miss it: the second then failed on the
``client_ids`` key (a 500) instead of answering with the first one's visit. The lock is now
taken first whenever the scan carries a client id (or is live). The function body is 0002's,
with that one change; it is rebuilt from 0002's text so the two cannot drift apart.
"""

import runpy
from pathlib import Path

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_V0002 = runpy.run_path(str(Path(__file__).with_name("0002_checkin_function.py")))

_LOCK_FIRST = """BEGIN
    IF p_live OR p_client_id IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended(p_person::text, 7));
    END IF;
    o_replayed := false;"""


def _replace_once(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"migration 0005 expected exactly one {old!r}"
    return text.replace(old, new)


def _scan(lock_first: bool) -> str:
    sql = _replace_once(
        _V0002["SCAN"], "CREATE FUNCTION checkin_scan(", "CREATE OR REPLACE FUNCTION checkin_scan("
    )
    if lock_first:
        sql = _replace_once(sql, "BEGIN\n    o_replayed := false;", _LOCK_FIRST)
    return sql


def upgrade() -> None:
    op.execute(_scan(lock_first=True))


def downgrade() -> None:
    op.execute(_scan(lock_first=False))
