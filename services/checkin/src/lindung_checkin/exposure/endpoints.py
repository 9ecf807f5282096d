"""The matching parameters in force, readable by health officers: the look-back and maximum
stay the matcher is started with, and each venue category's margins and minimum overlap
(``exposure_rules``). Read-only: margins are changed by migration or by the operators' SQL,
not through this API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from fastapi import APIRouter
from lindung_shared.auth import HealthOfficerDep
from lindung_shared.db import SessionDep
from pydantic import BaseModel, Field
from sqlalchemy import text

from lindung_checkin.exposure.settings import ExposureSettings

router = APIRouter(prefix="/v1/exposure", tags=["exposure"])


class CategoryRule(BaseModel):
    category: str = Field(description="venue category; '*' applies to every other category")
    margin_before_minutes: int = Field(description="the case's stay is widened this much before")
    margin_after_minutes: int = Field(description="... and this much after")
    min_overlap_minutes: float = Field(description="shortest overlap that makes a close contact")
    updated_at: datetime


class MatchingParameters(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "lookback_days": 14.0,
                    "max_stay_hours": 24.0,
                    "traced_window": "[max(infectious_from, sample_taken_at - lookback_days), "
                    "infectious_until) of the case.confirmed event",
                    "categories": [
                        {
                            "category": "*",
                            "margin_before_minutes": 0,
                            "margin_after_minutes": 0,
                            "min_overlap_minutes": 0.0,
                            "updated_at": "2026-11-25T10:00:00Z",
                        }
                    ],
                }
            ]
        }
    }

    lookback_days: float = Field(
        description="the matcher traces no further back than this before a sample"
    )
    max_stay_hours: float = Field(
        description="the longest a visit is taken to last (visits without a check-out end by "
        "then at the latest; bounds the matcher's index scans)"
    )
    traced_window: str = Field(description="how a case's traced window is derived")
    categories: list[CategoryRule]


@router.get(
    "/parameters",
    summary="The matching parameters in force (health officers)",
    description=(
        "What decides who is a close contact: the look-back and maximum stay of the matcher, "
        "and per venue category the margins added around the case's stay and the minimum "
        "overlap. The start of a case's window comes from the screening rule in force in "
        "health-records when the case was confirmed (`GET /v1/rules/current` there)."
    ),
)
async def matching_parameters(_: HealthOfficerDep, session: SessionDep) -> MatchingParameters:
    settings = ExposureSettings()
    rows = (
        await session.execute(
            text(
                "SELECT category, margin_before_minutes, margin_after_minutes, "
                "min_overlap_minutes, updated_at FROM exposure_rules "
                "ORDER BY category = '*', category"
            )
        )
    ).all()
    return MatchingParameters(
        lookback_days=settings.lookback_days,
        max_stay_hours=settings.max_stay_hours,
        traced_window=(
            "[max(infectious_from, sample_taken_at - lookback_days), infectious_until) of the "
            "case.confirmed event; each case stay widened by its category's margins"
        ),
        categories=[
            CategoryRule(
                category=r.category,
                margin_before_minutes=r.margin_before_minutes,
                margin_after_minutes=r.margin_after_minutes,
                min_overlap_minutes=float(Decimal(r.min_overlap_minutes)),
                updated_at=r.updated_at,
            )
            for r in rows
        ],
    )
