from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class Preferences(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"language": "en"}]})

    language: Literal["id", "en"]
