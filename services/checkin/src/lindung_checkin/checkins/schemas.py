"""Request and response bodies of the check-in door."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field, model_validator

_QR_EXAMPLE = (
    "LINDUNG1:eyJhbGciOiJFZERTQSIsImtpZCI6InFyLTIwMjYtMTEiLCJ0eXAiOiJsaW5kdW5nLXFyIn0"
    ".eyJ2IjoxfQ.c2ln"
)


class CheckinRequest(BaseModel):
    qr: str = Field(min_length=1, max_length=2048, description="the scanned QR payload")
    client_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="the app's id for this scan; a retry with the same id changes nothing",
    )
    scanned_at: AwareDatetime | None = Field(
        default=None, description="when the app scanned (informative; the server's time is used)"
    )

    model_config = {
        "json_schema_extra": {"examples": [{"qr": _QR_EXAMPLE, "client_id": "a1b2c3d4-0001"}]}
    }


class Text(BaseModel):
    code: str
    id: str = Field(description="Bahasa Indonesia")
    en: str = Field(description="English")


class Occupancy(BaseModel):
    present: int
    capacity: int


class CheckinAnswer(BaseModel):
    outcome: Literal["admitted", "refused", "checked_out"]
    visit_id: uuid.UUID | None = Field(
        description="the new visit (admitted), or the visit just ended (checked_out)"
    )
    venue_id: uuid.UUID
    venue_name: str
    colour: Literal["black", "red", "yellow", "green"]
    reason: Text
    occupancy: Occupancy
    warnings: list[Text]
    checked_in_at: datetime
    auto_checkout_at: datetime | None
    replayed: bool = Field(description="true when this answers a retry of an earlier scan")

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "outcome": "admitted",
                    "visit_id": "3f0f6a7e-5a55-4c9f-9a3e-2f1f2c0e8d11",
                    "venue_id": "0b6f3c52-1f3e-4d52-9d51-6a3c2f0d9e10",
                    "venue_name": "Mal Taman Anggrek",
                    "colour": "green",
                    "reason": {"code": "admitted", "id": "Silakan masuk.", "en": "Welcome in."},
                    "occupancy": {"present": 812, "capacity": 1000},
                    "warnings": [
                        {
                            "code": "venue_nearly_full",
                            "id": "Tempat ini hampir penuh; jaga jarak.",
                            "en": "This place is nearly full; keep your distance.",
                        }
                    ],
                    "checked_in_at": "2026-11-25T10:00:00Z",
                    "auto_checkout_at": "2026-11-25T14:00:00Z",
                    "replayed": False,
                }
            ]
        }
    }


class CheckoutAnswer(BaseModel):
    visit_id: uuid.UUID
    venue_id: uuid.UUID
    checked_in_at: datetime
    checked_out_at: datetime
    checkout_method: str
    present: int | None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "visit_id": "3f0f6a7e-5a55-4c9f-9a3e-2f1f2c0e8d11",
                    "venue_id": "0b6f3c52-1f3e-4d52-9d51-6a3c2f0d9e10",
                    "checked_in_at": "2026-11-25T10:00:00Z",
                    "checked_out_at": "2026-11-25T11:12:00Z",
                    "checkout_method": "explicit",
                    "present": 811,
                }
            ]
        }
    }


class BatchItem(BaseModel):
    client_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    qr: str = Field(min_length=1, max_length=2048)
    scanned_at: AwareDatetime
    checked_out_at: AwareDatetime | None = Field(
        default=None,
        description="when the app checked out while offline (not before `scanned_at`): the "
        "visit is recorded as ended then (or at its automatic check-out if that came first) "
        "and never counts toward present occupancy",
    )

    @model_validator(mode="after")
    def _out_after_in(self) -> BatchItem:
        if self.checked_out_at is not None and self.checked_out_at < self.scanned_at:
            raise ValueError("checked_out_at is before scanned_at")
        return self


class BatchRequest(BaseModel):
    items: list[BatchItem] = Field(min_length=1)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "items": [
                        {
                            "client_id": "a1b2c3d4-0002",
                            "qr": _QR_EXAMPLE,
                            "scanned_at": "2026-11-25T08:30:00+07:00",
                            "checked_out_at": "2026-11-25T09:45:00+07:00",
                        }
                    ]
                }
            ]
        }
    }


class BatchItemAnswer(BaseModel):
    client_id: str
    status: Literal["admitted", "refused", "checked_out", "recorded", "pending", "rejected"] = (
        Field(
            description="`pending`: held until the venue's registration (or the QR key that "
            "signed the code) reaches this service, then recorded for tracing (the visit id "
            "does not change)"
        )
    )
    visit_id: uuid.UUID | None = None
    colour: str | None = None
    reason: Text | None = None
    error: str | None = Field(
        default=None,
        description="why a rejected item was not recorded, e.g. `before-venue-existed`: "
        "scanned before the venue received visitors",
    )
    replayed: bool = False


class BatchAnswer(BaseModel):
    items: list[BatchItemAnswer]

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "items": [
                        {
                            "client_id": "a1b2c3d4-0002",
                            "status": "recorded",
                            "visit_id": "3f0f6a7e-5a55-4c9f-9a3e-2f1f2c0e8d11",
                            "colour": "green",
                            "reason": {
                                "code": "recorded",
                                "id": "Kunjungan luring tercatat untuk pelacakan.",
                                "en": "Offline visit recorded for contact tracing.",
                            },
                            "replayed": False,
                        }
                    ]
                }
            ]
        }
    }
