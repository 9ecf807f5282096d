from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from lindung_shared.audit import Reason
from lindung_shared.events.catalogue import VenueCategory
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Colour = Literal["green", "yellow", "orange", "red"]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)]
Percent = Annotated[int, Field(ge=1, le=100, description="percent of capacity allowed")]


class ZoneLevelSet(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "level": 4,
                    "note": "PPKM level 4 from 3 July",
                    "reason": "Instruction of the Minister of Home Affairs 15/2021",
                }
            ]
        },
    )

    level: int = Field(ge=1, le=4, description="PPKM level: 1 green, 2 yellow, 3 orange, 4 red")
    note: Note | None = Field(default=None, description="shown in the regency's level history")
    reason: Reason


class ZoneOut(BaseModel):
    regency_code: str
    regency_name: str | None
    level: int
    colour: Colour
    is_set: bool = Field(description="false: no level was ever set (counts as level 1)")
    updated_at: datetime | None
    updated_by: str | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "regency_code": "3171",
                    "regency_name": "KOTA JAKARTA SELATAN",
                    "level": 4,
                    "colour": "red",
                    "is_set": True,
                    "updated_at": "2026-11-25T21:00:00Z",
                    "updated_by": "officer-7",
                }
            ]
        }
    }


class ZonePage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [], "total": 0, "limit": 100, "offset": 0}]}
    )

    items: list[ZoneOut]
    total: int
    limit: int
    offset: int


class ZoneChangeOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "regency_code": "3171",
                    "level": 4,
                    "colour": "red",
                    "previous_level": 3,
                    "note": "PPKM level 4 from 3 July",
                    "changed_at": "2026-11-25T21:00:00Z",
                    "changed_by": "officer-7",
                }
            ]
        }
    )

    regency_code: str
    level: int
    colour: Colour
    previous_level: int | None
    note: str | None
    changed_at: datetime
    changed_by: str


class ZoneHistoryPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [], "total": 0, "limit": 100, "offset": 0}]}
    )

    items: list[ZoneChangeOut]
    total: int
    limit: int
    offset: int


class CapacityRuleSet(BaseModel):
    """Percent of a venue's capacity allowed at each PPKM level."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"level_1": 100, "level_2": 75, "level_3": 50, "level_4": 25}]
        },
    )

    level_1: Percent
    level_2: Percent
    level_3: Percent
    level_4: Percent


class CapacityRuleChange(CapacityRuleSet):
    """A new capacity rule and why (national officers; audited)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "level_1": 100,
                    "level_2": 75,
                    "level_3": 50,
                    "level_4": 25,
                    "reason": "Ministry circular on malls during PPKM",
                }
            ]
        },
    )

    reason: Reason


class CapacityRuleOut(CapacityRuleSet):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "category": "mall",
                    "level_1": 100,
                    "level_2": 75,
                    "level_3": 50,
                    "level_4": 25,
                    "is_default": False,
                    "updated_at": "2026-11-25T21:00:00Z",
                    "venues_updated": 12,
                }
            ]
        }
    )

    category: VenueCategory
    is_default: bool = Field(description="true: no rule set, 100 % at every level")
    updated_at: datetime | None = None
    venues_updated: int | None = Field(
        default=None, description="on a change: venues whose effective capacity changed"
    )
