"""Rate limits hold across API processes: two health-records and two check-in APIs, real
processes on the same database, driven in parallel; exactly the limit passes, the rest get
429 problem+json with Retry-After."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import httpx
import pytest
from lindung_shared.settings import ServiceSettings
from lindung_shared.testing import bearer

from .conftest import NO_ADDRESS_LIMITS, Api, start_api, stop_apis, wait_ready

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, list[Api]]]:
    logs = tmp_path_factory.mktemp("ratelimit-logs")
    started = {
        service: [start_api(service, logs, NO_ADDRESS_LIMITS) for _ in range(2)]
        for service in ("health-records", "checkin")
    }
    everyone = [api for apis in started.values() for api in apis]
    try:
        wait_ready(everyone)
        yield started
    finally:
        stop_apis(everyone)


async def _fire(requests: list[tuple[str, dict[str, object]]]) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=60) as client:
        return await asyncio.gather(*(client.post(url, **kwargs) for url, kwargs in requests))  # type: ignore[arg-type]


def _check_refusals(answers: list[httpx.Response], allowed: int, passed: set[int]) -> None:
    ok = [a for a in answers if a.status_code in passed]
    refused = [a for a in answers if a.status_code == 429]
    assert len(ok) == allowed, [a.status_code for a in answers]
    assert len(refused) == len(answers) - allowed, [a.status_code for a in answers]
    for answer in refused:
        assert answer.headers["content-type"] == "application/problem+json"
        assert 1 <= int(answer.headers["retry-after"]) <= 900
        assert answer.json()["type"].endswith("/rate-limited")


def _phone() -> str:
    return f"+62813{uuid.uuid4().int % 10**8:08d}"  # registered or not: the same answer


def _nik() -> str:
    return f"{uuid.uuid4().int % 10**16:016d}"


def test_sign_in_codes_per_person_across_two_processes(pairs: dict[str, list[Api]]) -> None:
    first, second = pairs["health-records"]
    phone, nik = _phone(), _nik()
    requests = [
        (f"{(first, second)[i % 2].url}/v1/auth/otp", {"json": {"phone": phone, "nik": nik}})
        for i in range(24)
    ]
    answers = asyncio.run(_fire(requests))
    _check_refusals(answers, 3, {202})
    # The same number written nationally counts against the same limit.
    national = "0" + phone.removeprefix("+62")
    again = httpx.post(
        f"{second.url}/v1/auth/otp", json={"phone": national, "nik": nik}, timeout=30
    )
    assert again.status_code == 429
    # Another person on the same phone still gets a code.
    other = httpx.post(f"{first.url}/v1/auth/otp", json={"phone": phone, "nik": _nik()}, timeout=30)
    assert other.status_code == 202


def test_a_family_of_five_signs_in_at_once(pairs: dict[str, list[Api]]) -> None:
    """HEALTH_MAX_PEOPLE_PER_PHONE (5) people on one phone each ask for a code at the same time
    (and each asks once more): all pass."""
    first, second = pairs["health-records"]
    phone = _phone()
    family = [_nik() for _ in range(5)]
    requests = [
        (f"{(first, second)[i % 2].url}/v1/auth/otp", {"json": {"phone": phone, "nik": nik}})
        for i, nik in enumerate(family * 2)
    ]
    answers = asyncio.run(_fire(requests))
    assert [a.status_code for a in answers] == [202] * 10


def test_sign_in_codes_per_phone_across_two_processes(pairs: dict[str, list[Api]]) -> None:
    """Made-up NIKs do not get past the phone's limit (10 texts per 15 minutes)."""
    first, second = pairs["health-records"]
    phone = _phone()
    requests = [
        (f"{(first, second)[i % 2].url}/v1/auth/otp", {"json": {"phone": phone, "nik": _nik()}})
        for i in range(30)
    ]
    answers = asyncio.run(_fire(requests))
    _check_refusals(answers, 10, {202})


def test_check_ins_per_person_across_two_processes(pairs: dict[str, list[Api]]) -> None:
    first, second = pairs["checkin"]
    settings = ServiceSettings()  # type: ignore[call-arg]
    headers = bearer(settings, "citizen", str(uuid.uuid4()))
    # Codes that fail verification still count: the limit comes before the door.
    requests = [
        (
            f"{(first, second)[i % 2].url}/v1/checkins",
            {"json": {"qr": "not-a-lindung-code"}, "headers": headers},
        )
        for i in range(40)
    ]
    answers = asyncio.run(_fire(requests))
    _check_refusals(answers, 30, {422})
    other = bearer(settings, "citizen", str(uuid.uuid4()))  # another person is not limited
    answer = httpx.post(
        f"{first.url}/v1/checkins", json={"qr": "not-a-lindung-code"}, headers=other, timeout=30
    )
    assert answer.status_code == 422
