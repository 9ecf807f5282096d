from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

_EXAMPLE: dict[str, Any] = {
    "id": "0b8f7f0c-0e0a-4a55-9d55-3c2a1e4b5f60",
    "seq": 42,
    "kind": "exposure",
    "template_key": "exposure.detected",
    "language": "id",
    "title": "Anda kontak erat kasus COVID-19",
    "body": "Anda berada di Mal Contoh pada 25 Nov 2026 14.00 WIB sampai ...",
    "data": {"venue_id": "5f1e...", "quarantine_until": "2026-12-09"},
    "created_at": "2026-11-25T10:00:00Z",
    "read_at": None,
}


class Notification(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    id: uuid.UUID
    seq: int
    kind: str
    template_key: str
    language: str
    title: str
    body: str
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


class NotificationPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [_EXAMPLE], "next_before": 42}]}
    )

    items: list[Notification]
    next_before: int | None = None


class DeliveryStatus(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "9a7e1b1e-3f2a-4f0e-8a55-2b3c4d5e6f70",
                    "channel": "sms",
                    "device_id": None,
                    "status": "delivered",
                    "attempts": 2,
                    "next_attempt_at": "2026-11-25T10:00:02Z",
                    "last_error": None,
                    "gateway_message_id": "sms-123",
                    "created_at": "2026-11-25T10:00:00Z",
                    "updated_at": "2026-11-25T10:00:03Z",
                }
            ]
        }
    )

    id: uuid.UUID
    channel: str
    device_id: uuid.UUID | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    gateway_message_id: str | None
    created_at: datetime
    updated_at: datetime
