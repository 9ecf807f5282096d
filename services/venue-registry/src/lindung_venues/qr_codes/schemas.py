from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Entrance = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


_PAYLOAD_EXAMPLE = (
    "LINDUNG1:eyJhbGciOiJFZERTQSIsImtpZCI6InFyLTIwMjYxMTI1LTlmMmM0MWFhIiwidHlwIjoibGluZHVuZy1xciJ9"
    ".eyJ2IjoxLCJ2ZW4iOiI2ZjFjMWE4ZS00YzBlLTRiN2MtOWE1My0yZjRiM2YwZDllMTEiLCJlbnQiOiJNYWluIGxvYmJ5"
    "IiwicWlkIjoiMGI4ZjhhNTItNmM1NS00ZjM3LWEzYTQtOGEzZjZmMGYyZjQxIiwiaWF0IjoxNzk1NjQwNDAwfQ"
    ".c2lnbmF0dXJl"
)


class QrCodeCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"entrance": "Main lobby"}]}
    )

    entrance: Entrance = Field(description="one of the venue's entrances")


class QrCodeOut(BaseModel):
    id: uuid.UUID
    venue_id: uuid.UUID
    entrance: str
    key_id: str
    key_status: Literal["active", "retiring", "retired"] = Field(
        description="retired: the code no longer verifies"
    )
    payload: str = Field(description="the signed text encoded in the QR code")
    issued_at: datetime
    revoked_at: datetime | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "id": "0b8f8a52-6c55-4f37-a3a4-8a3f6f0f2f41",
                    "venue_id": "6f1c1a8e-4c0e-4b7c-9a53-2f4b3f0d9e11",
                    "entrance": "Main lobby",
                    "key_id": "qr-20261125-9f2c41aa",
                    "key_status": "active",
                    "payload": _PAYLOAD_EXAMPLE,
                    "issued_at": "2026-11-25T21:00:00Z",
                    "revoked_at": None,
                }
            ]
        }
    }
