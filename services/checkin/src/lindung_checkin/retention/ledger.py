"""Retention of the exposure ledger (``exposure_cases``, ``reported_exposures``,
``reported_case_visits``): who was near whom, and where.

The ledger keeps matching exactly-once and lets a retraction withdraw what a case raised. A
case stops mattering when no visit it could still match is kept: once its infectious period
(or, without one, its confirmation) is older than the visits' retention (``retention_days``,
21), its late visits are gone too, and any quarantine it caused (14 days by default) is over.
Then its ledger rows are deleted, in bounded batches. The suspects' ledger
(``exposure_suspects``, ``reported_advisories``, ``reported_suspect_visits``) likewise, once
the suspect's traced window (or, without one, its ruling out) is that old.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from lindung_shared.retention import Purge
from sqlalchemy import text

_LEDGER = text(
    """
    WITH gone AS (
        DELETE FROM exposure_cases WHERE case_id IN (
            SELECT case_id FROM exposure_cases
            WHERE coalesce(infectious_until, confirmed_at) < :before
            ORDER BY coalesce(infectious_until, confirmed_at)
            LIMIT :limit FOR UPDATE SKIP LOCKED)
        RETURNING case_id
    ), contacts AS (
        DELETE FROM reported_exposures WHERE case_id IN (SELECT case_id FROM gone)
    ), visits AS (
        DELETE FROM reported_case_visits WHERE case_id IN (SELECT case_id FROM gone)
    )
    SELECT 1 FROM gone
    """
)


_SUSPECTS = text(
    """
    WITH gone AS (
        DELETE FROM exposure_suspects WHERE suspect_id IN (
            SELECT suspect_id FROM exposure_suspects
            WHERE coalesce(traced_until, ruled_out_at) < :before
            ORDER BY coalesce(traced_until, ruled_out_at)
            LIMIT :limit FOR UPDATE SKIP LOCKED)
        RETURNING suspect_id
    ), contacts AS (
        DELETE FROM reported_advisories WHERE suspect_id IN (SELECT suspect_id FROM gone)
    ), visits AS (
        DELETE FROM reported_suspect_visits WHERE suspect_id IN (SELECT suspect_id FROM gone)
    )
    SELECT 1 FROM gone
    """
)


def ledger_purge(now: datetime, retention_days: int) -> Purge:
    return Purge("exposure_ledger", _LEDGER, {"before": now - timedelta(days=retention_days)})


def suspect_ledger_purge(now: datetime, retention_days: int) -> Purge:
    return Purge("suspect_ledger", _SUSPECTS, {"before": now - timedelta(days=retention_days)})
