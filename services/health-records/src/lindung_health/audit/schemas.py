"""Response models of the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


class AuditEntry(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 42,
                    "officer_id": "officer-17",
                    "person_id": "5b0a4c2e-3f9b-4d6e-9a51-2f8f6f1d7c10",
                    "action": "person.lookup",
                    "purpose": "contact tracing, case C-ABCDEFGH",
                    "at": "2026-11-25T10:00:00Z",
                }
            ]
        }
    )

    id: int
    officer_id: str
    person_id: uuid.UUID | None
    action: str
    purpose: str
    at: datetime


class AuditPage(BaseModel):
    entries: list[AuditEntry]
    next_before_id: int | None
