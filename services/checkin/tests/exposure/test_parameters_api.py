"""Health officers can read the matching parameters in force; nobody else can."""

from __future__ import annotations

from lindung_shared.testing import bearer
from sqlalchemy import text


async def test_officers_read_the_matching_parameters(client, db_settings, sessions) -> None:
    async with sessions() as session, session.begin():
        await session.execute(
            text(
                "INSERT INTO exposure_rules (category, margin_before_minutes, "
                "margin_after_minutes, min_overlap_minutes) VALUES ('test-gym', 5, 10, 15) "
                "ON CONFLICT (category) DO UPDATE SET margin_before_minutes = 5, "
                "margin_after_minutes = 10, min_overlap_minutes = 15"
            )
        )
    officer = bearer(db_settings, "health_officer", "officer-1")
    answer = await client.get("/v1/exposure/parameters", headers=officer)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["lookback_days"] == 14 and body["max_stay_hours"] == 24
    rules = {c["category"]: c for c in body["categories"]}
    assert (rules["*"]["margin_before_minutes"], rules["*"]["min_overlap_minutes"]) == (0, 0)
    gym = rules["test-gym"]
    assert (
        gym["margin_before_minutes"],
        gym["margin_after_minutes"],
        gym["min_overlap_minutes"],
    ) == (5, 10, 15.0)
    assert body["categories"][-1]["category"] == "*"

    for role in ("citizen", "venue_manager", "feed"):
        refused = await client.get(
            "/v1/exposure/parameters", headers=bearer(db_settings, role, "x")
        )
        assert refused.status_code == 403, role
    assert (await client.get("/v1/exposure/parameters")).status_code == 401
