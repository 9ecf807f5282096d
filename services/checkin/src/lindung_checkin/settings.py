"""Settings of the check-in service (API and worker)."""

from __future__ import annotations

from lindung_shared.settings import ServiceSettings
from pydantic import Field


class Settings(ServiceSettings):
    service_name: str = "checkin"
    database_name: str = "lindung_checkin"
    http_port: int = Field(default=8002, alias="CHECKIN_HTTP_PORT")
    #: API worker processes (uvicorn); env CHECKIN_API_WORKERS.
    api_workers: int = Field(default=1, ge=1, alias="CHECKIN_API_WORKERS")
    worker_metrics_port: int = Field(default=9102, alias="CHECKIN_WORKER_METRICS_PORT")
    #: Check-ins (scans and offline batches) per person per minute, held across API processes
    #: in PostgreSQL; 429 with Retry-After beyond. 0: no limit (the benchmark's load).
    per_person_per_minute: int = Field(default=30, alias="CHECKIN_PER_PERSON_PER_MINUTE")

    #: Consumer groups are "<prefix>.venues", "<prefix>.qr-keys", ... (tests use their own).
    consumer_group_prefix: str = "checkin"
    #: Visits (and refused attempts) older than this are deleted by dropping whole partitions.
    retention_days: int = 21
    #: Daily partitions created ahead of today by the worker.
    partitions_ahead_days: int = 3
    #: Offline visits older than this are refused (the tracing look-back).
    lookback_days: int = 14
    #: Clock skew tolerated for scan times sent by the app.
    future_tolerance_seconds: int = 120
    #: An uploaded offline visit scanned longer ago than this is "late": stored for tracing,
    #: but it does not change the venue's present occupancy.
    offline_live_window_seconds: int = 300
    #: Crowding thresholds (percent of the effective capacity) that raise `venue.crowding`.
    crowding_thresholds: tuple[int, ...] = (80, 100)
    #: The check-in answer warns when the venue is at least this full.
    nearly_full_percent: int = 80
    #: When a regency turns red, people who checked in there within this many days are alerted.
    zone_alert_days: int = 3
    #: Trusted QR keys are reloaded at least this often, and at most this often on unknown kids.
    qr_keys_refresh_seconds: float = 30.0
    qr_keys_min_reload_seconds: float = 2.0
    #: The active sector rule version is re-read this often.
    sector_rules_refresh_seconds: float = 30.0
    #: Worker jobs.
    sweep_interval_seconds: float = 5.0
    sweep_batch_size: int = 1000
    #: ``occupancy.changed`` is coalesced per venue over this interval: dashboards get a fresh
    #: count every few seconds, live reads use the API, and a national suite with tens of
    #: thousands of busy venues does not put one event per venue per second through Kafka
    #: (at 1 s it cost the 1,000-venue ingest benchmark a third of its capacity).
    occupancy_publish_interval_seconds: float = 15.0
    partition_job_interval_seconds: float = 3600.0
    batch_max_items: int = 200
    #: Offline items naming a QR key id not known here are held until the key arrives
    #: (checkins/pending.py); anyone can make a key id up, so the holds are bounded: per
    #: person, in total (beyond: the item is rejected ``too-many-held``) and in time (the
    #: worker drops a hold after this many hours; a real key's event arrives in seconds).
    unverified_holds_per_person: int = Field(
        default=20, ge=0, alias="CHECKIN_UNVERIFIED_HOLDS_PER_PERSON"
    )
    unverified_holds_total: int = Field(
        default=50_000, ge=0, alias="CHECKIN_UNVERIFIED_HOLDS_TOTAL"
    )
    unverified_hold_hours: float = Field(default=6.0, gt=0, alias="CHECKIN_UNVERIFIED_HOLD_HOURS")
    #: Most scans sent together in one statement (group commit; see checkins/grouping.py).
    scan_group_max: int = 64
