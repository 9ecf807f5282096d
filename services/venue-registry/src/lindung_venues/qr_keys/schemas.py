from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from lindung_shared.audit import Reason
from pydantic import BaseModel, Field

_JWK_EXAMPLE: dict[str, Any] = {
    "kty": "OKP",
    "crv": "Ed25519",
    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
    "kid": "qr-20261125-9f2c41aa",
    "use": "sig",
    "alg": "EdDSA",
}


class JwkSet(BaseModel):
    keys: list[dict[str, Any]] = Field(description="public keys whose QR codes verify")

    model_config = {"json_schema_extra": {"examples": [{"keys": [_JWK_EXAMPLE]}]}}


class QrKeyOut(BaseModel):
    key_id: str
    status: Literal["active", "retiring", "retired"]
    jwk: dict[str, Any]
    created_at: datetime
    retiring_at: datetime | None = None
    retired_at: datetime | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "key_id": "qr-20261125-9f2c41aa",
                    "status": "active",
                    "jwk": _JWK_EXAMPLE,
                    "created_at": "2026-11-25T21:00:00Z",
                    "retiring_at": None,
                    "retired_at": None,
                }
            ]
        }
    }


class QrKeyAction(BaseModel):
    """Why a signing key is rotated or retired (kept in the audit log)."""

    model_config = {
        "extra": "forbid",
        "json_schema_extra": {"examples": [{"reason": "key material exposed in incident 42"}]},
    }

    reason: Reason


class QrKeyRetirement(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "retired": {
                        "key_id": "qr-20261101-0a1b2c3d",
                        "status": "retired",
                        "jwk": {**_JWK_EXAMPLE, "kid": "qr-20261101-0a1b2c3d"},
                        "created_at": "2026-11-01T08:00:00Z",
                        "retiring_at": "2026-11-25T21:00:00Z",
                        "retired_at": "2026-12-25T21:00:00Z",
                    },
                    "replacement": None,
                }
            ]
        }
    }

    retired: QrKeyOut
    replacement: QrKeyOut | None = Field(
        default=None, description="the new active key, when the retired key was the active one"
    )
