from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field


class VenueOccupancy(BaseModel):
    venue_id: uuid.UUID
    present: int
    capacity: int
    percent: float
    state: Literal["open", "nearly_full", "full"]
    at: datetime

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "venue_id": "0b6f3c52-1f3e-4d52-9d51-6a3c2f0d9e10",
                    "present": 812,
                    "capacity": 1000,
                    "percent": 81.2,
                    "state": "nearly_full",
                    "at": "2026-11-25T10:00:00Z",
                }
            ]
        }
    }


class VenueStats(BaseModel):
    venue_id: uuid.UUID
    date: date
    timezone: str
    present: int
    capacity: int
    peak: int
    admitted: dict[str, int]
    admitted_total: int
    offline_late: int
    refused: dict[str, int]
    refused_by_reason: dict[str, int]
    refused_total: int
    admitted_by_hour: list[int] = Field(
        default_factory=lambda: [0] * 24, description="admitted per venue-local hour, 0-23"
    )
    refused_by_hour: list[int] = Field(
        default_factory=lambda: [0] * 24, description="refused per venue-local hour, 0-23"
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "venue_id": "0b6f3c52-1f3e-4d52-9d51-6a3c2f0d9e10",
                    "date": "2026-11-25",
                    "timezone": "Asia/Jakarta",
                    "present": 812,
                    "capacity": 1000,
                    "peak": 903,
                    "admitted": {"green": 20114, "yellow": 1503},
                    "admitted_total": 21617,
                    "offline_late": 12,
                    "refused": {"red": 310, "black": 4},
                    "refused_by_reason": {"colour_red": 310, "colour_black": 4},
                    "refused_total": 314,
                }
            ]
        }
    }


class RegencyVenue(BaseModel):
    venue_id: uuid.UUID
    name: str
    category: str
    present: int
    capacity: int = Field(description="effective capacity")
    case_visits: int = Field(description="distinct cases that visited in the window")
    contacts_notified: int = Field(description="close contacts reported at this venue")
    visits: int
    green_visits: int = Field(description="visits admitted green (vaccinated, not a case)")


class RegencySummary(BaseModel):
    """A health office's view of a regency over the last ``days`` days."""

    regency_code: str
    days: int
    since: datetime
    venues: list[RegencyVenue]
    case_visits: int
    contacts_notified: int
    visits: int
    green_share: float | None = Field(description="green visits / visits; null without visits")
