"""The API's published contract."""

from __future__ import annotations


async def test_openapi_has_summaries_and_examples(client) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), f"{method.upper()} {path} has no summary"
    schemas = spec["components"]["schemas"]
    for name in (
        "RegisterPerson",
        "StatusOut",
        "RecordsOut",
        "LookupRequest",
        "CodeRequest",
        "TokenOut",
        "RuleIn",
        "FeedResponse",
    ):
        assert schemas[name].get("examples"), f"{name} has no example"
    assert "/v1/people/lookup" in spec["paths"] and "get" not in spec["paths"]["/v1/people/lookup"]
