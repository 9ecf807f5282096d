"""The development external systems over real HTTP (ASGI transport into the real app)."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path

import httpx
import pytest
from lindung_devsystems.app import create_app
from lindung_devsystems.registry import load_residents
from lindung_devsystems.settings import DevSystemsSettings, shipped_residents

REGISTRY = {"Authorization": "Bearer dev-only-civil-registry-token"}
SMS = {"Authorization": "Bearer dev-only-sms-token"}
PUSH = {"Authorization": "Bearer dev-only-push-token"}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(DevSystemsSettings())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://devsystems") as c:
        yield c


def test_the_shipped_residents_have_structurally_valid_niks() -> None:
    from lindung_health.people.nik import RegionCodes, parse_nik

    residents = load_residents(shipped_residents())
    assert len(residents) >= 60
    regions = RegionCodes()
    for resident in residents.values():
        info = parse_nik(resident.nik, regions, today=date(2026, 1, 1))
        assert info.agrees_with(resident.birth_date), resident.full_name
        assert info.sex == resident.sex, resident.full_name
        assert info.regency_code == resident.regency_code, resident.full_name


def test_the_story_cast_is_in_the_registry() -> None:
    names = {r.full_name for r in load_residents(shipped_residents()).values()}
    for name in ("Ayu Lestari", "Budi Santoso", "Citra Anggraini", "Dewi Kusumawati"):
        assert name in names


async def test_verify_answers_match_mismatch_and_not_found(client: httpx.AsyncClient) -> None:
    body = {"nik": "3171015001850001", "full_name": "  ayu   LESTARI ", "birth_date": "1985-01-10"}
    answer = await client.post("/civil-registry/v1/verify", json=body, headers=REGISTRY)
    assert answer.status_code == 200
    assert answer.json()["result"] == "match"
    assert answer.json()["resident"]["full_name"] == "Ayu Lestari"
    wrong_name = await client.post(
        "/civil-registry/v1/verify", json=body | {"full_name": "Ayu Lestary"}, headers=REGISTRY
    )
    assert wrong_name.json() == {"result": "mismatch", "resident": None}
    wrong_date = await client.post(
        "/civil-registry/v1/verify", json=body | {"birth_date": "1985-01-11"}, headers=REGISTRY
    )
    assert wrong_date.json()["result"] == "mismatch"
    unknown = await client.post(
        "/civil-registry/v1/verify", json=body | {"nik": "3171015001859999"}, headers=REGISTRY
    )
    assert unknown.json()["result"] == "not-found"


async def test_the_registry_wants_its_credential(client: httpx.AsyncClient) -> None:
    body = {"nik": "3171015001850001", "full_name": "Ayu Lestari", "birth_date": "1985-01-10"}
    for headers in ({}, {"Authorization": "Bearer wrong"}, SMS):
        answer = await client.post("/civil-registry/v1/verify", json=body, headers=headers)
        assert answer.status_code == 401
        assert answer.headers["content-type"] == "application/problem+json"


async def test_bad_input_is_a_400_not_a_crash(client: httpx.AsyncClient) -> None:
    answer = await client.post(
        "/civil-registry/v1/verify", json={"nik": "12", "full_name": ""}, headers=REGISTRY
    )
    assert answer.status_code == 400
    assert "nik" in answer.json()["detail"]


async def test_enrolled_residents_verify_and_a_taken_nik_conflicts(
    client: httpx.AsyncClient,
) -> None:
    resident = {
        "nik": "3171015001851234",
        "full_name": "Ayu Test",
        "birth_date": "1985-01-10",
        "sex": "F",
        "birth_place": "Jakarta",
        "regency_code": "3171",
    }
    first = await client.post("/civil-registry/v1/dev/residents", json=resident, headers=REGISTRY)
    again = await client.post("/civil-registry/v1/dev/residents", json=resident, headers=REGISTRY)
    other = await client.post(
        "/civil-registry/v1/dev/residents",
        json=resident | {"full_name": "Someone Else"},
        headers=REGISTRY,
    )
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    check = await client.post(
        "/civil-registry/v1/verify",
        json={k: resident[k] for k in ("nik", "full_name", "birth_date")},
        headers=REGISTRY,
    )
    assert check.json()["result"] == "match"


async def test_sms_sink_records_once_per_reference_and_lists_newest_first(
    client: httpx.AsyncClient,
) -> None:
    for i, reference in enumerate(("r1", "r2", "r2")):
        answer = await client.post(
            "/v1/sms",
            json={"to": "+628120000001", "text": f"code {i}", "reference": reference},
            headers=SMS,
        )
        assert answer.status_code == 200
        assert answer.json()["message_id"]
    await client.post(
        "/v1/sms", json={"to": "+628120000002", "text": "other", "reference": "r3"}, headers=SMS
    )
    listed = await client.get("/v1/sms/messages", params={"to": "+628120000001"}, headers=SMS)
    assert [m["text"] for m in listed.json()["items"]] == ["code 1", "code 0"]
    everything = await client.get("/v1/sms/messages", headers=SMS)
    assert everything.json()["items"][0]["text"] == "other"
    assert (await client.get("/v1/sms/messages")).status_code == 401
    assert (await client.post("/v1/sms", json={"to": "x"}, headers=SMS)).status_code == 400


async def test_push_sink_records_and_refuses_unregistered_tokens(
    client: httpx.AsyncClient,
) -> None:
    message = {
        "message": {
            "token": "device-1",
            "notification": {"title": "t", "body": "b"},
            "data": {"delivery_id": "d1"},
        }
    }
    sent = await client.post("/v1/messages:send", json=message, headers=PUSH)
    assert sent.status_code == 200
    assert sent.json()["name"].startswith("projects/lindung-dev/messages/")
    dead = await client.post(
        "/v1/messages:send",
        json={"message": message["message"] | {"token": "unregistered-1"}},
        headers=PUSH,
    )
    assert dead.status_code == 404
    assert "UNREGISTERED" in str(dead.json())
    listed = await client.get("/v1/push/messages", params={"token": "device-1"}, headers=PUSH)
    assert [m["notification"]["body"] for m in listed.json()["items"]] == ["b"]


def test_a_csv_with_a_repeated_nik_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["nik", "full_name", "birth_date", "sex", "birth_place", "regency_code"])
        w.writerow(["3171015001850001", "A", "1985-01-10", "F", "J", "3171"])
        w.writerow(["3171015001850001", "B", "1985-01-10", "F", "J", "3171"])
    with pytest.raises(ValueError, match="twice"):
        load_residents(path)
