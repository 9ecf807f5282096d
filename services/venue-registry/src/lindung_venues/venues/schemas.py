from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from lindung_shared.events.catalogue import IndonesianTimezone, VenueCategory
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

#: How far back a venue may say it has received visitors: the visits' retention (21 days), as
#: an offline visit older than that is purged anyway.
OPERATING_SINCE_MAX_DAYS = 21

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Entrance = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
RegencyCode = Annotated[str, StringConstraints(pattern=r"^\d{4}$")]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
Capacity = Annotated[int, Field(gt=0, le=1_000_000, description="maximum people present")]
MaxStay = Annotated[int, Field(gt=0, le=24 * 60, description="minutes; default 4 hours")]
Time = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")]
Closes = Annotated[str, StringConstraints(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")]


class OpeningHoursIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    opens: Time = Field(description="local time HH:MM")
    closes: Closes = Field(description="local time HH:MM (24:00 = midnight at the end)")

    @model_validator(mode="after")
    def _opens_before_closes(self) -> OpeningHoursIn:
        if self.closes <= self.opens:
            raise ValueError("closes must be after opens (split a night across two days)")
        return self


def _check_entrances(entrances: list[str]) -> list[str]:
    if len({e.casefold() for e in entrances}) != len(entrances):
        raise ValueError("entrance names must be unique")
    return entrances


_VENUE_EXAMPLE: dict[str, Any] = {
    "name": "Pondok Indah Mall",
    "category": "mall",
    "address": "Jl. Metro Pondok Indah, Kebayoran Lama, Jakarta Selatan",
    "regency_code": "3171",
    "latitude": -6.2656,
    "longitude": 106.7838,
    "capacity": 8000,
    "max_stay_minutes": 240,
    "opening_hours": [{"weekday": d, "opens": "10:00", "closes": "22:00"} for d in range(7)],
    "entrances": ["Main lobby", "East wing"],
}


class VenueCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_VENUE_EXAMPLE]})

    name: Name
    category: VenueCategory
    address: Address
    regency_code: RegencyCode = Field(description="four-digit Kemendagri regency code")
    latitude: Latitude
    longitude: Longitude
    capacity: Capacity
    max_stay_minutes: MaxStay = 240
    opening_hours: list[OpeningHoursIn] = Field(
        default_factory=list, max_length=50, description="empty: always open"
    )
    timezone: IndonesianTimezone | None = Field(
        default=None, description="derived from the province when omitted"
    )
    entrances: list[Entrance] = Field(default_factory=lambda: ["main"], min_length=1, max_length=50)
    operating_since: AwareDatetime | None = Field(
        default=None,
        description=(
            "when the venue started receiving visitors, for a venue moved from an earlier "
            "check-in system; offline visits scanned before it are refused "
            "(`before-venue-existed`). Defaults to the registration time; at most "
            f"{OPERATING_SINCE_MAX_DAYS} days back (older visits are purged anyway) and not in "
            "the future"
        ),
        examples=["2026-11-20T00:00:00+07:00"],
    )

    _entrances = field_validator("entrances")(_check_entrances)


class VenueUpdate(BaseModel):
    """Only the fields given change. ``timezone: null`` derives it from the province again."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"capacity": 6000, "entrances": ["Main lobby"]}]},
    )

    name: Name | None = None
    category: VenueCategory | None = None
    address: Address | None = None
    regency_code: RegencyCode | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    capacity: Capacity | None = None
    max_stay_minutes: MaxStay | None = None
    opening_hours: list[OpeningHoursIn] | None = Field(default=None, max_length=50)
    timezone: IndonesianTimezone | None = None
    entrances: list[Entrance] | None = Field(default=None, min_length=1, max_length=50)

    @field_validator("entrances")
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _check_entrances(value)

    @model_validator(mode="after")
    def _no_nulls(self) -> VenueUpdate:
        nulls = sorted(
            name
            for name in self.model_fields_set
            if name != "timezone" and getattr(self, name) is None
        )
        if nulls:
            raise ValueError(f"these fields cannot be null: {', '.join(nulls)}")
        return self


class VenueOut(BaseModel):
    id: uuid.UUID
    manager_id: str
    name: str
    category: VenueCategory
    address: str
    regency_code: str
    regency_name: str | None
    province_name: str | None = Field(description="null for a province newer than the list")
    timezone: IndonesianTimezone
    latitude: float
    longitude: float
    capacity: int
    effective_capacity: int = Field(description="capacity after the zone's capacity rule")
    max_stay_minutes: int
    opening_hours: list[OpeningHoursIn]
    entrances: list[str]
    status: Literal["active", "closed"]
    created_at: datetime
    operating_since: datetime = Field(
        description="offline visits scanned before this are refused (`before-venue-existed`)"
    )
    updated_at: datetime
    closed_at: datetime | None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    **_VENUE_EXAMPLE,
                    "id": "6f1c1a8e-4c0e-4b7c-9a53-2f4b3f0d9e11",
                    "manager_id": "manager-42",
                    "regency_name": "KOTA JAKARTA SELATAN",
                    "province_name": "DKI JAKARTA",
                    "timezone": "Asia/Jakarta",
                    "effective_capacity": 4000,
                    "status": "active",
                    "created_at": "2026-11-25T21:00:00Z",
                    "operating_since": "2026-11-25T21:00:00Z",
                    "updated_at": "2026-11-25T21:00:00Z",
                    "closed_at": None,
                }
            ]
        }
    }


class VenuePage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [], "total": 0, "limit": 50, "offset": 0}]}
    )

    items: list[VenueOut]
    total: int
    limit: int
    offset: int
