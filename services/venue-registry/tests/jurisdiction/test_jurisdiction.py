"""An officer's jurisdiction, enforced here: venue reads and lists, QR codes, zone levels and
capacity rules outside it are refused; every zone or rule change lands in the audit log."""

from __future__ import annotations

import uuid

from lindung_shared.jurisdiction import Jurisdiction
from lindung_shared.testing import bearer

BANDUNG = {"regency_code": "3273", "latitude": -6.9175, "longitude": 107.6191}
JAKARTA_SELATAN = {"regency_code": "3174", "latitude": -6.2615, "longitude": 106.8106}


def officer_of(settings, jurisdiction: str) -> dict[str, str]:
    return bearer(
        settings,
        "health_officer",
        f"officer-{uuid.uuid4().hex[:8]}",
        jurisdiction=Jurisdiction.parse(jurisdiction),
    )


async def test_an_officer_of_one_regency_cannot_read_or_change_another(
    client, settings, manager, create_venue
):
    bandung_venue = await create_venue(manager, name="Gedung Sate", **BANDUNG)
    jakarta_venue = await create_venue(manager, name="Blok M Square", **JAKARTA_SELATAN)
    bandung = officer_of(settings, "regencies:3273")

    mine = await client.get(f"/v1/venues/{bandung_venue['id']}", headers=bandung)
    assert mine.status_code == 200
    theirs = await client.get(f"/v1/venues/{jakarta_venue['id']}", headers=bandung)
    assert theirs.status_code == 403
    assert theirs.json()["type"].endswith("outside-jurisdiction")
    assert "Blok M" not in theirs.text
    codes = await client.get(f"/v1/venues/{jakarta_venue['id']}/qr-codes", headers=bandung)
    assert codes.status_code == 403

    listed = (
        await client.get(
            "/v1/venues", params={"manager_id": bandung_venue["manager_id"]}, headers=bandung
        )
    ).json()
    assert [v["id"] for v in listed["items"]] == [bandung_venue["id"]]
    # asking for the other regency by name gives nothing either
    other = (
        await client.get("/v1/venues", params={"regency_code": "3174"}, headers=bandung)
    ).json()
    assert other["total"] == 0

    before = (await client.get("/v1/zones/3174", headers=bandung)).json()
    refused = await client.put(
        "/v1/zones/3174", json={"level": 4, "reason": "not mine to set"}, headers=bandung
    )
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("outside-jurisdiction")
    assert (await client.get("/v1/zones/3174", headers=bandung)).json() == before

    rule = {"level_1": 100, "level_2": 75, "level_3": 50, "level_4": 25, "reason": "x" * 5}
    assert (
        await client.put("/v1/capacity-rules/mall", json=rule, headers=bandung)
    ).status_code == 403  # a category's rule holds nationwide

    # a province's officer reaches every regency of the province (32: Jawa Barat), no other
    west_java = officer_of(settings, "provinces:32")
    assert (
        await client.get(f"/v1/venues/{bandung_venue['id']}", headers=west_java)
    ).status_code == 200
    assert (
        await client.get(f"/v1/venues/{jakarta_venue['id']}", headers=west_java)
    ).status_code == 403


async def test_an_officer_token_without_a_jurisdiction_reaches_nowhere(
    client, settings, manager, create_venue
):
    from lindung_shared.auth import TokenIssuer

    venue = await create_venue(manager, **BANDUNG)
    token = TokenIssuer.development(settings).issue(subject="officer-x", roles=["health_officer"])
    headers = {"Authorization": f"Bearer {token}"}
    assert (await client.get(f"/v1/venues/{venue['id']}", headers=headers)).status_code == 403
    assert (await client.get("/v1/venues", headers=headers)).json()["total"] == 0
    refused = await client.put(
        "/v1/zones/3273", json={"level": 2, "reason": "testing"}, headers=headers
    )
    assert refused.status_code == 403


async def test_a_malformed_jurisdiction_claim_is_401(client, settings):
    import jwt
    from lindung_shared.auth import ensure_dev_keys

    key, kid = ensure_dev_keys(settings.keys_dir)
    for claim in ({"regencies": "3273"}, {"regencies": ["32"]}, {"national": 1}, [], {}):
        token = jwt.encode(
            {
                "iss": settings.auth_issuer,
                "aud": settings.auth_audience,
                "sub": "officer-bad",
                "roles": ["health_officer"],
                "iat": 1_700_000_000,
                "exp": 4_000_000_000,
                "jurisdiction": claim,
            },
            key,
            algorithm="EdDSA",
            headers={"kid": kid},
        )
        answer = await client.get("/v1/venues", headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 401, claim


async def test_zone_and_rule_changes_need_a_reason_and_are_audited(client, settings, admin):
    bandung = officer_of(settings, "regencies:3273")
    national = officer_of(settings, "national")
    no_reason = await client.put("/v1/zones/3273", json={"level": 2}, headers=bandung)
    assert no_reason.status_code == 422
    blank = await client.put("/v1/zones/3273", json={"level": 2, "reason": "   "}, headers=bandung)
    assert blank.status_code == 422
    reason = f"regent's instruction {uuid.uuid4().hex[:6]}"
    for level in (2, 1):
        answer = await client.put(
            "/v1/zones/3273", json={"level": level, "reason": reason}, headers=bandung
        )
        assert answer.status_code == 200, answer.text
    rule = {"level_1": 100, "level_2": 75, "level_3": 50, "level_4": 25, "reason": reason}
    assert (
        await client.put("/v1/capacity-rules/mall", json=rule, headers=national)
    ).status_code == 200

    log = (await client.get("/v1/audit-log", params={"limit": 50}, headers=admin)).json()
    ours = [e for e in log["entries"] if e["reason"] == reason]
    assert [(e["action"], e["target"], e["details"].get("level")) for e in ours] == [
        ("capacity_rule.set", "category:mall", None),
        ("zone.level.set", "regency:3273", 1),
        ("zone.level.set", "regency:3273", 2),
    ]
    assert all(e["roles"] == ["health_officer"] and e["at"] for e in ours)
