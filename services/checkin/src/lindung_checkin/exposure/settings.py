"""Parameters of the exposure matcher (environment: ``LINDUNG_EXPOSURE_*``).

Per-category margins and minimum overlaps are data (the ``exposure_rules`` table), not
settings: they change with health policy, not with deployments.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic_settings import BaseSettings, SettingsConfigDict

CONSUMER_GROUP = "checkin.exposure-matcher"


class ExposureSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LINDUNG_EXPOSURE_", extra="ignore")

    #: How far back from the sample date the case's visits are traced (bounded further by the
    #: event's infectious window).
    lookback_days: float = 14.0
    #: The longest a visit can last (check-in to check-out or automatic check-out). Bounds the
    #: index range scans; ingestion caps automatic check-out at the venue's maximum stay.
    max_stay_hours: float = 24.0
    #: Ledger rows older than this are purged (longer than any topic retention, so a replayed
    #: case event still finds its ledger).
    ledger_retention_days: int = 35
    consumer_group: str = CONSUMER_GROUP
    #: Prepended to the topics read and written (isolated benchmark or shadow runs only).
    topic_prefix: str = ""
    batch_size: int = 100
    #: Late visits (uploaded offline) are re-matched against known cases this often.
    rematch_interval_seconds: float = 2.0
    rematch_batch_size: int = 1000

    @property
    def lookback(self) -> timedelta:
        return timedelta(days=self.lookback_days)

    @property
    def max_stay(self) -> timedelta:
        return timedelta(hours=self.max_stay_hours)
