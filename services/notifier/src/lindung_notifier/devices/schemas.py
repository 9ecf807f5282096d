from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class DeviceIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"platform": "android", "token": "fcm-token-abc123"}]},
    )

    platform: Literal["android", "ios", "web"]
    token: str = Field(min_length=8, max_length=4096, description="the push token of the app")


class Device(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "6f1c2f0e-8a4e-4c52-9b0c-1f2d3e4a5b6c",
                    "platform": "android",
                    "active": True,
                    "created_at": "2026-11-25T10:00:00Z",
                }
            ]
        }
    )

    id: uuid.UUID
    platform: str
    active: bool
    created_at: datetime
