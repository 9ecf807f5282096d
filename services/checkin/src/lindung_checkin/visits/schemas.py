from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel


class Visit(BaseModel):
    visit_id: uuid.UUID
    venue_id: uuid.UUID
    venue_name: str | None
    entrance: str | None
    checked_in_at: datetime
    checked_out_at: datetime | None
    auto_checkout_at: datetime
    checkout_method: str | None
    source: str
    colour: str


class VisitPage(BaseModel):
    items: list[Visit]
    next_cursor: str | None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "items": [
                        {
                            "visit_id": "3f0f6a7e-5a55-4c9f-9a3e-2f1f2c0e8d11",
                            "venue_id": "0b6f3c52-1f3e-4d52-9d51-6a3c2f0d9e10",
                            "venue_name": "Mal Taman Anggrek",
                            "entrance": "main",
                            "checked_in_at": "2026-11-25T10:00:00Z",
                            "checked_out_at": "2026-11-25T11:12:00Z",
                            "auto_checkout_at": "2026-11-25T14:00:00Z",
                            "checkout_method": "explicit",
                            "source": "online",
                            "colour": "green",
                        }
                    ],
                    "next_cursor": "2026-11-25T10:00:00+00:00|3f0f6a7e-5a55-4c9f-9a3e-2f1f2c0e8d11",
                }
            ]
        }
    }
