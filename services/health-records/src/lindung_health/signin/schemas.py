"""Request and response models of the sign-in flow."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class CodeRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"phone": "+6281234567890"},
                {"phone": "081234567890", "nik": "3171015705900012"},
            ]
        }
    )

    phone: str = Field(min_length=6, max_length=32)
    nik: str | None = Field(
        default=None,
        min_length=16,
        max_length=16,
        description="needed when several people share the phone",
    )


class CodeIssued(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "request_id": "9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f",
                    "expires_at": "2026-11-25T10:05:00Z",
                    "delivery": "sms",
                }
            ]
        }
    )

    request_id: uuid.UUID = Field(description="send it back with the code")
    expires_at: datetime
    delivery: Literal["sms"] = "sms"


class TokenRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"request_id": "9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f", "code": "123456"}]
        }
    )

    request_id: uuid.UUID
    code: str = Field(pattern=r"^\d{6}$")


class TokenOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "access_token": "eyJhbGciOiJFZERTQSIs...",
                    "token_type": "bearer",
                    "expires_in": 43200,
                    "person_id": "5b0a4c2e-3f9b-4d6e-9a51-2f8f6f1d7c10",
                }
            ]
        }
    )

    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105
    expires_in: int
    person_id: uuid.UUID
