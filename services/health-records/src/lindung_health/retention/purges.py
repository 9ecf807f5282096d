"""The retention purges of health-records.

- **Sign-in codes**: hours. A code lives minutes; its row is kept a few hours for the rate
  limit and for support, then deleted (``sign_in_code_retention_hours``).
- **Exposures**: an exposure matters while the quarantine it justifies runs. It is deleted
  once it is older than the longest quarantine any rule version could give it plus the
  check-in look-back it came from (``exposure_retention_days``, default 35 = 14 + 21; never
  less than the largest ``quarantine_days`` of any stored rule version), so no status that
  still stands rests on a deleted exposure.
- **Status history**: the same horizon as exposures (``status_history_retention_days``): the
  current status stays in ``person_status``; the history only explains recent changes.
- **Laboratory results** (and the cases they made): ``test_retention_days`` (default 180)
  after the sample: the longest a result can count (isolation up to 60 days, a recovery
  certificate 180 days). Vaccinations are kept while the person is registered: they are the
  certificates' source, and the national registry holds them anyway.
- **Certificates** issued or attached (EU DCC: name and birth date inside): 30 days after
  they expired (``certificate_retention_days``), when nobody can use them any more.
- **Bulk imports** (their staged NDJSON lines hold NIKs in clear until applied; their error
  rows, line numbers and reasons): a job is deleted with its lines and errors (cascade)
  ``import_retention_days`` (default 7) after it completed, or after it was opened if it was
  never completed (an upload abandoned, a job never started).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from lindung_shared.retention import Purge, batched_delete
from sqlalchemy import text

from lindung_health.settings import Settings

_SIGN_IN_CODES = batched_delete(
    "sign_in_codes",
    "created_at < :before",
    order_by="created_at",
)
# Never sooner than the longest quarantine of any rule version (rules are data officers
# publish; a longer quarantine published later keeps its exposures longer).
_EXPOSURES = text(
    """
    DELETE FROM exposures WHERE id IN (
        SELECT id FROM exposures
        WHERE overlap_end < CAST(:now AS timestamptz) - make_interval(days => GREATEST(
            :days,
            COALESCE((SELECT max((parameters->>'quarantine_days')::int) FROM screening_rules), 0)
        ))
        ORDER BY overlap_end LIMIT :limit FOR UPDATE SKIP LOCKED)
    RETURNING 1
    """
)
_STATUS_HISTORY = batched_delete(
    "status_history",
    "changed_at < :before",
    order_by="changed_at",
)
# Cases and suspected cases go with the result or Condition that made them (ON DELETE
# CASCADE); a COVID-19 Condition is kept as long as a test result.
_TEST_RESULTS = batched_delete(
    "health_records",
    "kind IN ('test', 'condition') AND coalesce(occurred_at, received_at) < :before",
    order_by="received_at",
)

_ISSUED_CERTIFICATES = batched_delete(
    "dcc_issued",
    "expires_at < :before",
    order_by="expires_at",
)
_FOREIGN_CERTIFICATES = batched_delete(
    "dcc_foreign",
    "expires_at < :before",
    order_by="expires_at",
)


_FEED_IMPORTS = batched_delete(
    "feed_imports",
    "coalesce(finished_at, created_at) < :before",
    order_by="created_at",
)


def purges(settings: Settings, now: datetime) -> list[Purge]:
    return [
        Purge(
            "sign_in_codes",
            _SIGN_IN_CODES,
            {"before": now - timedelta(hours=settings.sign_in_code_retention_hours)},
        ),
        Purge("exposures", _EXPOSURES, {"now": now, "days": settings.exposure_retention_days}),
        Purge(
            "status_history",
            _STATUS_HISTORY,
            {"before": now - timedelta(days=settings.status_history_retention_days)},
        ),
        Purge(
            "test_results",
            _TEST_RESULTS,
            {"before": now - timedelta(days=settings.test_retention_days)},
        ),
        Purge(
            "issued_certificates",
            _ISSUED_CERTIFICATES,
            {"before": now - timedelta(days=settings.certificate_retention_days)},
        ),
        Purge(
            "foreign_certificates",
            _FOREIGN_CERTIFICATES,
            {"before": now - timedelta(days=settings.certificate_retention_days)},
        ),
        Purge(
            "feed_imports",
            _FEED_IMPORTS,
            {"before": now - timedelta(days=settings.import_retention_days)},
        ),
    ]
