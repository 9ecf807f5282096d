"""Request and response models of the screening rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lindung_shared.audit import Reason
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from lindung_health.screening.rules import RuleParameters

_EXAMPLE: dict[str, Any] = {
    "id": "2026-11-v1",
    "valid_from": "2026-12-01T00:00:00+07:00",
    "valid_to": None,
    "description": "Antigen tests valid 48 h during the holidays",
    "parameters": {**RuleParameters().model_dump(), "antigen_valid_hours": 48},
}
_PUBLISH_EXAMPLE: dict[str, Any] = {
    **_EXAMPLE,
    "reason": "Ministry of Health circular HK.02.01/2026 on holiday travel",
}


class RuleIn(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_PUBLISH_EXAMPLE]})

    id: str = Field(pattern=r"^\d{4}-\d{2}-v\d{1,3}$", description="YYYY-MM-vN")
    valid_from: AwareDatetime
    valid_to: AwareDatetime | None = None
    description: str = Field(default="", max_length=500)
    parameters: RuleParameters = Field(
        default_factory=RuleParameters, description="omitted fields take the defaults"
    )
    reason: Reason

    @model_validator(mode="after")
    def _period(self) -> RuleIn:
        if self.valid_to is not None and self.valid_to <= self.valid_from:
            raise ValueError("valid_to must be after valid_from")
        return self


class RuleOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_EXAMPLE,
                    "created_by": "officer-17",
                    "created_at": "2026-11-25T10:00:00Z",
                    "in_force": False,
                }
            ]
        }
    )

    id: str
    valid_from: datetime
    valid_to: datetime | None
    description: str
    parameters: RuleParameters
    created_by: str
    created_at: datetime
    in_force: bool = Field(description="this version decides statuses now")
