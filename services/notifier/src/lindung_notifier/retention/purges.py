"""The retention purges of the notifier.

- **Sign-in code messages** (``kind = 'sign_in_code'``, never in the inbox; the body holds
  the code): hours (``sign_in_code_retention_hours``), deliveries with them.
- **Inbox messages** (exposure, case, status notices): ``notification_retention_days``
  (default 35: the longest quarantine they announce, 14 days, plus the 21-day look-back of
  the visits behind them); their deliveries go with them (ON DELETE CASCADE).
- **Finished deliveries** (delivered or dead): ``delivery_retention_days`` (default 7) after
  their last change, long enough to answer "did my SMS go?"; the message stays in the inbox.
- **Devices** switched off (unregistered, or refused by the gateway):
  ``device_retention_days`` after that, once no delivery refers to them. Active devices are
  kept while they are registered.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from lindung_shared.retention import Purge, batched_delete
from sqlalchemy import text

from lindung_notifier.settings import Settings

_SIGN_IN_CODES = batched_delete(
    "notifications",
    "kind = 'sign_in_code' AND created_at < :before",
    order_by="created_at",
)
_NOTIFICATIONS = batched_delete(
    "notifications",
    "created_at < :before",
    order_by="created_at",
)
_DELIVERIES = batched_delete(
    "deliveries",
    "status IN ('delivered', 'dead') AND updated_at < :before",
    order_by="updated_at",
)
_DEVICES = text(
    """
    DELETE FROM devices WHERE id IN (
        SELECT d.id FROM devices d
        WHERE NOT d.active AND d.deactivated_at < :before
          AND NOT EXISTS (SELECT 1 FROM deliveries x WHERE x.device_id = d.id)
        ORDER BY d.deactivated_at LIMIT :limit FOR UPDATE SKIP LOCKED)
    RETURNING 1
    """
)


def purges(settings: Settings, now: datetime) -> list[Purge]:
    return [
        Purge(
            "sign_in_code_notifications",
            _SIGN_IN_CODES,
            {"before": now - timedelta(hours=settings.sign_in_code_retention_hours)},
        ),
        Purge(
            "notifications",
            _NOTIFICATIONS,
            {"before": now - timedelta(days=settings.notification_retention_days)},
        ),
        Purge(
            "deliveries",
            _DELIVERIES,
            {"before": now - timedelta(days=settings.delivery_retention_days)},
        ),
        Purge(
            "devices", _DEVICES, {"before": now - timedelta(days=settings.device_retention_days)}
        ),
    ]
