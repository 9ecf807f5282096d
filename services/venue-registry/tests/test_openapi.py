"""Every request and response model documents an example, and the example is valid."""

from __future__ import annotations

import pytest
from lindung_venues.api import build_app
from pydantic import BaseModel

MODELS = {
    name
    for path in build_app().openapi()["paths"].values()
    for operation in path.values()
    for name in [
        *(
            c["schema"]["$ref"].rsplit("/", 1)[-1]
            for c in operation.get("requestBody", {}).get("content", {}).values()
            if "$ref" in c.get("schema", {})
        ),
        *(
            c["schema"]["$ref"].rsplit("/", 1)[-1]
            for r in operation.get("responses", {}).values()
            for c in r.get("content", {}).values()
            if "$ref" in c.get("schema", {})
        ),
    ]
}


def _model(name: str) -> type[BaseModel]:
    from lindung_shared import audit
    from lindung_venues.qr_codes import schemas as qr
    from lindung_venues.qr_keys import schemas as keys
    from lindung_venues.venues import schemas as venues
    from lindung_venues.zones import schemas as zones

    for module in (venues, zones, qr, keys, audit):
        if hasattr(module, name):
            model: type[BaseModel] = getattr(module, name)
            return model
    raise LookupError(name)


@pytest.mark.parametrize("name", sorted(MODELS - {"HTTPValidationError"}))
def test_model_has_a_valid_example(name):
    model = _model(name)
    examples = (model.model_config.get("json_schema_extra") or {}).get("examples")
    assert examples, f"{name} has no example"
    for example in examples:
        model.model_validate(example)
